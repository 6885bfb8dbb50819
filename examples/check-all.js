#!/usr/bin/env node
// `npm start`: runs `batchproof check` on every bundled example model and prints each report,
// then one line per model. The examples show the three verdicts, so `violated` models are
// expected here; only bad input (exit 2) or an internal error makes `npm start` fail.
// It ends by writing the examples' HTML page (charts and tables of the five reports) to
// examples/report.html (git-ignored), or to BATCHPROOF_PAGE when set.
const fs = require('fs');
const os = require('os');
const path = require('path');
const { main } = require('../dist/src/cli/main');

const expected = {
  'embedding_cnn.onnx': 'invariant: eval-mode BatchNorm, bitwise equal at every batch size',
  'transformer_encoder.onnx': 'within-tolerance or invariant: float drift at some batch sizes, machine-dependent',
  'embedding_cnn_train_bn.onnx': 'violated (leakage): BatchNorm exported in training mode',
  'text_embedder.onnx': 'within-tolerance or invariant: honours the attention mask, padding tested',
  'text_embedder_quantized.onnx': 'violated (leakage): dynamic quantization, one scale per batch',
};

(async () => {
  const dir = path.join(__dirname, 'models');
  const summary = [];
  const entries = [];
  let failed = false;
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.onnx')).sort()) {
    const json = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'batchproof-')), 'report.json');
    const code = await main(['check', path.join('examples', 'models', file), '--json', json]);
    const report = fs.existsSync(json) ? JSON.parse(fs.readFileSync(json, 'utf8')) : null;
    fs.rmSync(path.dirname(json), { recursive: true, force: true });
    if (code > 1) failed = true;
    if (report) entries.push({ report, source: path.join('examples', 'models', file) });
    console.log('');
    const verdict = report ? `${report.verdict}${report.causes.length ? ` (${report.causes.join(', ')})` : ''}` : 'error';
    summary.push(`  ${file.padEnd(30)} exit ${code}  ${verdict.padEnd(36)} expected: ${expected[file] ?? '-'}`);
  }
  console.log('Summary:');
  console.log(summary.join('\n'));
  if (entries.length > 0) {
    const { renderPage } = require('../dist/src/html');
    const { writeFileAtomic } = require('../dist/src/io/atomic');
    const page = process.env.BATCHPROOF_PAGE || path.join(__dirname, 'report.html');
    writeFileAtomic(page, await renderPage(entries, { title: 'batchproof: the bundled examples' }));
    console.log(`\nThe examples' page (charts and tables): ${path.relative(process.cwd(), page) || page}; open it in a browser.`);
  }
  process.exitCode = failed ? 2 : 0;
})();
