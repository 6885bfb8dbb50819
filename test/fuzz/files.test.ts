// Output paths: no command may replace one of its inputs, a special file or a symbolic link, and
// a bad path is found before the run. The atomic writer leaves no temporary behind, even when a
// signal ends the process, and clears those of processes that died.
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { encodeNpy } from '../../src/io';
import { writeFileAtomic } from '../../src/io/atomic';
import { checkOutputPath } from '../../src/io/paths';
import { writeBaseline } from '../../src/snapshot/store';
import { fingerprintFor } from '../../src/runtime/fingerprint';
import { embeddingsFrom } from '../../src/snapshot/embeddings';
import { cli } from '../helpers/cli';
import { bnCalibrationData, bnModel, invariantModel, seededFloats } from '../helpers/models';

const root = path.join(__dirname, '..', '..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-fuzz-files-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const put = (name: string, bytes: Uint8Array | string): string => {
  const p = path.join(dir, name);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, bytes);
  return p;
};
const model = put('m.onnx', invariantModel());
const modelBytes = fs.readFileSync(model);
const samples = put('x.npy', encodeNpy({ dtype: 'float32', dims: [4, 8], data: seededFloats(32, 3) }));
const samplesBytes = fs.readFileSync(samples);
const notAModel = put('notes.onnx', 'just some text, not a model\n');
const temporaries = (d = dir) => fs.readdirSync(d).filter((f) => f.endsWith('.tmp'));

/** Exit 2, one line on stderr naming the problem, nothing on stdout: refused before any work. */
function expectRefused(r: { code: number; stdout: string; stderr: string }, message: RegExp): void {
  expect({ code: r.code, stdout: r.stdout, lines: r.stderr.trimEnd().split('\n').length }).toEqual({ code: 2, stdout: '', lines: 1 });
  expect(r.stderr).toMatch(message);
}

