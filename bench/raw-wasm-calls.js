// The baseline for runners.bench.js: plain onnxruntime-web (its WASM backend in Node, one
// thread, the model passed as bytes, as provider 'wasm' runs it) making exactly the session.run
// calls a `batchproof check --provider wasm` report lists, with random inputs, and nothing else.
const fs = require('fs');
const ort = require('onnxruntime-web');

(async () => {
  const [model, runsJson, seq] = process.argv.slice(2);
  ort.env.wasm.numThreads = 1;
  const session = await ort.InferenceSession.create(new Uint8Array(fs.readFileSync(model)), { executionProviders: ['wasm'] });
  for (const { batchSize, calls } of JSON.parse(runsJson)) {
    for (let c = 0; c < calls; c++) {
      const data = new Float32Array(batchSize * Number(seq) * 64).map(() => Math.random() * 2 - 1);
      await session.run({ input: new ort.Tensor('float32', data, [batchSize, Number(seq), 64]) });
    }
  }
})();
