// A NaN equals any NaN at the same place, whatever its sign and payload (the README's rule for
// the comparison scans). compare's "bitwise repeatable" (each side's batch run twice) must read
// NaN the same way: a side whose NaNs change sign run to run was "not bitwise repeatable, so
// part of its difference is run-to-run noise" beside a verdict of identical, and determinism
// called the same model deterministic.
import * as ort from 'onnxruntime-node';
import { checkDeterminism, compareProviders } from '../../src';
import { buildModel } from '../helpers/models';

/**
 * y = sqrt(x - 0.5): NaN where x < 0.5, each NaN's sign a coin flip (RandomUniformLike, unseeded:
 * new every run), the finite values the same every run.
 */
function coinSignNaNModel(): Uint8Array {
  return buildModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 8] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 8] }],
    initializers: [{ name: 'half', dtype: 'float32', dims: [], data: [0.5] }],
    nodes: [
      { op: 'Sub', inputs: ['x', 'half'], outputs: ['xc'] },
      { op: 'Sqrt', inputs: ['xc'], outputs: ['s'] },
      { op: 'Neg', inputs: ['s'], outputs: ['flipped'] },
      { op: 'RandomUniformLike', inputs: ['x'], outputs: ['u'] },
      { op: 'Greater', inputs: ['u', 'half'], outputs: ['coin'] },
      { op: 'Where', inputs: ['coin', 'flipped', 's'], outputs: ['nan'] },
      { op: 'IsNaN', inputs: ['s'], outputs: ['isnan'] },
      { op: 'Where', inputs: ['isnan', 'nan', 's'], outputs: ['y'] },
    ],
  });
}

test('NaNs whose sign changes run to run: compare calls each side bitwise repeatable, as determinism calls it deterministic', async () => {
  const model = coinSignNaNModel();
  // The premise, from onnxruntime itself: the same batch twice, NaN at the same places, other bytes.
  const session = await ort.InferenceSession.create(model);
  const x = new ort.Tensor('float32', Float32Array.from({ length: 64 }, (_, i) => ((i * 37) % 16) / 16), [8, 8]);
  const [first, again] = [(await session.run({ x })).y.data as Float32Array, (await session.run({ x })).y.data as Float32Array];
  expect(Array.from(first, Number.isNaN)).toEqual(Array.from(again, Number.isNaN));
  expect(first.some(Number.isNaN)).toBe(true);
  expect(Buffer.from(first.buffer, first.byteOffset, first.byteLength).equals(Buffer.from(again.buffer, again.byteOffset, again.byteLength))).toBe(false);

  expect((await checkDeterminism(model, {})).verdict).toBe('deterministic');
  const report = await compareProviders(model, [{ provider: 'cpu' }, { provider: 'cpu', threads: 1 }]);
  expect(report.verdict).toBe('identical');
  expect(report.sides.map((s) => s.repeatable)).toEqual([true, true]);
  expect(report.notes.join('\n')).not.toMatch(/not bitwise repeatable/);
});
