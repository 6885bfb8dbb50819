// Embedding baselines through Jest's snapshot lifecycle. The tests come from ../scenario.json
// (the repository's consumer-lifecycle test rewrites it between Jest runs: which tests exist,
// which rows drift and by how much); without it, two tests that always match.
const fs = require('fs');
const path = require('path');
const { Tensor } = require('onnxruntime-node');

const scenarioFile = path.join(__dirname, '..', 'scenario.json');
const scenario = fs.existsSync(scenarioFile)
  ? JSON.parse(fs.readFileSync(scenarioFile, 'utf8'))
  : { tests: [{ name: 'embeds the catalogue', seed: 1 }, { name: 'embeds the queries', seed: 2, tensor: true }] };

const ROWS = 64;
const DIM = 32;

/** A stand-in for a model's output: deterministic values in [-1, 1). */
function embed(seed) {
  const data = new Float32Array(ROWS * DIM);
  let x = seed >>> 0;
  for (let i = 0; i < data.length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    data[i] = x / 2147483648 - 1;
  }
  return data;
}

for (const t of scenario.tests) {
  test(t.name, () => {
    const data = embed(t.seed);
    for (const [row, relative] of t.drift ?? []) data[row * DIM] *= 1 + relative;
    // An onnxruntime Tensor, as a session returns it, or a plain { data, dims }.
    const embeddings = t.tensor ? new Tensor('float32', data, [ROWS, DIM]) : { data, dims: [ROWS, DIM] };
    expect(embeddings).toMatchEmbeddingSnapshot(t.options);
  });
}
