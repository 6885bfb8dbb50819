import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cli } from '../helpers/cli';
import { encodeNpy } from '../../src/io';
import { bnModel, invariantModel, int64Model, leakyModel, driftModel, seededNoiseModel } from '../helpers/models';

const root = path.join(__dirname, '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'batchproof-cli-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const write = (name: string, bytes: Uint8Array): string => {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, bytes);
  return file;
};
const invariant = write('invariant.onnx', invariantModel());
const leaky = write('leaky.onnx', leakyModel());
const drift = write('drift.onnx', driftModel());


describe('batchproof check: exit codes are a contract', () => {
  test('0 for an invariant model, with the report for people', async () => {
    const r = await cli('check', invariant, '--batch-sizes', '1,2,7', '--no-color');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/invariant\.onnx: invariant/);
    expect(r.stdout).toMatch(/fingerprint: onnxruntime 1\.30/);
  });

  test('1 for a violated one; the JSON names the causes', async () => {
    const r = await cli('check', leaky, '--batch-sizes', '1,4', '--json');
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report.verdict).toBe('violated');
    expect(report.causes).toEqual(['leakage']);
    expect(Object.keys(report)).toEqual(
      expect.arrayContaining(['schema', 'tool', 'model', 'fingerprint', 'tolerance', 'verdict', 'causes', 'batches', 'minimumTolerance', 'worst', 'runs', 'timing']),
    );
    expect(report.batches[0]).toEqual(
      expect.objectContaining({ size: 1, positions: [0], maxAbs: 0, bitExact: true, pass: true }),
    );
  });

  test('--tolerance exact and atol=... decide the exit code for drift', async () => {
    expect((await cli('check', drift, '--batch-sizes', '1,2', '--tolerance', 'exact', '--json')).code).toBe(1);
    const r = await cli('check', drift, '--batch-sizes', '1,2', '--tolerance', 'exact', '--json');
    const atol = JSON.parse(r.stdout).minimumTolerance.atol;
    expect((await cli('check', drift, '--batch-sizes', '1,2', '--tolerance', `atol=${atol},rtol=0`)).code).toBe(0);
    expect((await cli('check', drift, '--batch-sizes', '1,2', '--output-tolerance', 'y:exact')).code).toBe(1);
  });

  test('--json FILE writes the JSON and prints the report for people', async () => {
    const file = path.join(tmp, 'report.json');
    const r = await cli('check', invariant, '--batch-sizes', '1,2', '--json', file, '--no-color');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/: invariant/);
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).verdict).toBe('invariant');
  });

  test('determinism: 0 when reruns agree', async () => {
    const r = await cli('determinism', invariant, '--repeats', '3', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(expect.objectContaining({ verdict: 'deterministic', repeats: 3, differingRuns: [] }));
  });

  test('determinism: the minimum tolerance in the JSON, given back with --tolerance, passes (exit 0)', async () => {
    // Seeded noise: every run of one session differs, every new session runs the same sequence.
    const noisy = write('seeded-noise.onnx', seededNoiseModel());
    const r = await cli('determinism', noisy, '--repeats', '3', '--json');
    expect(r.code).toBe(1);
    const { minimumTolerance: m, verdict } = JSON.parse(r.stdout);
    expect(verdict).toBe('nondeterministic');
    for (const [passes, fails] of [[`atol=${m.atol},rtol=0`, `atol=${m.atol * 0.999},rtol=0`], [`ulp=${m.ulp}`, `ulp=${m.ulp - 1}`], [`cosine=${m.cosine}`, `cosine=${m.cosine * 0.999}`]]) {
      const ok = await cli('determinism', noisy, '--repeats', '3', '--tolerance', passes, '--no-color');
      expect([passes, ok.code]).toEqual([passes, 0]);
      expect(ok.stdout).toMatch(/: within-tolerance\n/);
      expect(ok.stdout).toMatch(/^minimum tolerance that passes: atol=/m);
      expect(ok.stdout).toMatch(new RegExp(`^tolerance: ${passes.split('=')[0]}`, 'm'));
      expect([fails, (await cli('determinism', noisy, '--repeats', '3', '--tolerance', fails)).code]).toEqual([fails, 1]);
    }
  });
});

describe('batchproof check: bad input is exit 2 and one line on stderr', () => {
  const cases: [string, string[], RegExp][] = [
    ['missing model', ['check', path.join(tmp, 'nope.onnx')], /nope\.onnx: no such file/],
    ['not a model', ['check', path.join(root, 'package.json')], /not an ONNX model/],
    ['bad batch sizes', ['check', invariant, '--batch-sizes', '1,x'], /'x' is not a positive integer/],
    ['zero batch size', ['check', invariant, '--batch-sizes', '0'], /'0' is not a positive integer/],
    ['unknown tolerance', ['check', invariant, '--tolerance', 'close'], /not a tolerance; use 'exact'/],
    ['unknown tolerance of one output: the message names that flag', ['check', invariant, '--output-tolerance', 'y:close'], /^batchproof: --output-tolerance y:close: not a tolerance; use 'exact'/],
    ['unknown const input', ['check', invariant, '--const', 'sr=16000'], /consts names 'sr' \(CLI --const sr=\.\.\.\), which is not an input/],
    ['unknown symbolic dim', ['check', invariant, '--dim', 'seq=4'], /dims names 'seq' \(CLI --dim seq=N\), but the model has no symbolic dim 'seq'/],
    ['bad shape', ['check', invariant, '--shape', 'x=N,9'], /contradicts the model: axis 1 is fixed at 8/],
    ['bad dim', ['check', invariant, '--dim', 'seq=1.5'], /--dim seq=1.5: the size must be a whole number \(0 for an empty dim\)/],
    ['missing inputs file', ['check', invariant, '--inputs', path.join(tmp, 'none.npz')], /none\.npz/],
    ['bad budget', ['check', invariant, '--budget', 'soon'], /--budget soon: expected a duration/],
    ['--json into a missing directory', ['check', invariant, '--batch-sizes', '1,2', '--json', path.join(tmp, 'no', 'such', 'r.json')], /the directory .* does not exist; create it first/],
    ['--json onto a directory', ['check', invariant, '--batch-sizes', '1,2', '--json', tmp], /is a directory; give a file name inside it/],
  ];
  test.each(cases)('%s', async (_name, args, message) => {
    const r = await cli(...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\bat .*\.(ts|js):\d+/);
  });

  test('an unknown provider or flag is a usage error', async () => {
    expect((await cli('check', invariant, '--provider', 'tpu')).code).toBe(2);
    expect((await cli('check', invariant, '--frobnicate')).code).toBe(2);
    expect((await cli('frobnicate')).code).toBe(2);
    expect((await cli()).code).toBe(2);
    expect((await cli('--version')).code).toBe(0);
  });
});

