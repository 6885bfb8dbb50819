// A NaN equals any NaN at the same place, whatever its sign and payload: the README's rule for
// the comparison scans (the table's "bitwise equal", the verdict). The stable classes and the
// check's other row identities (a probe moved with new batch-mates, the recipe's rows) must read
// NaN the same way: batch 1 and batch 8 told bitwise equal in the table were two classes when
// their NaNs differed in the sign bit, and a probe moved among new batch-mates ran a third batch
// to find a difference that the table then did not show.
import * as ort from 'onnxruntime-node';
import { checkBatchInvariance, formatReport } from '../../src';
import { DataType } from '../../src/onnx/proto';
import { buildModel } from '../helpers/models';

type FloatOut = 'float32' | 'float16' | 'float64';

/**
 * y = sqrt(x - 0.5), in `dtype`: NaN where x < 0.5, the finite values row-wise (bitwise the same
 * at every batch size). The NaN's sign follows the batch size: Sqrt gives the CPU's own NaN
 * (0xffc00000 on x86), Neg flips its sign, and a batch above 1 takes the flipped one (the
 * batch size from Shape), as a kernel chosen by the batch size may leave another NaN.
 */
function nanSignModel(dtype: FloatOut): Uint8Array {
  const cast = dtype !== 'float32';
  return buildModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 8] }],
    outputs: [{ name: 'y', dtype, shape: ['N', 8] }],
    initializers: [
      { name: 'half', dtype: 'float32', dims: [], data: [0.5] },
      { name: 'zero', dtype: 'int64', dims: [], data: [0] },
      { name: 'one', dtype: 'int64', dims: [], data: [1] },
    ],
    nodes: [
      { op: 'Sub', inputs: ['x', 'half'], outputs: ['xc'] },
      { op: 'Sqrt', inputs: ['xc'], outputs: ['s'] },
      { op: 'Neg', inputs: ['s'], outputs: ['flipped'] },
      { op: 'Shape', inputs: ['x'], outputs: ['shape'] },
      { op: 'Gather', inputs: ['shape', 'zero'], outputs: ['n'], attrs: { axis: 0 } },
      { op: 'Greater', inputs: ['n', 'one'], outputs: ['batched'] },
      { op: 'Where', inputs: ['batched', 'flipped', 's'], outputs: ['nan'] },
      { op: 'IsNaN', inputs: ['s'], outputs: ['isnan'] },
      { op: 'Where', inputs: ['isnan', 'nan', 's'], outputs: [cast ? 'y32' : 'y'] },
      ...(cast ? [{ op: 'Cast', inputs: ['y32'], outputs: ['y'], attrs: { to: dtype === 'float16' ? DataType.FLOAT16 : DataType.DOUBLE } }] : []),
    ],
  });
}

/** The bytes of a run's first row, and whether it holds a NaN (float16: exponent all ones, mantissa not zero). */
async function firstRow(session: ort.InferenceSession, dtype: FloatOut, rows: number): Promise<{ bytes: Buffer; nan: boolean }> {
  const x = new Float32Array(8 * rows).map((_, i) => ((i * 37) % 16) / 16);
  const y = (await session.run({ x: new ort.Tensor('float32', x, [rows, 8]) })).y;
  const width = { float32: 4, float16: 2, float64: 8 }[dtype];
  const data = y.data as Float32Array;
  const bytes = Buffer.from(data.buffer, data.byteOffset, 8 * width);
  const nan = dtype === 'float16' ? Array.from(data.subarray(0, 8) as unknown as Uint16Array).some((h) => (h & 0x7fff) > 0x7c00) : Array.from(data.subarray(0, 8)).some(Number.isNaN);
  return { bytes, nan };
}

const sweep = { batchSizes: [1, 2, 3, 8] };

test.each(['float32', 'float16', 'float64'] as const)('NaNs whose sign follows the batch size (a %s output): bitwise equal in the table, and one stable class', async (dtype) => {
  const model = nanSignModel(dtype);
  // The premise, from onnxruntime itself: the same row holds NaN, with other bits, alone and in a batch.
  const session = await ort.InferenceSession.create(model);
  const alone = await firstRow(session, dtype, 1);
  const batched = await firstRow(session, dtype, 2);
  expect(alone.nan).toBe(true);
  expect(alone.bytes.equals(batched.bytes)).toBe(false);

  const r = await checkBatchInvariance(model, sweep);
  expect(r.nonFinite.length).toBe(1);
  // The table: every size bitwise equal to batch 1 (NaN equals NaN).
  expect(r.verdict).toBe('invariant');
  expect(r.batches.every((b) => b.bitExact && b.equalRows === b.comparedRows)).toBe(true);
  // The classes agree: one, every size and position (not {1} | {2..8}).
  expect(r.classes).toEqual([{ sizes: [1, 2, 3, 8], positions: 'all' }]);
  expect(formatReport(r)).toContain('stable classes (bitwise identical outputs): {1..8, every position}');
});

/** A row per sample whose third value is NaN, its sign and payload set by the row's place in the batch. */
function nanRow(x: number, position: number): Float32Array {
  const row = Float32Array.of(x, 2 * x, 0, x - 1);
  new DataView(row.buffer).setUint32(8, (position % 2 ? 0xffc00000 : 0x7fc00000) | (position + 1), true);
  return row;
}
const samples = Array.from({ length: 12 }, (_, i) => i + 1);

test.each([
  ['Float32Array rows', (batch: number[]) => batch.map((x, i) => nanRow(x, i))],
  ['a { dims, data } tensor', (batch: number[]) => {
    const data = new Float32Array(4 * batch.length);
    batch.forEach((x, i) => data.set(nanRow(x, i), 4 * i));
    return { dims: [batch.length, 4], data };
  }],
] as const)('a batch function whose NaNs change bits with the position (%s): one stable class, no third batch', async (_, fn) => {
  // The premise: the rows keep their NaNs' bits as they come back.
  const out = fn([1, 2]);
  const data = 'data' in out ? out.data : Float32Array.from([...out[0], ...out[1]]);
  expect(new DataView(data.buffer).getUint32(8, true)).toBe(0x7fc00001);
  expect(new DataView(data.buffer).getUint32(24, true)).toBe(0xffc00002);

  const r = await checkBatchInvariance(fn as never, { samples, ...sweep });
  expect(r.verdict).toBe('invariant');
  expect(r.classes).toEqual([{ sizes: [1, 2, 3, 8], positions: 'all' }]);
  // At batch 8 (probes among other rows) the probes moved among new batch-mates gave the same
  // outputs: the third batch, which splits a difference into position and batch-mates, is not run.
  expect(r.runs.find((x) => x.batchSize === 8)?.purposes).not.toContain('permuted');
});
