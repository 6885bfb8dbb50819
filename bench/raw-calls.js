// The baseline for check.bench.js: plain onnxruntime-node making exactly the session.run calls a
// `batchproof check` report lists (batch size and count), with random inputs, and nothing else.
const ort = require('onnxruntime-node');

(async () => {
  const [model, runsJson, seq] = process.argv.slice(2);
  const runs = JSON.parse(runsJson);
  const session = await ort.InferenceSession.create(model);
  for (const { batchSize, calls } of runs) {
    for (let c = 0; c < calls; c++) {
      const data = new Float32Array(batchSize * Number(seq) * 64).map(() => Math.random() * 2 - 1);
      await session.run({ input: new ort.Tensor('float32', data, [batchSize, Number(seq), 64]) });
    }
  }
})();