describe('an output path that is one of the command\'s inputs is refused, the input intact', () => {
  fs.mkdirSync(path.join(dir, 'sub'), { recursive: true });
  fs.symlinkSync(model, path.join(dir, 'link-to-m.onnx'));
  fs.linkSync(model, path.join(dir, 'hard-m.onnx'));

  test.each([
    ['the same path', () => model],
    ['./ spelling', () => `${dir}/./m.onnx`],
    ['../ spelling', () => path.join(dir, 'sub') + '/../m.onnx'],
    ['a symbolic link to it', () => path.join(dir, 'link-to-m.onnx')],
    ['a hard link to it', () => path.join(dir, 'hard-m.onnx')],
  ])('check m.onnx --json <%s>', async (_how, json) => {
    const r = await cli('check', model, '--json', json());
    expectRefused(r, /--json .*: is the input model \(.*m\.onnx\); write the JSON report to another file/);
    expect(fs.readFileSync(model).equals(modelBytes)).toBe(true);
    expect(fs.lstatSync(path.join(dir, 'link-to-m.onnx')).isSymbolicLink()).toBe(true);
  });

  test('every command that runs a model: --json is the input model or --inputs', async () => {
    for (const command of ['check', 'determinism', 'locate', 'compare']) {
      const extra = command === 'compare' ? ['--against-threads', '1'] : [];
      expectRefused(await cli(command, model, ...extra, '--json', model), /is the input model/);
      expectRefused(await cli(command, model, ...extra, '--inputs', samples, '--json', samples), /is the samples file \(--inputs\)/);
    }
    expect(fs.readFileSync(model).equals(modelBytes)).toBe(true);
    expect(fs.readFileSync(samples).equals(samplesBytes)).toBe(true);
  });

  test('diff a.emb b.emb --json a.emb (or b.emb)', async () => {
    const e = embeddingsFrom({ data: seededFloats(40, 5), dims: [10, 4] });
    const header = { format: 1, tolerance: { kind: 'cosine', cosine: 1e-6 }, fingerprint: fingerprintFor({}), created: '2025-01-01T00:00:00.000Z', key: 'k' } as const;
    const a = path.join(dir, 'a.emb');
    const b = path.join(dir, 'b.emb');
    writeBaseline(a, e, header as never);
    writeBaseline(b, e, header as never);
    const before = [fs.readFileSync(a), fs.readFileSync(b)];
    expectRefused(await cli('diff', a, b, '--json', a), /--json .*a\.emb: is the baseline <a>/);
    expectRefused(await cli('diff', a, b, '--json', b), /--json .*b\.emb: is the file <b>/);
    expect([fs.readFileSync(a), fs.readFileSync(b)]).toEqual(before);
    expect((await cli('diff', a, b, '--json', path.join(dir, 'diff.json'))).code).toBe(0);
  });

  test('stats and recalibrate: --json is --data or the model; -o is --data, a hard link to the model, or --json', async () => {
    const bn = put('bn.onnx', bnModel({ staleBn2: true }).bytes);
    const bnBytes = fs.readFileSync(bn);
    const calib = bnCalibrationData(16);
    const data = put('calib.npy', encodeNpy({ dtype: 'float32', dims: calib.dims, data: calib.data as Float32Array }));
    const dataBytes = fs.readFileSync(data);
    expectRefused(await cli('stats', bn, '--data', data, '--json', data), /is the calibration data \(--data\)/);
    expectRefused(await cli('stats', bn, '--json', bn), /is the input model/);
    fs.linkSync(bn, path.join(dir, 'bn-hard.onnx'));
    expectRefused(await cli('recalibrate', bn, '--data', data, '-o', path.join(dir, 'bn-hard.onnx'), '--force'), /-o .*bn-hard\.onnx: is the input model/);
    expectRefused(await cli('recalibrate', bn, '--data', data, '-o', bn, '--force'), /is the input model/);
    expectRefused(await cli('recalibrate', bn, '--data', data, '-o', path.join(dir, 'out.onnx'), '--json', bn), /is the input model/);
    expectRefused(await cli('recalibrate', bn, '--data', data, '-o', path.join(dir, 'out.onnx'), '--json', data), /is the calibration data/);
    // Two outputs, one file: the model would be replaced by the report (or the other way round).
    expectRefused(await cli('recalibrate', bn, '--data', data, '-o', path.join(dir, 'out.onnx'), '--json', path.join(dir, 'sub', '..', 'out.onnx')), /--json .*out\.onnx: is also the -o file/);
    expect(fs.existsSync(path.join(dir, 'out.onnx'))).toBe(false);
    expect([fs.readFileSync(bn), fs.readFileSync(data)]).toEqual([bnBytes, dataBytes]);
    const ok = await cli('recalibrate', bn, '--data', data, '-o', path.join(dir, 'out.onnx'), '--json', path.join(dir, 'recal.json'));
    expect(ok.code).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'recal.json'), 'utf8')).output).toBe(path.join(dir, 'out.onnx'));
  });
});

