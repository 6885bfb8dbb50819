// batchproof check on the text embedder against plain onnxruntime-node making the same
// session.run calls (batch and token counts), whole processes, alternating, in one run; and the
// share of rows the sequence-padding runs add to the sweep.
const path = require('path');

const root = path.join(__dirname, '..');
const model = path.join(root, 'examples', 'models', 'text_embedder.onnx');
const bin = path.join(root, 'dist', 'src', 'cli', 'bin.js');
const ROUNDS = 15;
const PADDING = ['unpadded', 'pad-ids', 'other-side', 'served-padded', 'padded'];

const { time, median } = require('./timing');

const report = JSON.parse(time([bin, 'check', model, '--json']).stdout);
const p = report.padding;
const limit = p.limit;
// The padding runs, from the padding facts: per probe alone unpadded, with other pad ids and on
// the other side; then the probes together, padded to the longest of them.
const paddingCalls = [...p.lengths.flatMap((len) => [[1, len], [1, limit], [1, limit]]), [p.lengths.length, Math.max(...p.lengths)]];
const ordinary = report.runs.flatMap(({ batchSize, calls, purposes }) => {
  const own = PADDING.some((x) => purposes.includes(x)) ? calls - paddingCalls.filter(([b]) => b === batchSize).length : calls;
  return Array.from({ length: own }, () => [batchSize, limit]);
});
const calls = [...ordinary, ...paddingCalls];
const rows = (list) => list.reduce((n, [b]) => n + b, 0);
const vocab = report.model.inputs.find((i) => i.name === 'input_ids').synthesis.high;

const t = { check: [], raw: [] };
for (let i = 0; i < ROUNDS; i++) {
  t.check.push(time([bin, 'check', model, '--json']).ms);
  t.raw.push(time([path.join(__dirname, 'raw-text-calls.js'), model, JSON.stringify(calls), String(vocab)]).ms);
}
const m = { check: median(t.check), raw: median(t.raw) };
const b = { check: Math.min(...t.check), raw: Math.min(...t.raw) };
const f = (x) => x.toFixed(0);
console.log(`## batchproof check on a text embedder vs raw onnxruntime

Model: \`examples/models/text_embedder.onnx\` (BERT-like, ${report.model.inputs.map((i) => i.name).join(', ')}), no flags: default sweep, sequence padding tested on '${p.axis}' (limit ${limit} tokens, probes of ${p.lengths.join(', ')} tokens).
Whole-process wall time in ms, median of ${ROUNDS} alternating rounds, best in brackets. **raw**: the same ${calls.length} session.run calls (batch and token counts) with random ids, nothing else.

| check calls / rows | check | raw | check / raw (goal <= 1.10x) | padding runs: calls / rows | padding rows / sweep rows (goal <= 30%) |
|---:|---:|---:|---:|---:|---:|
| ${calls.length} / ${rows(calls)} | ${f(m.check)} (${f(b.check)}) | ${f(m.raw)} (${f(b.raw)}) | **${(m.check / m.raw).toFixed(2)}x** (${(b.check / b.raw).toFixed(2)}x) | ${paddingCalls.length} / ${rows(paddingCalls)} | **${((100 * rows(paddingCalls)) / rows(ordinary)).toFixed(1)}%** |

Verdict on this machine: ${report.verdict}${report.causes.length ? ` (${report.causes.join(', ')})` : ''}; ${report.summary}.`);
