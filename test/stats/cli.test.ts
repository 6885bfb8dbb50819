import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { encodeNpy, encodeNpz, encodeSafetensors } from '../../src/io';
import { main } from '../../src/cli/main';
import { decodeModel } from '../../src/onnx/proto';
import { findBatchNorms } from '../../src/onnx/batchnorm';
import { recalibrate } from '../../src/stats/recalibrate';
import { checkRunningStats } from '../../src/stats/check';
import { bnCalibrationData, bnCheckpoint, bnModel, foldedBnModel } from '../helpers/models';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-stats-cli-'));
const file = (name: string, bytes: Uint8Array | string) => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, bytes);
  return p;
};
const healthy = file('healthy.onnx', bnModel().bytes);
const stale = file('stale.onnx', bnModel({ staleBn2: true }).bytes);
const training = file('training.onnx', bnModel({ trainingMode: true }).bytes);
const folded = file('folded.onnx', foldedBnModel());
const calib = bnCalibrationData(64);
const npy = file('calib.npy', encodeNpy({ dtype: 'float32', dims: calib.dims, data: calib.data as Float32Array }));
const ckpt = file('ckpt.safetensors', encodeSafetensors(bnCheckpoint() as never));
const badCkpt = file('bad.safetensors', encodeSafetensors(bnCheckpoint({ mismatch: true }) as never));

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, (s) => (out += s + '\n'), (s) => (err += s + '\n'));
  return { code, out, err };
}