// `stats --data .` said "unsupported file type (no extension)", and `--checkpoint .` that a
// checkpoint must be .safetensors or .npz: a directory given for a file is named as a directory.
describe('a directory given for an input file is named as a directory, with what to give', () => {
  const folder = path.join(dir, 'a-folder');
  fs.mkdirSync(folder, { recursive: true });
  const withExtension = (ext: string) => {
    const d = path.join(dir, `folder${ext}`);
    fs.mkdirSync(d, { recursive: true });
    return d;
  };
  const bn = put('bn.onnx', bnModel().bytes);
  const data = put('calibration.npy', encodeNpy(bnCalibrationData(64) as never));
  const texts = put('texts.json', JSON.stringify(['a', 'bb', 'ccc']));
  const fn = put('embed.js', 'module.exports = async (batch) => batch.map((s) => [s.length, 1]);\n');
  const emb = path.join(dir, 'never.emb');
  const baseline = () => {
    const file = path.join(dir, 'dir-case.emb');
    const header = { format: 1, tolerance: { kind: 'cosine', cosine: 1e-6 }, fingerprint: fingerprintFor({}), created: '2025-01-01T00:00:00.000Z', key: 'k' } as const;
    writeBaseline(file, embeddingsFrom({ data: seededFloats(40, 5), dims: [10, 4] }), header as never);
    return file;
  };
  test.each([
    ['stats --data .', ['stats', bn, '--data', '.'], /^batchproof: \.: is a directory, not an array file; pass a \.npy, \.npz or \.safetensors file \(one inside it\)\n$/],
    ['stats --data DIR', ['stats', bn, '--data', folder], /a-folder: is a directory, not an array file; pass a \.npy, \.npz or \.safetensors file/],
    ['stats --data DIR.npz', ['stats', bn, '--data', withExtension('.npz')], /folder\.npz: is a directory, not an array file/],
    ['recalibrate --data .', ['recalibrate', bn, '--data', '.', '-o', path.join(dir, 'never.onnx')], /^batchproof: \.: is a directory, not an array file/],
    ['stats --checkpoint .', ['stats', bn, '--checkpoint', '.'], /^batchproof: \.: is a directory, not a checkpoint file; pass the \.safetensors or \.npz file \(one inside it, e\.g\. model\.safetensors\)\n$/],
    ['stats --checkpoint DIR.safetensors', ['stats', bn, '--checkpoint', withExtension('.safetensors')], /folder\.safetensors: is a directory, not a checkpoint file/],
    ['check --inputs .', ['check', model, '--inputs', '.'], /^batchproof: \.: is a directory, not an array file/],
    ['determinism --inputs DIR', ['determinism', model, '--inputs', folder], /a-folder: is a directory, not an array file/],
    ['compare --inputs DIR.npy', ['compare', model, '--against-threads', '2', '--inputs', withExtension('.npy')], /folder\.npy: is a directory, not an array file/],
    ['locate --inputs DIR', ['locate', model, '--inputs', folder], /a-folder: is a directory, not an array file/],
    ['check --samples DIR', ['check', fn, '--samples', folder], /a-folder: is a directory, not a samples file; point at a file inside it/],
    ['a module that is a directory', ['check', withExtension('.js'), '--samples', texts], /folder\.js: is a directory, not a batch function module file/],
    ['a model that is a directory', ['stats', withExtension('.onnx'), '--data', data], /folder\.onnx: is a directory; point at an \.onnx file inside it/],
    ['diff DIR b', ['diff', folder, emb], /a-folder: is a directory, not a baseline file/],
    ['diff a DIR', ['diff', baseline(), withExtension('.emb')], /folder\.emb: is a directory, not a baseline file/],
    ['report DIR', ['report', folder, '-o', path.join(dir, 'never.html')], /a-folder: is a directory, not a report file/],
  ])('%s', async (_name, args, message) => {
    expectRefused(await cli(...(args as string[])), message as RegExp);
  });
});

