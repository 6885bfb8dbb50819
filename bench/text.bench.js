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

The check took ${paired.toFixed(1)} ms more than the raw replay (the median of the ${ROUNDS} paired differences). Where it goes, by phase marks (a timestamp at each step, medians of 25 alternating runs on a 2-core AMD EPYC Zen 5 VM, 2026-12-03, after that day's changes; check / raw): Node's own start 15.5 / 14.8 ms; the bundle from its code cache with onnxruntime's addon 9.8 / onnxruntime's requires 10.8 (reading the 0.67 MB bundle 1.2, checking the cache's checksum 1.2, V8 deserialising it 2.0, the bundle's top level with the addon 4.1); options and the command 1.6 / 0; the session 26.4 / 25.6; preparing 2.6 / 0 (the id tables' bounds from the facts cache 0.7, the plan 0.3, vetting the samples 0.6); the runs 21.7 / 19.1 (the check's session.run calls 17.4 of it; the raw script's random ids and tensors are inside its 19.1); analysis 1.8, classes 0.8, the recipe's verification 0.9 with its runs, the report 1.0 / 0. At the exit event the check is 12.8 ms behind; the CLI then exits at once, while the raw script waits for Node's teardown of onnxruntime. Most of what the check adds is code that runs once a process and so runs cold: the code cache spares compiling it, not running it. What came off on 2026-12-03, measured the same way: onnxruntime's binding no longer loads worker_threads in the bundle (with it, Node's stream modules: about 1.5 ms; the raw script still pays it); a repeated check reads the id tables' bounds from the facts cache without parsing the graph's 80 KB of JSON (about 2 ms); samples vetted before the runs are made as they are looked at; probe rows told equal or apart by one checksum each (analysis and classes 1 ms); earlier that day, verifying a padding recipe keyed every row of the check instead of one a probe (2 ms), the session released before an exit that frees it anyway (1.4 ms), the checksum kernel compiled once a process instead of twice (0.6 ms), one code cache per kind of target (0.4 ms).

Verdict on this machine: ${report.verdict}${report.causes.length ? ` (${report.causes.join(', ')})` : ''}; ${report.summary}.`);