describe('batchproof stats', () => {
  test('exit 0 healthy, 1 problems; JSON has problems, layers, firstMismatch', async () => {
    expect((await cli(['stats', healthy, '--data', npy, '--no-color'])).code).toBe(0);
    const r = await cli(['stats', stale, '--data', npy, '--json']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.out);
    expect(report.problems).toEqual([{ kind: 'stale-stats', node: '/bn2/BatchNormalization', detail: expect.any(String) }]);
    expect(report.layers[1]).toMatchObject({ node: '/bn2/BatchNormalization', input: 'h', channels: 4, pass: false });
    expect(report.layers[1].varRatio).toHaveLength(2);
    expect(report.firstMismatch.node).toBe('/bn2/BatchNormalization');
    expect(report).toMatchObject({ schema: 1, kind: 'running-stats', tool: { name: 'batchproof' } });
    expect(report.fingerprint.onnxruntime).toBeTruthy();
  });

  test('the text report marks the first mismatch and says later layers inherit it', async () => {
    const r = await cli(['stats', stale, '--data', npy, '--no-color']);
    expect(r.out).toMatch(/> \/bn2\/BatchNormalization/);
    expect(r.out).toMatch(/first mismatch: \/bn2\/BatchNormalization\. Layers after it inherit its shift/);
  });

  test('the data line counts its batches in words that fit the count (1 batch, 2 batches)', async () => {
    // 64 samples: one batch of 64, or two of 32.
    const one = await cli(['stats', healthy, '--data', npy, '--batch-size', '64', '--no-color']);
    expect(one.out).toContain('(64 samples in 1 batch)');
    const two = await cli(['stats', healthy, '--data', npy, '--batch-size', '32', '--no-color']);
    expect(two.out).toContain('(64 samples in 2 batches)');
  });

  test('--tolerance z=Z,ratio=R', async () => {
    expect((await cli(['stats', stale, '--data', npy, '--tolerance', 'z=10,ratio=5'])).code).toBe(0);
    const bad = await cli(['stats', stale, '--data', npy, '--tolerance', 'atol=1']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--tolerance atol=1: expected z=Z,ratio=R/);
    // A bound that is not a number is said as the user wrote it, not as NaN.
    const inf = await cli(['stats', stale, '--data', npy, '--tolerance', 'ratio=0.5:inf']);
    expect([inf.code, inf.err]).toEqual([2, 'batchproof: --tolerance ratio=0.5:inf: expected z=Z,ratio=R (or ratio=LO:HI), e.g. --tolerance z=0.5,ratio=2\n']);
    // A key given twice is refused, as check's --tolerance refuses it, not the last one taken.
    for (const [t, key] of [['z=10,ratio=5,z=0.1', 'z'], ['ratio=5,z=10,ratio=1.01', 'ratio']]) {
      const twice = await cli(['stats', stale, '--data', npy, '--tolerance', t]);
      expect([twice.code, twice.err]).toEqual([2, `batchproof: --tolerance ${t}: ${key} is given twice; give it once\n`]);
    }
  });

  test('training mode, folded, checkpoint', async () => {
    expect((await cli(['stats', training])).code).toBe(1);
    const f = await cli(['stats', folded, '--no-color']);
    expect(f.code).toBe(1);
    expect(f.out).toMatch(/no-batchnorm: .*do_constant_folding=False/);
    expect((await cli(['stats', healthy, '--checkpoint', ckpt])).code).toBe(0);
    const mismatch = await cli(['stats', healthy, '--checkpoint', badCkpt, '--json']);
    expect(mismatch.code).toBe(1);
    expect(JSON.parse(mismatch.out).problems[0]).toMatchObject({ kind: 'checkpoint-mismatch', node: '/bn2/BatchNormalization' });
  });

  test('no --data or --checkpoint: problems found are exit 1, none found is exit 2, never a healthy pass', async () => {
    for (const args of [['stats', healthy], ['stats', healthy, '--json'], ['stats', stale]]) {
      const r = await cli(args);
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      expect(r.err).toMatch(/^batchproof: .*\.onnx: 2 BatchNorm layers, none in training mode or without statistics, but nothing to check the statistics against; give --data calibration\.npz .* or --checkpoint ckpt\.safetensors\n$/);
    }
    const t = await cli(['stats', training, '--json']);
    expect(t.code).toBe(1);
    expect(JSON.parse(t.out).problems[0]).toMatchObject({ kind: 'training-mode' });
    // With a reference, the same model is judged as before.
    expect((await cli(['stats', stale, '--data', npy])).code).toBe(1);
  });

  test('data and a checkpoint: both problems of the first failing layer are told in full, not as a later layer that inherits its shift', async () => {
    // stale.onnx's bn2 fails against the data (stale-stats) and against the checkpoint (checkpoint-mismatch): one layer, not two.
    const r = await cli(['stats', stale, '--data', npy, '--checkpoint', ckpt, '--no-color']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^stale-stats \/bn2\/BatchNormalization: /m);
    expect(r.out).toMatch(/^checkpoint-mismatch \/bn2\/BatchNormalization: stored running_mean\/var differ/m);
    expect(r.out).not.toMatch(/in 1 later layer too/);
  });

  test('--json FILE writes the report and prints the text', async () => {
    const out = path.join(dir, 'report.json');
    const r = await cli(['stats', healthy, '--data', npy, '--json', out, '--no-color']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/healthy/);
    expect(JSON.parse(fs.readFileSync(out, 'utf8')).verdict).toBe('healthy');
  });
});