describe('special files are written to, never replaced; a symbolic link is written through', () => {
  test('--json - prints the JSON on stdout, as a bare --json', async () => {
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const r = await cli('check', model, '--batch-sizes', '1,2', '--json', '-');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).verdict).toBe('invariant');
      expect(fs.existsSync(path.join(dir, '-'))).toBe(false);
    } finally {
      process.chdir(cwd);
    }
  });

  test('--json /dev/null stays a character device', async () => {
    let writable = true;
    try {
      fs.accessSync('/dev/null', fs.constants.W_OK);
    } catch {
      writable = false;
    }
    if (!writable || !fs.statSync('/dev/null').isCharacterDevice()) return;
    const r = await cli('check', model, '--batch-sizes', '1,2', '--json', '/dev/null', '--no-color');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\S+: invariant\n/);
    expect(fs.lstatSync('/dev/null').isCharacterDevice()).toBe(true);
  });

  test('a FIFO as --json receives the JSON and stays a FIFO', async () => {
    const fifo = path.join(dir, 'report.fifo');
    if (spawnSync('mkfifo', [fifo]).status !== 0) return;
    // The reader is another process: this one blocks in open() until a reader comes.
    const reader = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'ignore'] });
    let text = '';
    reader.stdout.on('data', (d) => (text += d));
    const done = new Promise((resolve) => reader.on('close', resolve));
    const r = await cli('check', model, '--batch-sizes', '1,2', '--json', fifo, '--no-color');
    await done;
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\S+: invariant\n/);
    expect(JSON.parse(text).verdict).toBe('invariant');
    expect(fs.lstatSync(fifo).isFIFO()).toBe(true);
  });

  test('a symbolic link as --json stays a link, its target gets the JSON (a dangling link too)', async () => {
    const target = put('reports/target.json', '{}');
    const link = path.join(dir, 'report-link.json');
    fs.symlinkSync(path.relative(dir, target), link);
    expect((await cli('check', model, '--batch-sizes', '1,2', '--json', link)).code).toBe(0);
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(JSON.parse(fs.readFileSync(target, 'utf8')).verdict).toBe('invariant');
    expect(temporaries(path.join(dir, 'reports'))).toEqual([]);
    const dangling = path.join(dir, 'dangling.json');
    fs.symlinkSync(path.join(dir, 'reports', 'new.json'), dangling);
    expect((await cli('check', model, '--batch-sizes', '1,2', '--json', dangling)).code).toBe(0);
    expect(fs.lstatSync(dangling).isSymbolicLink()).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'reports', 'new.json'), 'utf8')).verdict).toBe('invariant');
  });
});

describe('a bad output path is found before the run: exit 2, one line, nothing run', () => {
  const existing = put('notes.txt', 'my notes, not a report\n');
  fs.mkdirSync(path.join(dir, 'a-dir'), { recursive: true });
  test.each([
    ['an empty path', '', /the --json path is empty; give a file name/],
    ['a directory', path.join(dir, 'a-dir'), /--json .*a-dir: is a directory; give a file name inside it/],
    ['a missing directory', path.join(dir, 'no-such-dir', 'r.json'), /the directory .*no-such-dir does not exist; create it first/],
    ['a path through a file', path.join(dir, 'notes.txt', 'r.json'), /is not a directory|a part of the path is a file/],
    ['an existing file that is not JSON', existing, /the file exists and is not JSON/],
  ])('%s', async (_what, json, message) => {
    // The model is valid: a late check would run it first and print nothing either (the write
    // fails before the text), so the same path is also given with a model that cannot be read:
    // the output path is what is named, so it was checked first.
    expectRefused(await cli('check', model, '--json', json), message);
    expectRefused(await cli('check', notAModel, '--json', json), message);
    expectRefused(await cli('fingerprint', '--json', json), message);
    expect(fs.readFileSync(existing, 'utf8')).toBe('my notes, not a report\n');
  });

  test('an unwritable directory or read-only file (not as root, who may write anywhere)', async () => {
    if (process.getuid?.() === 0) return;
    const locked = path.join(dir, 'locked');
    fs.mkdirSync(locked);
    const readOnly = put('read-only.json', '{}');
    fs.chmodSync(readOnly, 0o444);
    fs.chmodSync(locked, 0o555);
    try {
      expectRefused(await cli('check', notAModel, '--json', path.join(locked, 'r.json')), /cannot create files in .*locked/);
      expectRefused(await cli('check', notAModel, '--json', readOnly), /the file is read-only/);
    } finally {
      fs.chmodSync(locked, 0o755);
    }
  });

  test('checkOutputPath alone: what each kind of path is', () => {
    expect(checkOutputPath('-', { flag: '--json' })).toBe('stdout');
    expect(checkOutputPath(path.join(dir, 'fresh.json'), { flag: '--json' })).toBe('file');
    if (fs.existsSync('/dev/null')) expect(checkOutputPath('/dev/null', { flag: '--json' })).toBe('in-place');
    expect(checkOutputPath('/dev/stdout', { flag: '--json' })).toBe('in-place');
    expect(() => writeFileAtomic('', '{}')).toThrow(/^the output path is empty; give a file name$/);
    expect(() => checkOutputPath(model, { flag: '-o', inputs: [{ file: `${dir}/sub/../m.onnx`, what: 'model' }] })).toThrow(/^-o .*m\.onnx: is the model/);
  });
});

