// batchproof check against (1) plain onnxruntime-node making the same session.run calls and
// (2) the hand-written protocol, measured as whole processes, alternating, in one run.
const { spawnSync } = require('child_process');
const path = require('path');

const root = path.join(__dirname, '..');
const model = path.join(root, 'examples', 'models', 'transformer_encoder.onnx');
const bin = path.join(root, 'dist', 'src', 'cli', 'bin.js');
const ROUNDS = 9;

function time(args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', maxBuffer: 1 << 26 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0 && r.status !== 1) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
  return { ms, stdout: r.stdout };
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const first = JSON.parse(time([bin, 'check', model, '--json']).stdout);
const runs = first.runs.map(({ batchSize, calls }) => ({ batchSize, calls }));
const calls = runs.reduce((n, r) => n + r.calls, 0);
const rows = first.runs.reduce((n, r) => n + r.batchSize * r.calls, 0);
const sizes = first.plan.sizes;
const handRows = sizes.length * 64 + 64;
const handCalls = 64 + sizes.reduce((n, b) => n + Math.ceil(64 / b), 0);
const seq = String(first.model.dims.seq);

const t = { check: [], raw: [], hand: [] };
for (let i = 0; i < ROUNDS; i++) {
  t.check.push(time([bin, 'check', model, '--json']).ms);
  t.raw.push(time([path.join(__dirname, 'raw-calls.js'), model, JSON.stringify(runs), seq]).ms);
  t.hand.push(time([path.join(__dirname, 'hand-protocol.js'), model, JSON.stringify(sizes), seq]).ms);
}
const m = { check: median(t.check), raw: median(t.raw), hand: median(t.hand) };
const f = (x) => x.toFixed(0);
console.log(`## batchproof check vs raw onnxruntime and the hand-written protocol

Model: \`examples/models/transformer_encoder.onnx\` (seq ${seq}), default sweep (${sizes.join(', ')}).
Whole-process wall time (node start, model load, all inference, comparison, report), median of ${ROUNDS} alternating rounds.

| run | what it does | session.run calls | rows inferred | median ms |
|---|---|---:|---:|---:|
| \`batchproof check\` | full plan: probes alone twice; per size a batch and one with the probes moved among other batch-mates (a third, permuted, only where those differ); the largest again; the padding recipe verified; compares, classifies, reports | ${calls} | ${rows} | ${f(m.check)} |
| raw onnxruntime-node | the same session.run calls (sizes and counts from the report's \`runs\`), random inputs, nothing else | ${calls} | ${rows} | ${f(m.raw)} |
| hand-written protocol | the same 64 samples at every sweep size in chunks, compared with batch 1 (finds batch-size drift only) | ${handCalls} | ${handRows} | ${f(m.hand)} |

- check / raw onnxruntime: **${(m.check / m.raw).toFixed(2)}x** (goal: at most 1.10x)
- check / hand-written protocol: **${(m.check / m.hand).toFixed(2)}x** (goal: at most 1.0x), while also separating leakage, position and nondeterminism.
- Verdict on this machine: ${first.verdict}${first.causes.length ? ` (${first.causes.join(', ')})` : ''}.`);
