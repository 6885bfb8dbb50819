// The protocol people hand-write today (the forum thread's): embed the same 64 samples at every
// batch size of the sweep, in chunks of that size, and compare each embedding with batch 1's.
const ort = require('onnxruntime-node');

(async () => {
  const [model, sizesJson, seq] = process.argv.slice(2);
  const sizes = JSON.parse(sizesJson);
  const per = Number(seq) * 64;
  const samples = new Float32Array(64 * per).map(() => Math.random() * 2 - 1);
  const session = await ort.InferenceSession.create(model);
  const embed = async (b) => {
    const out = [];
    for (let start = 0; start < 64; start += b) {
      const n = Math.min(b, 64 - start);
      const r = await session.run({ input: new ort.Tensor('float32', samples.slice(start * per, (start + n) * per), [n, Number(seq), 64]) });
      out.push(r.output.data);
    }
    const all = new Float32Array(64 * 64);
    let o = 0;
    for (const part of out) (all.set(part, o), (o += part.length));
    return all;
  };
  const reference = await embed(1);
  const table = [];
  for (const b of sizes) {
    const e = await embed(b);
    let maxAbs = 0;
    for (let i = 0; i < e.length; i++) maxAbs = Math.max(maxAbs, Math.abs(e[i] - reference[i]));
    table.push([b, maxAbs]);
  }
  if (process.env.PRINT) console.log(table);
})();
