// The other runners against their own raw loops, as whole processes, alternating, in one run:
// `batchproof check --provider wasm` against plain onnxruntime-web making the same session.run
// calls, and `batchproof check` of a batch function module against the same function calls.
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.join(__dirname, '..');
const bin = path.join(root, 'dist', 'src', 'cli', 'bin.js');
// On a shared 2-core VM the medians of 11 moved by 5% from one run to the next, those of 21 of
// the batch function's 0.1 s runs still by 6%: 41 of those, 21 of wasm's 1 s runs.
const ROUNDS = { wasm: 21, fn: 41 };

const { time, median } = require('./timing');
const runsOf = (report) => JSON.stringify(report.runs.map(({ batchSize, calls }) => ({ batchSize, calls })));

/** check and its raw loop, alternating, `rounds` times. */
function measure(checkArgs, rawArgs, rounds) {
  const report = JSON.parse(time([bin, 'check', ...checkArgs, '--json']).stdout);
  const raw = rawArgs(report);
  const t = { check: [], raw: [] };
  for (let i = 0; i < rounds; i++) {
    t.check.push(time([bin, 'check', ...checkArgs, '--json']).ms);
    t.raw.push(time(raw).ms);
  }
  return {
    report,
    calls: report.runs.reduce((n, r) => n + r.calls, 0),
    rows: report.runs.reduce((n, r) => n + r.batchSize * r.calls, 0),
    rounds,
    median: { check: median(t.check), raw: median(t.raw) },
    // Adjacent runs share the machine's state of the moment: their differences move less than either side.
    paired: median(t.check.map((c, i) => c - t.raw[i])),
    best: { check: Math.min(...t.check), raw: Math.min(...t.raw) },
  };
}

let web = true;
try {
  require.resolve('onnxruntime-web');
} catch {
  web = false;
}
const transformer = path.join(root, 'examples', 'models', 'transformer_encoder.onnx');
const wasm = web ? measure([transformer, '--provider', 'wasm'], (r) => [path.join(__dirname, 'raw-wasm-calls.js'), transformer, runsOf(r), String(r.model.dims.seq)], ROUNDS.wasm) : null;

// Texts of 3 to 16 characters: each batch pads to its longest, as a pipeline does.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'batchproof-bench-'));
const samples = path.join(dir, 'texts.json');
const words = ['query', 'a photo of a cat', 'embedding', 'batch', 'the same answer', 'onnx', 'padding', 'server', 'browser', 'invariant'];
fs.writeFileSync(samples, JSON.stringify(Array.from({ length: 80 }, (_, i) => `${words[i % words.length]} ${i}`.slice(0, 16))));
const fnModule = path.join(__dirname, 'embed-fn.js');
const fn = measure([fnModule, '--samples', samples], (r) => [path.join(__dirname, 'raw-fn-calls.js'), fnModule, runsOf(r), samples], ROUNDS.fn);
fs.rmSync(dir, { recursive: true, force: true });

const f = (x) => x.toFixed(0);
const f1 = (x) => x.toFixed(1);
const more = (x) => (x >= 0 ? `${f1(x)} ms more` : `${f1(-x)} ms less`);
const row = (label, raw, m) =>
  m ? `| ${label} | ${raw} | ${m.calls} / ${m.rows} | ${f(m.median.check)} (${f(m.best.check)}) | ${f(m.median.raw)} (${f(m.best.raw)}) | **${(m.median.check / m.median.raw).toFixed(2)}x** (${(m.best.check / m.best.raw).toFixed(2)}x) | ${m.report.verdict} |`
    : `| ${label} | ${raw} | | | | onnxruntime-web is not installed | |`;
console.log(`## Other runners: wasm and a batch function vs their raw loops

Whole-process wall time in ms, median of alternating rounds (wasm ${ROUNDS.wasm}, batch function ${ROUNDS.fn}), best in brackets; the installed bin (code cache warm), as in the sections above.

- **wasm**: \`batchproof check examples/models/transformer_encoder.onnx --provider wasm\` (onnxruntime-web's WASM backend in Node, one thread) against plain onnxruntime-web making the same session.run calls (\`bench/raw-wasm-calls.js\`: sizes and counts from the report's \`runs\`, random inputs).
- **batch function**: \`batchproof check bench/embed-fn.js --samples texts.json\` (a toy tokenizer padding each batch to its longest text, the bundled text embedder on onnxruntime-node; 80 texts of 3 to 16 characters) against the same function called with batches of the same sizes and counts (\`bench/raw-fn-calls.js\`).

| runner | raw loop | check calls / rows | check | raw | check / raw (goal <= 1.10x) | verdict |
|---|---|---:|---:|---:|---:|---|
${row('wasm (transformer)', 'onnxruntime-web session.run', wasm)}
${row('batch function (text embedder)', 'the function itself', fn)}

The batch function's raw loop pays what its own module does (loading onnxruntime-node, creating the session, the calls); the check pays that once too, then its own fixed cost: the check took ${more(fn.paired)} than its raw loop, the median of the ${fn.rounds} paired differences${wasm ? `, and ${more(wasm.paired)} on wasm` : ''}. Where it goes, by phase marks (a timestamp at each step, medians of 25 alternating runs on a 2-core AMD EPYC Zen 5 VM, 2026-12-03, after that day's changes; check / raw): the bundle from its code cache with onnxruntime's addon 9.7 ms, against 11.7 for the raw loop's requires of the module and onnxruntime (onnxruntime is not loaded twice: the bundle holds onnxruntime-node's JavaScript and registers it under the installed files, so the function's own \`require('onnxruntime-node')\` gets that module, and its binding does not load worker_threads, which the installed one does; test/cli/ort-bundled.test.ts); options, the command, the samples file and the module 2.7; the first call (the function's session) 31.7 / 30.1; the other 39 calls 22.5 / 19.1 (the function's own time 21.0 of it); analysis 1.9, classes 0.6 and the report 1.2; most of it code that runs once a process, and so runs cold (the code cache spares compiling it, not running it). At the exit event the check is 10.5 ms behind; the CLI then exits at once, while the raw loop waits for Node's teardown of onnxruntime, which pays part of it back. On 2026-12-03 that came down from about 10 ms to about 6 (paired medians): worker_threads no longer loaded (1.5 ms), probe rows told equal or apart by one checksum each (analysis and classes about 1 ms), a function's samples judged as the samples themselves instead of the indices its pool hands out, one 'beforeExit' listener for all of a function's calls. Both sides run with onnxruntime's telemetry off (bench/run.js), as the CLI runs.`);