describe('the installed bin', () => {
  const bin = path.join(root, 'dist', 'src', 'cli', 'bin.js');
  const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });

  // Spawned, so that native writes to stderr (onnxruntime's own log, Dawn's warnings) count too.
  test.each([
    ['a usage error', ['check', invariant, '--frob']],
    ['no command', []],
    ['a truncated model', ['check', write('truncated.onnx', invariantModel().subarray(0, 60))]],
    ['a pinned provider that is missing', ['check', invariant, '--provider', 'cuda']],
    [
      'ids outside the embedding table (onnxruntime fails at run time)',
      ['check', write('ids.onnx', int64Model()), '--inputs', write('ids.npy', encodeNpy({ dtype: 'int64', dims: [4, 3], data: new BigInt64Array(12).fill(1000n) }))],
    ],
  ])('%s: exit 2 and exactly one line on stderr', (_name, args) => {
    const r = run(...args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^batchproof: /);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  // Spawned with a timeout: a reader that opened the FIFO would wait for a writer for ever.
  test('an array file that is a FIFO or a process substitution is refused before its extension, never read', () => {
    const fifos = fs.mkdtempSync(path.join(tmp, 'fifos-'));
    const fifo = (name: string) => (execFileSync('mkfifo', [path.join(fifos, name)]), path.join(fifos, name));
    const samples = write('samples.npy', encodeNpy({ dtype: 'float32', dims: [4, 8], data: new Float32Array(32) }));
    const refused = (args: string[], what: string, shell = false) => {
      const r = shell
        ? spawnSync('bash', ['-c', `"${process.execPath}" "${bin}" ${args.join(' ')}`], { encoding: 'utf8', timeout: 20000 })
        : spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 20000 });
      expect([args.join(' '), r.status, r.stderr]).toEqual([
        args.join(' '),
        2,
        expect.stringMatching(new RegExp(`^batchproof: \\S+: is a pipe \\(a FIFO or a process substitution such as <\\(\\.\\.\\.\\)\\), not a regular file; save the ${what} to a file and pass its path\n$`)),
      ]);
    };
    refused(['check', invariant, '--inputs', fifo('x.npy')], 'arrays');
    refused(['locate', invariant, '--inputs', fifo('x.npz')], 'arrays');
    const bn = write('bn.onnx', bnModel().bytes);
    refused(['stats', bn, '--data', fifo('calib.npz')], 'arrays');
    refused(['recalibrate', bn, '--data', fifo('calib.npy'), '-o', path.join(fifos, 'out.onnx')], 'arrays');
    refused(['stats', bn, '--checkpoint', fifo('ckpt.safetensors')], 'checkpoint');
    // bash hands <(...) over as /dev/fd/63: no extension to go by.
    refused(['check', `"${invariant}"`, '--inputs', `<(cat "${samples}")`], 'arrays', true);
    refused(['stats', `"${bn}"`, '--checkpoint', `<(cat "${samples}")`], 'checkpoint', true);
  });

  test('writing into a closed pipe is not an error', () => {
    const r = spawnSync('bash', ['-c', `"${process.execPath}" "${bin}" check "${invariant}" --batch-sizes 1,2 --json | head -c 1`], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
  });

  // picocolors alone colours whenever CI is set; CI logs and piped reports must stay plain.
  test.each([
    ['piped, with CI set', { CI: 'true' }, [], false],
    ['piped, --color', {}, ['--color'], true],
    ['FORCE_COLOR set', { FORCE_COLOR: '1' }, [], true],
    ['FORCE_COLOR set, --no-color', { FORCE_COLOR: '1' }, ['--no-color'], false],
  ])('colours: %s', (_name, env, flags, colored) => {
    const { FORCE_COLOR: _f, NO_COLOR: _n, CI: _c, ...base } = process.env;
    const r = spawnSync(process.execPath, [bin, 'check', invariant, '--batch-sizes', '1,2', ...flags], { encoding: 'utf8', env: { ...base, ...env } });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/invariant/);
    expect(r.stdout.includes('\x1b[')).toBe(colored);
  });

  test('runs without loading Jest', () => {
    const bin = path.join(root, 'dist', 'src', 'cli', 'bin.js');
    const probe = `require.cache; const M = require('module'); const orig = M._load; M._load = function (r, ...a) { if (/^(jest|@jest|expect|jest-matcher-utils)/.test(r)) { throw new Error('loaded ' + r); } return orig.call(this, r, ...a); }; process.argv = [process.argv[0], ${JSON.stringify(bin)}, 'check', ${JSON.stringify(invariant)}, '--batch-sizes', '1,2']; require(${JSON.stringify(bin)});`;
    const r = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/invariant/);
    expect(r.status).toBe(0);
  });
});
