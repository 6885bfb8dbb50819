#!/usr/bin/env node
// `npm start`: runs `batchproof check` on every bundled example model and prints each report,
// then one line per model. The three examples show the three verdicts.
const fs = require('fs');
const path = require('path');
const { main } = require('../dist/src/cli/main');

const expected = {
  'embedding_cnn.onnx': 'invariant: eval-mode BatchNorm, bitwise equal at every batch size',
  'transformer_encoder.onnx': 'within-tolerance or invariant: float drift at some batch sizes, machine-dependent',
  'embedding_cnn_train_bn.onnx': 'violated (leakage): BatchNorm exported in training mode',
};

(async () => {
  const dir = path.join(__dirname, 'models');
  const summary = [];
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.onnx')).sort()) {
    let report;
    const code = await main(['check', path.join('examples', 'models', file), '--json', path.join(require('os').tmpdir(), `batchproof-${file}.json`)]);
    try {
      report = JSON.parse(fs.readFileSync(path.join(require('os').tmpdir(), `batchproof-${file}.json`), 'utf8'));
    } catch {
      report = null;
    }
    console.log('');
    summary.push(`  ${file.padEnd(30)} exit ${code}  ${report ? report.verdict : 'error'}${report && report.causes.length ? ` (${report.causes.join(', ')})` : ''}   expected: ${expected[file] ?? '-'}`);
  }
  console.log('Summary:');
  console.log(summary.join('\n'));
})();