describe('temporaries: stale ones of dead processes go, no signal leaves one behind', () => {
  const atomicJs = path.join(root, 'dist', 'src', 'io', 'atomic.js');

  test('a write removes the stale temporaries of its target left by dead processes, and only those', () => {
    const d = fs.mkdtempSync(path.join(dir, 'stale-'));
    const dead = spawnSync(process.execPath, ['-e', '']).pid as number;
    const sleeper: ChildProcess = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
    try {
      const live = sleeper.pid as number;
      for (const name of [`.r.json.${dead}.1.tmp`, `.r.json.${dead}.7.tmp`, `.r.json.${live}.1.tmp`, `.other.json.${dead}.1.tmp`, 'r.json.123.tmp']) put(path.join(path.basename(d), name), 'partial');
      writeFileAtomic(path.join(d, 'r.json'), '{"ok":true}\n');
      expect(fs.readdirSync(d).sort()).toEqual([`.other.json.${dead}.1.tmp`, `.r.json.${live}.1.tmp`, 'r.json', 'r.json.123.tmp'].sort());
    } finally {
      sleeper.kill();
    }
  });

  // The writes are synchronous, so a signal during one is handled when it is done: the file is
  // complete, no temporary is left, and the process then ends of the signal as it would have.
  // The signal is sent by the writer itself, from inside the write (a getter on the pieces), so
  // the timing is exact.
  const writer = (target: string, signal: string, own = '') => `
    const { writeFileAtomic } = require(${JSON.stringify(atomicJs)});
    ${own}
    const piece = Buffer.alloc(1 << 20, 120);
    const pieces = [piece, piece, piece, piece];
    Object.defineProperty(pieces, 2, { get() { process.kill(process.pid, '${signal}'); return piece; } });
    writeFileAtomic(${JSON.stringify(target)}, pieces);
    console.log('written');`;

  test.each(['SIGTERM', 'SIGINT'])('%s during a write: no temporary left, the file whole, the process ends of the signal', (signal) => {
    expect(fs.existsSync(atomicJs)).toBe(true);
    const d = fs.mkdtempSync(path.join(dir, 'signal-'));
    const target = put(path.join(path.basename(d), 'big.bin'), 'old');
    const r = spawnSync(process.execPath, ['-e', writer(target, signal)], { encoding: 'utf8', timeout: 10000 });
    expect({ signal: r.signal, stdout: r.stdout.trim(), temporaries: temporaries(d), size: fs.statSync(target).size }).toEqual({ signal, stdout: 'written', temporaries: [], size: 4 << 20 });
  });

  test("the user's own handler is not swallowed, and the listeners go once the write is done", () => {
    const d = fs.mkdtempSync(path.join(dir, 'handler-'));
    const target = path.join(d, 'big.bin');
    const own = `process.on('SIGTERM', () => { console.log('user handler'); process.exit(7); });`;
    const r = spawnSync(process.execPath, ['-e', writer(target, 'SIGTERM', own)], { encoding: 'utf8', timeout: 10000 });
    expect({ status: r.status, stdout: r.stdout.trim().split('\n'), temporaries: temporaries(d) }).toEqual({ status: 7, stdout: ['written', 'user handler'], temporaries: [] });
    const count = `const { writeFileAtomic } = require(${JSON.stringify(atomicJs)});
      const n = () => ['SIGINT', 'SIGTERM', 'SIGHUP'].map((s) => process.listenerCount(s)).join(',');
      writeFileAtomic(${JSON.stringify(path.join(d, 'small.json'))}, '{}');
      const during = n();
      setTimeout(() => console.log(during, n()), 20);`;
    expect(spawnSync(process.execPath, ['-e', count], { encoding: 'utf8', timeout: 10000 }).stdout.trim()).toBe('1,1,1 0,0,0');
  });
});
