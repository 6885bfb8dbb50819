import { BadInputError, formatValue } from '../errors';
import type { EmbeddingDType } from './format';

/** A set of embeddings, one per row, as batchproof stores and compares them. */
export interface Embeddings {
  dtype: EmbeddingDType;
  rows: number;
  dim: number;
  /** rows * dim values, row-major. */
  data: Float32Array | Float64Array;
}

/**
 * What `toMatchEmbeddingSnapshot` and `embeddingsFrom` accept:
 * - `{ data, dims }` with a Float32Array or Float64Array and dims `[rows, dim]` (an onnxruntime
 *   Tensor is one: the first axis is rows, the rest are flattened);
 * - a Float32Array or Float64Array, with `dims` given separately;
 * - `number[][]` (stored as float64), or an array of Float32Array rows (stored as float32).
 */
export type EmbeddingsInput =
  | { data: Float32Array | Float64Array; dims: readonly number[]; type?: string }
  | Float32Array
  | Float64Array
  | ArrayLike<number>[];

// Realm-safe: Jest runs tests in their own realm, so instanceof would miss Node's arrays.
const tag = (x: unknown): string => Object.prototype.toString.call(x).slice(8, -1);
const floatDtype = (x: unknown): EmbeddingDType | null => (tag(x) === 'Float32Array' ? 'float32' : tag(x) === 'Float64Array' ? 'float64' : null);

const ACCEPTED = 'expected a Float32Array/Float64Array with dims [rows, dim], an onnxruntime Tensor, or number[][]';

/** Checks the input and views it as rows x dim, copying only when it is number[][]. One-line errors. */
export function embeddingsFrom(input: unknown, dims?: readonly number[]): Embeddings {
  if (floatDtype(input)) {
    if (!dims) throw new BadInputError(`a bare ${tag(input)} needs its shape: pass dims: [rows, dim]`);
    return fromFlat(input as Float32Array | Float64Array, dims, tag(input));
  }
  if (Array.isArray(input)) {
    const e = fromRows(input);
    // Rows carry their own shape: dims given beside them must agree, never be ignored silently.
    if (dims !== undefined) {
      checkDims(dims);
      const dim = dims.slice(1).reduce((a, b) => a * b, 1);
      if (dims[0] !== e.rows || dim !== e.dim) throw new BadInputError(`dims [${dims.join(', ')}] do not match the ${e.rows} x ${e.dim} rows given; leave dims out for number[][]`);
    }
    return e;
  }
  if (typeof input === 'object' && input !== null && 'data' in input && 'dims' in input) {
    const t = input as { data: unknown; dims: unknown; type?: unknown };
    if (!floatDtype(t.data)) {
      const what = typeof t.type === 'string' ? `${t.type} tensor` : `${tag(t.data)} data`;
      throw new BadInputError(`embeddings must be float32 or float64, got a ${what}; convert them first (e.g. Float32Array.from)`);
    }
    if (!Array.isArray(t.dims)) throw new BadInputError(`dims must be an array [rows, dim], got ${formatValue(t.dims)}`);
    const own = fromFlat(t.data as Float32Array | Float64Array, t.dims as number[], 'the data');
    // The data carries its shape: dims given beside it must agree, never regroup the rows silently.
    if (dims !== undefined) {
      const e = fromFlat(own.data, dims, 'the data');
      if (e.rows !== own.rows || e.dim !== own.dim) {
        throw new BadInputError(`dims [${dims.join(', ')}] do not match the data's own dims [${(t.dims as number[]).join(', ')}] (${own.rows} x ${own.dim} rows); leave dims out when the embeddings carry their shape`);
      }
    }
    return own;
  }
  throw new BadInputError(`${ACCEPTED}; got ${input === null ? 'null' : tag(input)}`);
}

function checkDims(dims: readonly number[]): void {
  // An index loop, not every(): every() skips the holes of a sparse array ([4, , 8]).
  let ok = Array.isArray(dims) && dims.length >= 2;
  for (let i = 0; ok && i < dims.length; i++) ok = i in dims && Number.isSafeInteger(dims[i]) && dims[i] >= 0;
  if (!ok) throw new BadInputError(`dims ${formatValue(dims)} must be [rows, dim] (or [rows, ...] to flatten), whole numbers; for one embedding use [1, dim]`);
}

function fromFlat(data: Float32Array | Float64Array, dims: readonly number[], what: string): Embeddings {
  checkDims(dims);
  const rows = dims[0];
  const dim = dims.slice(1).reduce((a, b) => a * b, 1);
  if (rows * dim !== data.length) {
    throw new BadInputError(`dims [${dims.join(', ')}] hold ${rows * dim} values but ${what} has ${data.length}`);
  }
  if (rows === 0 || dim === 0) throw new BadInputError(`an empty set of embeddings (dims [${dims.join(', ')}]): there is nothing to snapshot`);
  return { dtype: floatDtype(data) as EmbeddingDType, rows, dim, data };
}

function fromRows(rowsIn: readonly unknown[]): Embeddings {
  if (rowsIn.length === 0) throw new BadInputError('an empty set of embeddings ([]): there is nothing to snapshot');
  const first = rowsIn[0];
  const allF32 = rowsIn.every((r) => tag(r) === 'Float32Array');
  const dim = lengthOf(first, 0);
  if (dim === 0) throw new BadInputError('an empty set of embeddings (rows of length 0): there is nothing to snapshot');
  const data = allF32 ? new Float32Array(rowsIn.length * dim) : new Float64Array(rowsIn.length * dim);
  for (let r = 0; r < rowsIn.length; r++) {
    const row = rowsIn[r] as ArrayLike<unknown>;
    const n = lengthOf(row, r);
    if (n !== dim) throw new BadInputError(`ragged embeddings: row ${r} has ${n} values, row 0 has ${dim}; every row needs the same length`);
    if (floatDtype(row)) {
      data.set(row as Float32Array, r * dim);
      continue;
    }
    for (let i = 0; i < dim; i++) {
      const v = row[i];
      if (typeof v !== 'number') throw new BadInputError(`row ${r}, column ${i} is ${v === null ? 'null' : typeof v}, not a number`);
      data[r * dim + i] = v;
    }
  }
  return { dtype: allF32 ? 'float32' : 'float64', rows: rowsIn.length, dim, data };
}

function lengthOf(row: unknown, index: number): number {
  if (Array.isArray(row) || floatDtype(row)) return (row as ArrayLike<unknown>).length;
  throw new BadInputError(`row ${index} is ${row === null ? 'null' : tag(row)}; ${ACCEPTED}`);
}
