import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

// Fixed costs of every CLI run: Node modules a check does not need, each loaded on the first
// use instead (child_process ~4 ms with net and dgram, crypto ~3 ms, v8 ~2.5 ms, the stdio
// streams' net and tty ~3 ms, perf_hooks ~1 ms, zlib ~3 ms, worker_threads with the stream modules
// ~2 ms; bench/RESULTS.md has the effect on the whole run).
const root = path.join(__dirname, '..', '..');
const bin = path.join(root, 'dist', 'src', 'cli', 'bin.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'batchproof-startup-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const hook = path.join(tmp, 'modules.js');
fs.writeFileSync(hook, "process.on('exit', () => require('fs').writeFileSync(process.env.MODULES_OUT, JSON.stringify(process.moduleLoadList)));\n");
const UNNEEDED = ['child_process', 'net', 'tty', 'crypto', 'v8', 'perf_hooks', 'dgram', 'zlib', 'worker_threads', 'stream'];

function modulesOf(args: string[]): { status: number | null; stdout: string; loaded: string[] } {
  const out = path.join(tmp, `modules-${Math.random().toString(36).slice(2)}.json`);
  // stdout and stderr are pipes, as in CI and the bench.
  const r = spawnSync(process.execPath, ['--require', hook, bin, ...args], { encoding: 'utf8', env: { ...process.env, MODULES_OUT: out, XDG_CACHE_HOME: tmp } });
  const loaded = (JSON.parse(fs.readFileSync(out, 'utf8')) as string[]).filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice('NativeModule '.length));
  return { status: r.status, stdout: r.stdout, loaded };
}

test.each([
  ['check on a model', ['check', path.join(root, 'examples', 'models', 'transformer_encoder.onnx'), '--batch-sizes', '1,2', '--json']],
  ['check on a text model (padding runs)', ['check', path.join(root, 'examples', 'models', 'text_embedder.onnx'), '--batch-sizes', '1,2']],
  // Their progress bars too make a stream only on a terminal.
  ['compare', ['compare', path.join(root, 'examples', 'models', 'transformer_encoder.onnx'), '--against-threads', '2']],
  ['determinism', ['determinism', path.join(root, 'examples', 'models', 'transformer_encoder.onnx'), '--json']],
])('%s, piped, loads none of the modules it does not need', (_name, args) => {
  for (const run of [1, 2]) {
    // The first run compiles and writes the code cache, the second runs from it.
    const { status, stdout, loaded } = modulesOf(args);
    expect({ run, status }).toEqual({ run, status: 0 });
    expect(stdout).toMatch(/invariant|within-tolerance|identical|deterministic/);
    expect({ run, unneeded: loaded.filter((m) => UNNEEDED.includes(m)) }).toEqual({ run, unneeded: [] });
  }
});

test('check with its output sent to /dev/null (a character device, no terminal) loads no stdio stream', () => {
  const out = path.join(tmp, 'modules-devnull.json');
  const devnull = fs.openSync('/dev/null', 'w');
  try {
    const args = ['check', path.join(root, 'examples', 'models', 'transformer_encoder.onnx'), '--batch-sizes', '1,2'];
    const r = spawnSync(process.execPath, ['--require', hook, bin, ...args], { stdio: ['ignore', devnull, devnull], env: { ...process.env, MODULES_OUT: out, XDG_CACHE_HOME: tmp } });
    expect(r.status).toBe(0);
  } finally {
    fs.closeSync(devnull);
  }
  const loaded = (JSON.parse(fs.readFileSync(out, 'utf8')) as string[]).filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice('NativeModule '.length));
  expect(loaded.filter((m) => UNNEEDED.includes(m))).toEqual([]);
});

test('the control: the same hook sees child_process where the CLI needs it (listing providers probes in a child)', () => {
  const { loaded } = modulesOf(['fingerprint', '--json']);
  expect(loaded).toContain('child_process');
});
