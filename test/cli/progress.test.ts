/**
 * The progress bar of check, compare and determinism: on stderr when it is a terminal (a
 * pseudo-terminal from util-linux `script`) and the work runs over a second, never on a pipe,
 * never in the JSON on stdout, never under a test runner; and the counts the API reports.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { compareProviders } from '../../src/compare-providers/compare';
import { checkDeterminism } from '../../src/invariance/determinism';
import { invariantModel } from '../helpers/models';

const root = path.join(__dirname, '..', '..');
const bin = path.join(root, 'dist', 'src', 'cli', 'bin.js');
const model = path.join(root, 'examples', 'models', 'transformer_encoder.onnx');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'batchproof-progress-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

// Every onnxruntime-node run 100 ms longer (its addon's session class, wrapped as it loads): a
// slow model, so the work outlasts the bar's first second on any machine. The runs are real.
const slow = path.join(tmp, 'slow.js');
fs.writeFileSync(slow, `const dlopen = process.dlopen;
process.dlopen = function (module, ...rest) {
  const r = dlopen.call(this, module, ...rest);
  const Session = module.exports && module.exports.InferenceSession;
  if (Session) module.exports.InferenceSession = class extends Session {
    run(...a) { const t = Date.now(); while (Date.now() - t < 100); return super.run(...a); }
  };
  return r;
};
`);
const hasScript = process.platform === 'linux' && spawnSync('script', ['-V']).status === 0;
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
// The CLI as a user runs it: no Jest in its environment.
const { JEST_WORKER_ID: _worker, ...userEnv } = process.env;
const env = { ...userEnv, XDG_CACHE_HOME: tmp };

/** Runs the CLI with stderr on a terminal and stdout (the JSON) into a file: what the terminal showed, and the JSON. */
function onTerminal(args: string[], extraEnv: Record<string, string> = {}): { status: number | null; screen: string; json: string; ms: number } {
  const json = path.join(tmp, `out-${Math.random().toString(36).slice(2)}.json`);
  const command = `${[process.execPath, '--require', slow, bin, ...args, '--json', '-'].map(quote).join(' ')} > ${quote(json)}`;
  const started = Date.now();
  const r = spawnSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8', env: { ...env, ...extraEnv } });
  return { status: r.status, screen: r.stdout, json: fs.readFileSync(json, 'utf8'), ms: Date.now() - started };
}

const cases: [string, string[], string, number, string][] = [
  ['check', ['check', model, '--batch-sizes', '1,2,4'], 'checking', 15, 'batch-invariance'],
  ['compare', ['compare', model, '--batch-size', '8', '--against-batch-size', '1'], 'comparing', 18, 'provider-comparison'],
  ['determinism', ['determinism', model, '--repeats', '16'], 'repeating', 16, 'determinism'],
];

(hasScript ? describe : describe.skip)('on a terminal', () => {
  test.each(cases)('%s draws a bar on stderr; the JSON on stdout stays clean', (_name, args, label, total, kind) => {
    const r = onTerminal(args);
    expect(r.status).toBe(0);
    expect(r.screen).toMatch(new RegExp(`${label} \\[[█░]+\\] \\d+/${total} steps`));
    expect(r.json).not.toMatch(/\x1b|steps/);
    expect((JSON.parse(r.json) as { kind: string }).kind).toBe(kind);
  });

  test('the controls: under a test runner (JEST_WORKER_ID) no bar on the same terminal, and none on a pipe', () => {
    const r = onTerminal(cases[2][1], { JEST_WORKER_ID: '1' });
    expect(r.status).toBe(0);
    expect(r.ms).toBeGreaterThan(1600); // 16 runs of 100 ms: long enough for a bar
    expect(r.screen).not.toMatch(/steps/);
    for (const [, args] of cases.slice(1)) {
      const piped = spawnSync(process.execPath, ['--require', slow, bin, ...args, '--json', '-'], { encoding: 'utf8', env });
      expect({ status: piped.status, stderr: piped.stderr }).toEqual({ status: 0, stderr: '' });
    }
  });
});

describe('onProgress counts every run', () => {
  test('compare: each side runs each of its batches twice', async () => {
    const seen: [number, number][] = [];
    await compareProviders(invariantModel(), ['cpu', { provider: 'cpu', batchSize: 3 }], { batchSize: 8, onProgress: (done, total) => seen.push([done, total]) });
    // 2 runs of the batch of 8, then 2 of each of the batches of 3, 3 and 2.
    expect(seen).toEqual(Array.from({ length: 8 }, (_, i) => [i + 1, 8]));
  });

  test('determinism: each repeat, and a function\'s first call and its repeat', async () => {
    const seen: [number, number][] = [];
    await checkDeterminism(invariantModel(), { repeats: 4, onProgress: (done, total) => seen.push([done, total]) });
    expect(seen).toEqual([[1, 4], [2, 4], [3, 4], [4, 4]]);
    const calls: [number, number][] = [];
    const fn = async (batch: unknown[]) => (batch as string[]).map((s) => [s.length, s.charCodeAt(0)]);
    await checkDeterminism(fn, { samples: ['a', 'bb', 'ccc'], batchSize: 3, repeats: 2, onProgress: (done, total) => calls.push([done, total]) });
    expect(calls).toEqual([[1, 4], [2, 4], [3, 4], [4, 4]]);
    await expect(checkDeterminism(invariantModel(), { onProgress: 5 as unknown as () => void })).rejects.toThrow(/^checkDeterminism: onProgress must be a function/);
  });
});
