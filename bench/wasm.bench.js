// Provider 'wasm' (onnxruntime-web's WebAssembly backend, in Node) against onnxruntime-node's
// CPU on the bundled examples: how far apart the two runtimes' outputs are (compareProviders on
// the same samples, one batch each; then the server's batch against each sample alone on wasm),
// and the time per row of plain session.run calls on each, at batch 1 and at batch 32.
const path = require('path');
const { compareProviders, openModel } = require('../dist/src');
const { prepareInputs } = require('../dist/src/inputs/prepare');
const { feedsFor } = require('../dist/src/invariance/run');

const root = path.join(__dirname, '..');
const MODELS = ['embedding_cnn', 'transformer_encoder', 'text_embedder'];
const BATCH = 32;
const ROUNDS = 15;
const { median } = require('./timing');

/** Median ms per row of session.run at this batch size, after warm-up runs. */
async function msPerRow(handle, prepared, size) {
  const ids = Array.from({ length: size }, (_, i) => i);
  const feeds = feedsFor(prepared.specs, prepared.shared, prepared.pool, ids);
  const names = handle.outputs.map((o) => o.name);
  for (let i = 0; i < 3; i++) await handle.session.run(feeds, names);
  const times = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = performance.now();
    await handle.session.run(feeds, names);
    times.push(performance.now() - t0);
  }
  return median(times) / size;
}

function worst(report) {
  const outputs = report.comparisons[0].outputs;
  return {
    maxAbs: Math.max(...outputs.map((o) => o.maxAbs)),
    maxUlp: Math.max(...outputs.map((o) => o.maxUlp)),
    minCosine: Math.min(...outputs.map((o) => o.minCosine)),
  };
}

const num = (x) => (x === 0 ? '0' : x.toExponential(2));
const ulp = (x) => (x < 1e6 ? String(Math.round(x)) : x.toExponential(2));
const ms = (x) => (x < 0.1 ? x.toFixed(3) : x.toFixed(2));

(async () => {
  const rows = [];
  let web = null;
  for (const name of MODELS) {
    const model = path.join(root, 'examples', 'models', `${name}.onnx`);
    const same = await compareProviders(model, ['cpu', 'wasm'], { batchSize: BATCH });
    const served = await compareProviders(model, [{ provider: 'cpu', batchSize: BATCH }, { provider: 'wasm', batchSize: 1 }]);
    web ??= same.sides[1].fingerprint.wasm;
    const timing = {};
    for (const provider of ['cpu', 'wasm']) {
      const handle = await openModel(model, { provider, ...(provider === 'cpu' && { threads: 1 }) });
      const prepared = await prepareInputs(handle, { seed: 0 });
      timing[provider] = { one: await msPerRow(handle, prepared, 1), batch: await msPerRow(handle, prepared, BATCH) };
      await handle.close();
    }
    rows.push({ name, same: worst(same), verdict: same.verdict, served: worst(served), servedVerdict: served.verdict, timing });
  }
  const lines = rows.map((r) =>
    `| ${r.name} | ${num(r.same.maxAbs)} | ${ulp(r.same.maxUlp)} | 1-${num(1 - r.same.minCosine)} | ${r.verdict} | ${num(r.served.maxAbs)} (${r.servedVerdict}) | ` +
      `${ms(r.timing.cpu.one)} / ${ms(r.timing.wasm.one)} | ${ms(r.timing.cpu.batch)} / ${ms(r.timing.wasm.batch)} | ${(r.timing.wasm.batch / r.timing.cpu.batch).toFixed(1)}x |`,
  );
  console.log(`## wasm (onnxruntime-web) against cpu (onnxruntime-node)

onnxruntime-web ${web.version} in Node, env.wasm.numThreads ${web.threads}, SIMD ${web.simd}; onnxruntime-node's CPU pinned to 1 thread for the times (the same work on one core).
**cpu vs wasm**: \`compareProviders(model, ['cpu', 'wasm'], { batchSize: ${BATCH} })\`, the same ${BATCH} synthesized samples (seed 0) in one batch on each side, worst output.
**served**: the batch of ${BATCH} on cpu against each sample alone on wasm (\`--batch-size ${BATCH} --against wasm --against-batch-size 1\`).
Times: plain session.run, median of ${ROUNDS} after 3 warm-up runs, in ms per row (cpu / wasm).

| model | max abs | max ULP | min cosine | verdict | served: max abs | ms/row at batch 1 | ms/row at batch ${BATCH} | wasm / cpu at ${BATCH} |
|---|---:|---:|---:|---|---:|---:|---:|---:|
${lines.join('\n')}

ULP counts are large where an output is near zero (a few units in the last place of 1e-3 is many ULP of 1e-9); max abs and cosine are the measures to read.`);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
