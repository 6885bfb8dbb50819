// The baseline for text.bench.js: plain onnxruntime-node making the session.run calls a text
// `batchproof check` makes ([batch, tokens] pairs from its report), with random ids, and nothing else.
const ort = require('onnxruntime-node');

(async () => {
  const [model, callsJson, vocab] = process.argv.slice(2);
  const calls = JSON.parse(callsJson);
  const session = await ort.InferenceSession.create(model);
  for (const [batch, tokens] of calls) {
    const n = batch * tokens;
    const ids = BigInt64Array.from({ length: n }, () => BigInt(Math.floor(Math.random() * Number(vocab))));
    const mask = new BigInt64Array(n).fill(1n);
    const types = new BigInt64Array(n);
    const dims = [batch, tokens];
    await session.run({ input_ids: new ort.Tensor('int64', ids, dims), attention_mask: new ort.Tensor('int64', mask, dims), token_type_ids: new ort.Tensor('int64', types, dims) });
  }
})();
