// A batch function for runners.bench.js, as a service would write one: a toy tokenizer (one id
// per character) padding each batch to its longest text, the bundled text embedder on
// onnxruntime-node, its sentence embedding returned. `batchproof check bench/embed-fn.js
// --samples FILE` checks it; bench/raw-fn-calls.js calls it directly, the same calls.
const path = require('path');
const ort = require('onnxruntime-node');

const MODEL = path.join(__dirname, '..', 'examples', 'models', 'text_embedder.onnx');
const VOCAB = 256;
const LIMIT = 16;
let session = null;

module.exports = async function embed(texts) {
  session ??= await ort.InferenceSession.create(MODEL);
  const ids = texts.map((t) => Array.from(String(t).slice(0, LIMIT), (c) => 1 + (c.charCodeAt(0) % (VOCAB - 1))));
  const len = Math.max(1, ...ids.map((r) => r.length));
  const n = texts.length * len;
  const inputIds = new BigInt64Array(n);
  const mask = new BigInt64Array(n);
  ids.forEach((row, b) => row.forEach((id, t) => {
    inputIds[b * len + t] = BigInt(id);
    mask[b * len + t] = 1n;
  }));
  const dims = [texts.length, len];
  const out = await session.run({
    input_ids: new ort.Tensor('int64', inputIds, dims),
    attention_mask: new ort.Tensor('int64', mask, dims),
    token_type_ids: new ort.Tensor('int64', new BigInt64Array(n), dims),
  });
  return { dims: out.sentence_embedding.dims, data: out.sentence_embedding.data };
};
