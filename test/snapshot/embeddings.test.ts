import * as ort from 'onnxruntime-node';
import { embeddingsFrom } from '../../src/snapshot/embeddings';

describe('embeddingsFrom: what the matcher accepts', () => {
  test('a Float32Array with dims, as { data, dims } or with dims given apart; viewed, not copied', () => {
    const data = new Float32Array(6).map((_, i) => i);
    const a = embeddingsFrom({ data, dims: [2, 3] });
    expect(a).toMatchObject({ dtype: 'float32', rows: 2, dim: 3 });
    expect(a.data).toBe(data);
    expect(embeddingsFrom(data, [3, 2])).toMatchObject({ rows: 3, dim: 2 });
  });

  test('a Float64Array stays float64', () => {
    expect(embeddingsFrom(new Float64Array(4), [2, 2]).dtype).toBe('float64');
  });

  test('an onnxruntime Tensor: first axis rows, the rest flattened', () => {
    const tensor = new ort.Tensor('float32', new Float32Array(24), [2, 3, 4]);
    expect(embeddingsFrom(tensor)).toMatchObject({ dtype: 'float32', rows: 2, dim: 12 });
  });

  test('number[][] becomes float64; rows of Float32Array stay float32', () => {
    const e = embeddingsFrom([[1, 2], [3, NaN]]);
    expect(e).toMatchObject({ dtype: 'float64', rows: 2, dim: 2 });
    expect([...e.data]).toEqual([1, 2, 3, NaN]);
    expect(embeddingsFrom([new Float32Array([1, 2]), new Float32Array([3, 4])]).dtype).toBe('float32');
  });
});

describe('bad input: one clear line', () => {
  const message = (fn: () => unknown): string => {
    try {
      fn();
    } catch (e) {
      expect((e as Error).name).toBe('BadInputError');
      expect((e as Error).message).not.toMatch(/\n/);
      return (e as Error).message;
    }
    throw new Error('expected an error');
  };

  test('a dims product that does not match the data', () => {
    expect(message(() => embeddingsFrom({ data: new Float32Array(10), dims: [3, 4] }))).toBe('dims [3, 4] hold 12 values but the data has 10');
    expect(message(() => embeddingsFrom(new Float32Array(5), [2, 2]))).toBe('dims [2, 2] hold 4 values but Float32Array has 5');
  });

  test("dims beside a tensor (or { data, dims }) that disagree with its own: refused, as for number[][], never a silent reshape into other rows", () => {
    const tensor = new ort.Tensor('float32', new Float32Array(24), [4, 6]);
    expect(message(() => embeddingsFrom(tensor, [8, 3]))).toBe("dims [8, 3] do not match the data's own dims [4, 6] (4 x 6 rows); leave dims out when the embeddings carry their shape");
    expect(message(() => embeddingsFrom({ data: new Float32Array(24), dims: [2, 3, 4] }, [6, 4]))).toMatch(/^dims \[6, 4\] do not match the data's own dims \[2, 3, 4\] \(2 x 12 rows\)/);
    // Dims that agree (the same rows and row length) are fine.
    expect(embeddingsFrom({ data: new Float32Array(24), dims: [2, 3, 4] }, [2, 12])).toMatchObject({ rows: 2, dim: 12 });
  });

  test('ragged number[][]', () => {
    expect(message(() => embeddingsFrom([[1, 2], [3]]))).toBe('ragged embeddings: row 1 has 1 values, row 0 has 2; every row needs the same length');
  });

  test('an empty set', () => {
    expect(message(() => embeddingsFrom([]))).toMatch(/^an empty set of embeddings/);
    expect(message(() => embeddingsFrom([[]]))).toMatch(/^an empty set of embeddings/);
    expect(message(() => embeddingsFrom({ data: new Float32Array(0), dims: [0, 8] }))).toMatch(/^an empty set of embeddings \(dims \[0, 8\]\)/);
  });

  test('a bare typed array without dims, a one-axis shape', () => {
    expect(message(() => embeddingsFrom(new Float32Array(4)))).toBe('a bare Float32Array needs its shape: pass dims: [rows, dim]');
    expect(message(() => embeddingsFrom(new Float32Array(4), [4]))).toMatch(/must be \[rows, dim\].*for one embedding use \[1, dim\]/);
  });

  test('integers, float16 tensors, strings, null', () => {
    expect(message(() => embeddingsFrom(new ort.Tensor('int32', new Int32Array(4), [2, 2])))).toMatch(/must be float32 or float64, got a int32 tensor/);
    expect(message(() => embeddingsFrom([[1, '2']]))).toBe('row 0, column 1 is string, not a number');
    expect(message(() => embeddingsFrom(null))).toMatch(/^expected a Float32Array.*got null$/);
    expect(message(() => embeddingsFrom('abc'))).toMatch(/got String$/);
  });
});