describe('bad input: one clear line, exit 2', () => {
  const expectOneLine = (r: { code: number; err: string }, pattern: RegExp) => {
    expect(r.code).toBe(2);
    expect(r.err.trimEnd().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(pattern);
  };

  test('.npy of the wrong dtype or shape for the model input', async () => {
    const f64 = file('f64.npy', encodeNpy({ dtype: 'float64', dims: calib.dims, data: Float64Array.from(calib.data as Float32Array) }));
    expectOneLine(await cli(['stats', healthy, '--data', f64]), /has dtype float64 but the model expects float32; convert it/);
    const wrongShape = file('shape.npy', encodeNpy({ dtype: 'float32', dims: [16, 3, 6, 6], data: new Float32Array(16 * 3 * 36) }));
    expectOneLine(await cli(['stats', healthy, '--data', wrongShape]), /has dim 3 at axis 1 where the model fixes 4/);
    const wrongRank = file('rank.npy', encodeNpy({ dtype: 'float32', dims: [16, 144], data: new Float32Array(16 * 144) }));
    expectOneLine(await cli(['stats', healthy, '--data', wrongRank]), /has 2 dims \[16, 144\] but the model input has 4/);
    expectOneLine(await cli(['recalibrate', healthy, '--data', f64, '-o', path.join(dir, 'never.onnx')]), /float64/);
    expect(fs.existsSync(path.join(dir, 'never.onnx'))).toBe(false);
  });

  test('a truncated .npz', async () => {
    const npz = encodeNpz({ x: { dtype: 'float32', dims: calib.dims, data: calib.data as Float32Array } });
    const cut = file('cut.npz', npz.subarray(0, Math.floor(npz.length / 2)));
    expectOneLine(await cli(['stats', healthy, '--data', cut]), /cut\.npz: /);
  });

  test('a .safetensors with a bad header or bad offsets', async () => {
    const header = (json: string) => {
      const h = new TextEncoder().encode(json);
      const out = new Uint8Array(8 + h.length + 16);
      new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
      out.set(h, 8);
      return out;
    };
    const badJson = file('badheader.safetensors', header('{"bn1.running_mean": {"dtype": "F32", '));
    expectOneLine(await cli(['stats', healthy, '--checkpoint', badJson]), /badheader\.safetensors: /);
    const badOffsets = file('badoffsets.safetensors', header('{"bn1.running_mean":{"dtype":"F32","shape":[4],"data_offsets":[0,64]}}'));
    expectOneLine(await cli(['stats', healthy, '--checkpoint', badOffsets]), /badoffsets\.safetensors: /);
  });

  test('a missing external-data file', async () => {
    const m = bnModel({ storage: 'external' });
    const sub = fs.mkdtempSync(path.join(dir, 'ext-'));
    const model = path.join(sub, 'model.onnx');
    fs.writeFileSync(model, m.bytes);
    expectOneLine(await cli(['stats', model, '--data', npy]), /keeps its data in the external file 'bn_weights\.bin', which is missing/);
    expectOneLine(await cli(['locate', model]), /external/);
  });

  test('a bad model file: stats, locate and recalibrate say what check says, in one line', async () => {
    const cnn = fs.readFileSync(path.join(__dirname, '..', '..', 'examples', 'models', 'embedding_cnn.onnx'));
    const bad = {
      truncated: file('truncated.onnx', cnn.subarray(0, 1000)),
      'not ONNX': file('random.onnx', Uint8Array.from({ length: 2000 }, (_, i) => (i * 2654435761) >>> 24 | 0x07)),
      empty: file('empty.onnx', new Uint8Array(0)),
      missing: path.join(dir, 'no-such-model.onnx'),
      directory: fs.mkdtempSync(path.join(dir, 'a-directory-')),
    };
    const words: Record<keyof typeof bad, RegExp> = {
      truncated: /truncated\.onnx: not a valid ONNX model \(protobuf parsing failed: the file is truncated or not a ModelProto\); re-export or re-copy it/,
      'not ONNX': /random\.onnx: not an ONNX model \(the bytes are not an ONNX ModelProto\); export the model with torch\.onnx\.export or check the path/,
      empty: /empty\.onnx: the file is empty; point at an exported \.onnx model/,
      missing: /no-such-model\.onnx: no such file; check the path to the \.onnx model/,
      directory: /a-directory-\w+: is a directory; point at an \.onnx file inside it/,
    };
    for (const [kind, model] of Object.entries(bad) as [keyof typeof bad, string][]) {
      const check = await cli(['check', model]);
      expectOneLine(check, words[kind]);
      for (const args of [['stats', model], ['stats', model, '--data', npy], ['locate', model], ['recalibrate', model, '--data', npy, '-o', path.join(dir, 'never.onnx')]]) {
        const r = await cli(args);
        expectOneLine(r, words[kind]);
        expect([args[0], kind, r.err]).toEqual([args[0], kind, check.err]);
      }
    }
    expect(fs.existsSync(path.join(dir, 'never.onnx'))).toBe(false);
  });

  test('a missing external-data file says to keep the files beside the model, in every command', async () => {
    const m = bnModel({ storage: 'external' });
    const sub = fs.mkdtempSync(path.join(dir, 'ext2-'));
    const model = path.join(sub, 'model.onnx');
    fs.writeFileSync(model, m.bytes);
    const line = /model\.onnx: tensor 'bn1\.\w+' keeps its data in the external file 'bn_weights\.bin', which is missing \(looked for .*\); keep the external data files beside the model\n$/;
    expectOneLine(await cli(['stats', model]), line);
    expectOneLine(await cli(['stats', model, '--data', npy]), line);
    expectOneLine(await cli(['locate', model]), line);
    expectOneLine(await cli(['recalibrate', model, '--data', npy, '-o', path.join(sub, 'out.onnx')]), line);
  });

  test('an external-data file that is a FIFO is refused, not opened (opening it would wait for a writer)', async () => {
    const m = bnModel({ storage: 'external' });
    const sub = fs.mkdtempSync(path.join(dir, 'ext3-'));
    const model = path.join(sub, 'model.onnx');
    fs.writeFileSync(model, m.bytes);
    const fifo = path.join(sub, 'bn_weights.bin');
    require('child_process').execFileSync('mkfifo', [fifo]);
    // Held open, so that a reader that got past the check reads it as empty instead of hanging.
    const held = fs.openSync(fifo, 'r+');
    try {
      const line = /model\.onnx: tensor 'bn1\.\w+' keeps its data in the external file 'bn_weights\.bin', which is a pipe \(a FIFO or a process substitution such as <\(\.\.\.\)\), not a regular file; keep the external data files beside the model as regular files\n$/;
      expectOneLine(await cli(['stats', model]), line);
      expectOneLine(await cli(['recalibrate', model, '--data', npy, '-o', path.join(sub, 'out.onnx')]), line);
    } finally {
      fs.closeSync(held);
    }
  });

  test('data that names no input is exit 2 on a model with no BatchNorm too (nothing runs it, it is still checked)', async () => {
    const wrongKey = file('wrongkey.npz', encodeNpz({ foo: { dtype: 'float32', dims: calib.dims, data: calib.data as Float32Array } }));
    expectOneLine(await cli(['stats', folded, '--data', wrongKey]), /wrongkey\.npz: holds 'foo', which is not an input of the model; name the arrays after the inputs: x\n$/);
    expectOneLine(await cli(['stats', healthy, '--data', wrongKey]), /wrongkey\.npz: holds 'foo', which is not an input of the model/);
    // Negative control: good data on a folded model is the model's problem (exit 1).
    expect((await cli(['stats', folded, '--data', npy])).code).toBe(1);
  });

  test('a checkpoint in which no layer finds its statistics is exit 2, naming what it holds and what was looked for', async () => {
    const data = file('calib-as-ckpt.npz', encodeNpz({ x: { dtype: 'float32', dims: calib.dims, data: calib.data as Float32Array } }));
    expectOneLine(
      await cli(['stats', healthy, '--checkpoint', data]),
      /calib-as-ckpt\.npz: no BatchNorm layer of the model finds its statistics here, so this is not the model's checkpoint: it holds 1 array \('x'\) and the model's 2 layers look for 'bn1\.running_mean', 'bn2\.running_mean'; give the state_dict the model was exported from \(saved with safetensors\), or give calibration samples as data \(CLI --data\) instead\n$/,
    );
    // Partial: one layer found, the other not: still the model's problem, reported (exit 1).
    const partial = file('partial.safetensors', encodeSafetensors(Object.fromEntries(Object.entries(bnCheckpoint()).filter(([k]) => !k.startsWith('bn2.'))) as never));
    const r = await cli(['stats', healthy, '--checkpoint', partial, '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out).problems).toEqual([expect.objectContaining({ kind: 'checkpoint-mismatch', node: '/bn2/BatchNormalization' })]);
    expect((await cli(['stats', healthy, '--checkpoint', partial, '--no-color'])).out).toContain('(1 layer matched)');
  });

  test('other bad input to stats, locate and recalibrate: one line each', async () => {
    const text = file('notes.onnx', 'just some text, not a model\n');
    for (const args of [
      ['stats', text],
      ['locate', text],
      ['stats', healthy, '--tolerance', 'z=-1'],
      ['stats', healthy, '--tolerance', 'ratio=0.5'],
      ['stats', healthy, '--data', path.join(dir, 'no-data.npy')],
      ['stats', healthy, '--checkpoint', path.join(dir, 'no-ckpt.safetensors')],
      ['locate', healthy, '--tolerance', 'bogus'],
      ['locate', healthy, '--batch-sizes', '0,2'],
      ['recalibrate', healthy, '--data', path.join(dir, 'no-data.npy'), '-o', path.join(dir, 'never.onnx')],
      ['recalibrate', healthy, '--data', npy, '-o', path.join(dir, 'never.txt')],
      ['recalibrate', healthy, '--data', npy, '-o', path.join(dir, 'no-such-dir', 'x.onnx')],
      ['recalibrate', healthy, '--data', npy, '-o', path.join(healthy, 'x.onnx')],
    ]) {
      const r = await cli(args);
      expect([args, r.code, r.err.trimEnd().split('\n').length]).toEqual([args, 2, 1]);
    }
  });

  test('a --dim the model does not have is refused, as check refuses it, not ignored', async () => {
    for (const command of ['stats', 'recalibrate']) {
      const args = [command, healthy, '--data', npy, '--dim', 'seqq=3', ...(command === 'recalibrate' ? ['-o', path.join(dir, 'never-dim.onnx')] : [])];
      expectOneLine(await cli(args), /no symbolic dim 'seqq'; its symbolic dims are: N/);
    }
  });

  test('a model that is not ONNX, and a checkpoint that is a pickle', async () => {
    expectOneLine(await cli(['stats', file('text.onnx', '{"not": "onnx"}')]), /text\.onnx: this is a text file/);
    expectOneLine(await cli(['stats', healthy, '--checkpoint', file('model.pt', 'PK\u0003\u0004')]), /convert it with safetensors\.torch\.save_file/);
  });
});

describe('batchproof stats: training mode in the exported CNN', () => {
  test('every layer fails and firstMismatch names the first in topological order', async () => {
    const model = path.join(__dirname, '..', '..', 'examples', 'models', 'embedding_cnn_train_bn.onnx');
    const r = await cli(['stats', model, '--json']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.out);
    expect(report.problems).toHaveLength(11);
    expect(report.layers.map((l: { pass: boolean }) => l.pass)).toEqual(Array(11).fill(false));
    expect(report.firstMismatch).toMatchObject({ node: '/block1/block1.0/bn/BatchNormalization', trainingMode: true, pass: false });
    const text = await cli(['stats', model, '--no-color']);
    expect(text.out).toMatch(/first mismatch: \/block1\/block1\.0\/bn\/BatchNormalization \(training mode\)\. .*inference mode/);
    expect(text.out).toMatch(/> \/block1\/block1\.0\/bn\/BatchNormalization \[training mode\]/);
  });
});

describe('recalibrate', () => {
  test('a model whose every BatchNorm runs in training mode is refused: the copy would compute what the input does', async () => {
    for (const opset of [9, 15]) {
      await expect(recalibrate(bnModel({ trainingMode: true, opset }).bytes, calib)).rejects.toThrow(/every BatchNorm layer runs in training mode \(2 layers\).*changes nothing; re-export with model\.eval\(\)/);
    }
    const out = path.join(dir, 'train-recalibrated.onnx');
    const r = await cli(['recalibrate', training, '--data', npy, '-o', out]);
    expect([r.code, r.err.trimEnd().split('\n').length, fs.existsSync(out)]).toEqual([2, 1, false]);
  });

  test('the copy stores the data\'s statistics: checking it on the same data is healthy', async () => {
    const result = await recalibrate(stale, calib);
    expect(result.report.layers.map((l) => [l.node, l.wave])).toEqual([
      ['/bn1/BatchNormalization', 0],
      ['/bn2/BatchNormalization', 1],
    ]);
    expect(result.report.waves).toBe(2);
    const check = await checkRunningStats(result.bytes, calib, { tolerance: { z: 1e-3, ratio: 1.001 } });
    expect(check.problems).toEqual([]);
    // Only the four statistics initializers changed.
    const before = decodeModel(new Uint8Array(fs.readFileSync(stale)));
    const after = decodeModel(result.bytes);
    const stats = ['bn1.running_mean', 'bn1.running_var', 'bn2.running_mean', 'bn2.running_var'];
    const strip = (m: typeof before) => ({ ...m, graph: { ...m.graph, initializer: m.graph?.initializer.filter((t) => !stats.includes(t.name ?? '')) } });
    expect(strip(after)).toEqual(strip(before));
    const scan = findBatchNorms(result.bytes);
    expect(scan.batchNorms[1]?.mean.stored?.values[1]).not.toBeCloseTo(findBatchNorms(new Uint8Array(fs.readFileSync(stale))).batchNorms[1]?.mean.stored?.values[1] as number, 1);
  });

  test('the exported DenseNet: one pass per BatchNorm depth, then every layer matches the data', async () => {
    const model = path.join(__dirname, '..', '..', 'examples', 'models', 'embedding_cnn.onnx');
    const x = { dtype: 'float32', dims: [8, 3, 32, 32], data: Float32Array.from({ length: 8 * 3072 }, (_, i) => Math.cos(i * 0.11) * 1.7 + 0.3) };
    const before = await checkRunningStats(model, x);
    expect(before.verdict).toBe('problems');
    const result = await recalibrate(model, x);
    expect(result.report.waves).toBe(11);
    const after = await checkRunningStats(result.bytes, x, { tolerance: { z: 1e-3, ratio: 1.001 } });
    expect(after.problems).toEqual([]);
  });

  test('CLI: writes OUT atomically, refuses an existing OUT without --force, never the input', async () => {
    const out = path.join(dir, 'recal.onnx');
    const r = await cli(['recalibrate', stale, '--data', npy, '-o', out, '--no-color']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/2 BatchNorm layers recalibrated on 64 samples \(2 passes over the data\)/);
    // Like every other report, the text ends with the fingerprint the numbers were made under.
    expect(r.out.trimEnd().split('\n').pop()).toMatch(/^fingerprint: .*onnxruntime/);
    expect((await cli(['stats', out, '--data', npy])).code).toBe(0);
    const again = await cli(['recalibrate', stale, '--data', npy, '-o', out]);
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/already exists; pass --force/);
    expect((await cli(['recalibrate', stale, '--data', npy, '-o', out, '--force'])).code).toBe(0);
    const original = fs.readFileSync(stale);
    const self = await cli(['recalibrate', stale, '--data', npy, '-o', stale, '--force']);
    expect(self.code).toBe(2);
    expect(self.err).toMatch(/is the input model/);
    expect(fs.readFileSync(stale).equals(original)).toBe(true);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect((await cli(['recalibrate', stale, '-o', path.join(dir, 'x.onnx')])).code).toBe(2);
  });

  test('writeModelFile goes through the shared atomic writer: its one-line error, no temporary file left', async () => {
    const { writeModelFile } = await import('../../src/stats/recalibrate');
    const { writeFileAtomic } = await import('../../src/io/atomic');
    const { BadInputError } = await import('../../src/errors');
    const failure = (write: () => void): unknown => {
      try {
        write();
      } catch (e) {
        return e;
      }
      return null;
    };
    // A directory no file can be created in, even by root: the path checks pass, the write fails.
    if (fs.existsSync('/proc/self')) {
      const out = '/proc/self/batchproof-model.onnx';
      const e = failure(() => writeModelFile(out, bnModel().bytes));
      expect(e).toBeInstanceOf(BadInputError);
      // Found before any byte is written, by the same output-path check as the CLI's.
      expect((e as Error).message).toMatch(/^output \/proc\/self\/batchproof-model\.onnx: cannot create files in \/proc\/self .*; choose a writable directory$/);
      expect(failure(() => writeFileAtomic(out, bnModel().bytes))).toBeInstanceOf(BadInputError);
    }
    // An output "directory" that is a file is refused before any write.
    expect(() => writeModelFile(path.join(file('plain-file', 'x'), 'out.onnx'), bnModel().bytes)).toThrow(/plain-file\/out.onnx: a part of the path is a file, not a directory/);
    const ok = path.join(dir, 'written.onnx');
    writeModelFile(ok, bnModel().bytes);
    expect(fs.readFileSync(ok).equals(Buffer.from(bnModel().bytes))).toBe(true);
    expect(() => writeModelFile(ok, bnModel().bytes)).toThrow(/already exists; pass --force/);
    expect(() => writeModelFile(ok, bnModel().bytes, { input: ok, force: true })).toThrow(/is the input model/);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
