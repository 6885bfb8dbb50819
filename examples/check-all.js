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

// What each model is built to show: the verdicts it may get (drift is machine-dependent), a cause
// it must show when it fails, and why, in words.
const expected = {
  'embedding_cnn.onnx': { verdicts: ['invariant'], why: 'invariant: eval-mode BatchNorm, bitwise equal at every batch size' },
  'transformer_encoder.onnx': { verdicts: ['within-tolerance', 'invariant'], why: 'within-tolerance or invariant: float drift at some batch sizes, machine-dependent' },
  'embedding_cnn_train_bn.onnx': { verdicts: ['violated'], cause: 'leakage', why: 'violated (leakage): BatchNorm exported in training mode' },
  'text_embedder.onnx': { verdicts: ['within-tolerance', 'invariant'], why: 'within-tolerance or invariant: honours the attention mask, padding tested' },
  'text_embedder_quantized.onnx': { verdicts: ['violated'], cause: 'leakage', why: 'violated (leakage, padding): dynamic quantization, one scale over the batch, pads included' },
};

/** Whether a report is what its model is built to show. */
function asExpected(file, report) {
  const want = expected[file];
  if (!want || !report) return false;
  return want.verdicts.includes(report.verdict) && (want.cause === undefined || report.causes.includes(want.cause));
}

(async () => {
  const dir = path.join(__dirname, 'models');
  const summary = [];
  const entries = [];
  let failed = false;
  let unexpected = 0;
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.onnx')).sort()) {
    const json = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'batchproof-')), 'report.json');
    const code = await main(['check', path.join('examples', 'models', file), '--json', json]);
    const report = fs.existsSync(json) ? JSON.parse(fs.readFileSync(json, 'utf8')) : null;
    fs.rmSync(path.dirname(json), { recursive: true, force: true });
    if (code > 1) failed = true;
    if (report) entries.push({ report, source: path.join('examples', 'models', file) });
    console.log('');
    const verdict = report ? `${report.verdict}${report.causes.length ? ` (${report.causes.join(', ')})` : ''}` : 'error';
    const ok = asExpected(file, report);
    if (!ok) unexpected++;
    summary.push(`  ${file.padEnd(30)} exit ${code}  ${verdict.padEnd(30)} ${ok ? 'as expected' : 'NOT AS EXPECTED'}: ${expected[file]?.why ?? 'a model this script does not know'}`);
  }
  console.log('Summary (exit 1 is the verdict violated, which two of the models are built to get):');
  console.log(summary.join('\n'));
  console.log(unexpected === 0 ? `\nAll ${summary.length} verdicts are the ones the models are built to show.` : `\n${unexpected} of ${summary.length} verdicts are not the ones the models are built to show: see their reports above.`);
  if (entries.length > 0) {
    const { renderPage } = require('../dist/src/html');
    const { writeFileAtomic } = require('../dist/src/io/atomic');
    const page = process.env.BATCHPROOF_PAGE || path.join(__dirname, 'report.html');
    writeFileAtomic(page, await renderPage(entries, { title: 'batchproof: the bundled examples' }));
    console.log(`\nThe examples' page (charts and tables): ${path.relative(process.cwd(), page) || page}; open it in a browser.`);
  }
  process.exitCode = failed ? 2 : 0;
})();
