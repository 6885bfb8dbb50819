// batchproof check on the text embedder against plain onnxruntime-node making the same
// session.run calls (batch and token counts), whole processes, alternating, in one run; and the
// share of rows the sequence-padding runs add to the sweep.
const path = require('path');

const root = path.join(__dirname, '..');
const model = path.join(root, 'examples', 'models', 'text_embedder.onnx');
const bin = path.join(root, 'dist', 'src', 'cli', 'bin.js');
// 41: the medians of 15 of these 0.1 s runs moved by 5% from one bench run to the next.
const ROUNDS = 41;
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
// Adjacent runs share the machine's state of the moment: their differences move less than either side.
const paired = median(t.check.map((c, i) => c - t.raw[i]));
console.log(`## batchproof check on a text embedder vs raw onnxruntime

Model: \`examples/models/text_embedder.onnx\` (BERT-like, ${report.model.inputs.map((i) => i.name).join(', ')}), no flags: default sweep, sequence padding tested on '${p.axis}' (limit ${limit} tokens, probes of ${p.lengths.join(', ')} tokens).
Whole-process wall time in ms, median of ${ROUNDS} alternating rounds, best in brackets. **raw**: the same ${calls.length} session.run calls (batch and token counts) with random ids, nothing else.

| check calls / rows | check | raw | check / raw (goal <= 1.10x) | padding runs: calls / rows | padding rows / sweep rows (goal <= 30%) |
|---:|---:|---:|---:|---:|---:|
| ${calls.length} / ${rows(calls)} | ${f(m.check)} (${f(b.check)}) | ${f(m.raw)} (${f(b.raw)}) | **${(m.check / m.raw).toFixed(2)}x** (${(b.check / b.raw).toFixed(2)}x) | ${paddingCalls.length} / ${rows(paddingCalls)} | **${((100 * rows(paddingCalls)) / rows(ordinary)).toFixed(1)}%** |

The check took ${paired.toFixed(1)} ms more than the raw replay (the median of the ${ROUNDS} paired differences). Where it goes, by phase marks (performance.now() at each step, medians of 25 runs on a 2-core AMD EPYC Zen 5 VM, 2026-12-03; check / raw): the bundle from its code cache 10.0 / onnxruntime's requires 9.5 ms; options and the command 1.4 / 0; the session 24 / 27; preparing 5.5 / 0 (graph facts from their cache 2.1, the plan 1.4, synthesizing and vetting the samples 1.7); the runs 17.7 / 18.2 (raw's take all ${calls.length} calls and their random ids); analysis 2.3, classes 1.0, the recipe's verification 0.4 besides its runs, the report 1.1 / 0; the process's end after its output 9.8 / 11.3 (the CLI exits at once; the raw script waits for Node's teardown of onnxruntime). Most of what the check adds is code that runs once a process and so runs cold: the code cache spares compiling it, not running it (the plan takes 1.4 ms the first time, 0.1 the second). On 2026-12-03 about 5 ms came off: verifying a padding recipe keyed every row of the check instead of one a probe (2 ms), the session released before an exit that frees it anyway (1.4 ms), the checksum kernel compiled once a process instead of twice (0.6 ms), one code cache per kind of target (0.4 ms).

Verdict on this machine: ${report.verdict}${report.causes.length ? ` (${report.causes.join(', ')})` : ''}; ${report.summary}.`);
