#!/usr/bin/env node
// The examples' report page with every kind of chart, from real runs of the bundled models
// (check, locate, compare, stats, an embedding diff): what the browser test opens and the
// screenshots in examples/ show. Reads the built package (dist/: `npm run build` first).
//
//   node scripts/example-pages.js [out.html]     writes the page (default examples/report-gallery.html)
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const models = path.join(root, 'examples', 'models');
// As a user in the repository would name them (the page shows the path).
const model = (name) => path.relative(process.cwd(), path.join(models, name)) || path.join(models, name);

/** Deterministic pseudo-random floats (a page that changes on every run makes noisy screenshots). */
function floats(n, seed) {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

/** One entry per chart kind, each from a real run; `source` names what made it. */
async function exampleEntries() {
  const bp = require(path.join(root, 'dist', 'src'));
  const ort = require('onnxruntime-node');
  const entries = [];
  for (const name of ['embedding_cnn_train_bn.onnx', 'transformer_encoder.onnx', 'text_embedder_quantized.onnx', 'embedding_cnn.onnx']) {
    entries.push({ report: await bp.checkBatchInvariance(model(name)), source: `check ${name}` });
  }
  const leaky = model('embedding_cnn_train_bn.onnx');
  entries.push({ report: await bp.locateDivergence(leaky, { batchSizes: [1, 4] }), source: 'locate embedding_cnn_train_bn.onnx' });
  entries.push({
    report: await bp.compareProviders(model('transformer_encoder.onnx'), ['cpu', { provider: 'cpu', batchSize: 1 }]),
    source: 'compare transformer_encoder.onnx: a batch of 8 against each sample alone',
  });
  const dims = [32, 3, 32, 32];
  const calibration = { dtype: 'float32', dims, data: floats(dims.reduce((a, b) => a * b), 7) };
  entries.push({ report: await bp.checkRunningStats(model('embedding_cnn.onnx'), calibration), source: 'stats embedding_cnn.onnx' });
  // The leaky CNN's embeddings of the same 16 images, in one batch of 16 and in batches of 4.
  const session = await ort.InferenceSession.create(leaky);
  const images = floats(16 * 3 * 32 * 32, 11);
  const run = async (from, count) => (await session.run({ input: new ort.Tensor('float32', images.slice(from * 3072, (from + count) * 3072), [count, 3, 32, 32]) })).embedding.data;
  const whole = await run(0, 16);
  const parts = new Float32Array(whole.length);
  for (let b = 0; b < 4; b++) parts.set(await run(b * 4, 4), b * 4 * 64);
  await session.release();
  const baseline = bp.embeddingsFrom({ data: new Float32Array(whole), dims: [16, 64] });
  const current = bp.embeddingsFrom({ data: parts, dims: [16, 64] });
  const { memorySource } = require(path.join(root, 'dist', 'src', 'snapshot', 'compare'));
  entries.push({ report: bp.compareEmbeddings(memorySource(baseline), memorySource(current), { neighbors: { k: 3 } }), source: 'diff: batch of 16 vs batches of 4' });
  return entries;
}

/** The whole page, from src/html's renderPage (a fixed time, so reruns differ only where the numbers do). */
async function examplePage() {
  const { renderPage } = require(path.join(root, 'dist', 'src', 'html'));
  return renderPage(await exampleEntries(), { title: 'batchproof: the bundled examples', generated: '2026-01-01T00:00:00.000Z' });
}

/**
 * A page as batchproof/reporter writes it at the end of a Jest run: the reporter set up as Jest
 * does (its constructor names the run directory in the environment), real matchers recording
 * their reports under their tests' names, then Jest's results for those tests.
 */
async function writeReporterPage(out) {
  const Reporter = require(path.join(root, 'dist', 'matchers', 'reporter.js')).default;
  const { toBeBatchInvariant, toBeDeterministic } = require(path.join(root, 'dist', 'matchers'));
  const reporter = new Reporter({ rootDir: path.dirname(out) }, { outputFile: path.basename(out), title: 'batchproof: a Jest run' });
  reporter.onRunStart();
  const testPath = path.join(path.dirname(out), 'test', 'models.test.ts');
  const failing = 'the training-mode CNN leaks between samples';
  const passing = 'the eval-mode CNN is deterministic';
  await toBeBatchInvariant.call({ testPath, currentTestName: failing }, model('embedding_cnn_train_bn.onnx'), { batchSizes: [1, 4] });
  await toBeDeterministic.call({ testPath, currentTestName: passing }, model('embedding_cnn.onnx'), { repeats: 2, batchSize: 2 });
  const result = (title, status) => ({ ancestorTitles: [], title, fullName: title, status, duration: 10 });
  await reporter.onRunComplete(undefined, { testResults: [{ testFilePath: testPath, testResults: [result(failing, 'failed'), result(passing, 'passed')] }] });
  if (!fs.existsSync(out)) throw new Error('the reporter wrote no page');
}

module.exports = { exampleEntries, examplePage, writeReporterPage };

// Pages are made in a process of their own: the charting library is ES modules, which a Jest
// test's sandbox cannot import.
if (require.main === module) {
  (async () => {
    const reporter = process.argv[2] === '--reporter';
    const out = path.resolve(process.argv[reporter ? 3 : 2] ?? path.join(root, 'examples', reporter ? 'report-jest.html' : 'report-gallery.html'));
    if (reporter) await writeReporterPage(out);
    else require(path.join(root, 'dist', 'src', 'io', 'atomic')).writeFileAtomic(out, await examplePage());
    console.log(`wrote ${path.relative(process.cwd(), out)}`);
  })().catch((e) => {
    console.error(`example-pages: ${e && e.message ? e.message.split('\n')[0] : e}`);
    process.exitCode = 1;
  });
}
