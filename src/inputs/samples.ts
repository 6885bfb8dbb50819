import * as ort from 'onnxruntime-node';
import { BadInputError, formatValue } from '../errors';
import { allocate, floatToHalf, product, stackRows, takeRows, TypedArray } from './arrays';
import type { InputSpec } from './spec';

/** An array with its dtype and dims, as the io readers return and onnxruntime tensors carry. */
export interface ArrayWithDims {
  dtype?: string;
  type?: string;
  dims: readonly number[];
  data: unknown;
}

/** What users may pass as samples for one input. */
export type SampleArray = ort.Tensor | ArrayWithDims | TypedArray | number[] | number[][] | unknown[];

/** Samples: one array (models with one batched input) or arrays keyed by input name. */
export type Samples = SampleArray | Record<string, SampleArray>;

export interface SynthesisOptions {
  /** Seed for synthesized samples (default 0): the same seed gives the same inputs. */
  seed?: number;
  /** Range of synthesized floats (default [-1, 1]). */
  range?: [number, number];
  /** Synthesized integer ids lie in [0, vocab) (default 100). */
  vocab?: number;
}

export const DEFAULT_VOCAB = 100;

/** A user array normalized to dtype, dims and a typed array. */
export interface NormalizedArray {
  dtype: string;
  dims: number[];
  data: TypedArray;
}

const TYPED_DTYPES: Record<string, string> = {
  Float32Array: 'float32',
  Float64Array: 'float64',
  Int8Array: 'int8',
  Int16Array: 'int16',
  Int32Array: 'int32',
  BigInt64Array: 'int64',
  Uint8Array: 'uint8',
  Uint16Array: 'uint16',
  Uint32Array: 'uint32',
  BigUint64Array: 'uint64',
};

function typedName(x: unknown): string | undefined {
  if (!ArrayBuffer.isView(x)) return undefined;
  // Not instanceof: under Jest, arrays may come from another realm.
  return Object.prototype.toString.call(x).slice(8, -1);
}

/** Nested number arrays to a flat Float32Array with inferred dims; ragged input is an error. */
function fromNested(value: unknown[], label: string): NormalizedArray {
  const dims: number[] = [];
  for (let level: unknown = value; Array.isArray(level); level = level[0]) dims.push(level.length);
  const flat: number[] = [];
  const walk = (node: unknown, depth: number): void => {
    if (depth === dims.length) {
      if (typeof node !== 'number') throw new BadInputError(`${label}: expected numbers in the nested array, found ${typeof node}`);
      flat.push(node);
      return;
    }
    if (!Array.isArray(node) || node.length !== dims[depth]) {
      throw new BadInputError(`${label}: ragged nested array (rows of different lengths at depth ${depth}); give every row the same length`);
    }
    for (const child of node) walk(child, depth + 1);
  };
  walk(value, 0);
  return { dtype: 'float32', dims, data: Float32Array.from(flat) };
}

/** Accepts a tensor, `{dtype, dims, data}`, a typed array or nested numbers. */
export function normalizeArray(value: unknown, label: string, expected?: InputSpec): NormalizedArray {
  if (Array.isArray(value)) return fromNested(value, label);
  const name = typedName(value);
  if (name) {
    const dtype = TYPED_DTYPES[name];
    const data = value as TypedArray;
    if (!dtype) throw new BadInputError(`${label}: unsupported array type ${name}`);
    // A bare typed array: its rows are whole samples of the expected per-sample size.
    const per = expected ? product(expected.sampleDims) : data.length;
    if (expected && data.length % per !== 0) {
      throw new BadInputError(
        `${label}: ${data.length} values do not split into samples of [${expected.sampleDims.join(', ')}] (${per} values each); pass { dims, data } with explicit dims`,
      );
    }
    const dims = expected && expected.batchAxis !== null
      ? expected.sampleDims.map((d, axis) => (axis === expected.batchAxis ? data.length / per : d))
      : [data.length];
    return { dtype, dims, data };
  }
  if (typeof value === 'object' && value !== null && 'dims' in value && 'data' in value) {
    const v = value as ArrayWithDims;
    const dtype = v.dtype ?? v.type;
    const data = v.data as TypedArray;
    if (typeof dtype !== 'string' || !ArrayBuffer.isView(data)) {
      throw new BadInputError(`${label}: expected { dtype, dims, data } with a typed array as data`);
    }
    if (!Array.isArray(v.dims) || !v.dims.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
      throw new BadInputError(`${label}: dims must be a list of whole numbers >= 0, got ${formatValue(v.dims)}; for example { dtype: 'float32', dims: [4, 8], data }`);
    }
    const dims = [...v.dims];
    if (product(dims) !== data.length) {
      throw new BadInputError(`${label}: dims [${dims.join(', ')}] hold ${product(dims)} values but the data has ${data.length}; fix the dims`);
    }
    return { dtype, dims, data };
  }
  throw new BadInputError(`${label}: expected a tensor, { dtype, dims, data }, a typed array or nested number arrays`);
}

/** Splits user samples into a record keyed by input name. */
export function samplesByInput(samples: Samples, batched: readonly InputSpec[]): Record<string, unknown> {
  const single =
    Array.isArray(samples) ||
    ArrayBuffer.isView(samples) ||
    (typeof samples === 'object' && samples !== null && 'dims' in samples && 'data' in samples);
  if (single) {
    if (batched.length !== 1) {
      throw new BadInputError(
        `the model has ${batched.length} batched inputs (${batched.map((s) => s.name).join(', ')}); pass samples as an object keyed by input name`,
      );
    }
    return { [batched[0].name]: samples };
  }
  return samples as Record<string, unknown>;
}

/** Where each sample of each batched input comes from: the user's arrays, or a seeded synthesis. */
export interface SamplePool {
  /** How many user samples there are; null when samples are synthesized on demand. */
  readonly count: number | null;
  sample(spec: InputSpec, index: number): TypedArray;
}

export function userPool(arrays: Record<string, NormalizedArray>, specs: readonly InputSpec[]): SamplePool {
  let count: number | null = null;
  for (const spec of specs) {
    if (spec.batchAxis === null) continue;
    const arr = arrays[spec.name];
    if (!arr) throw new BadInputError(`no samples for input '${spec.name}'; give samples for every batched input (${specs.filter((s) => s.batchAxis !== null).map((s) => s.name).join(', ')})`);
    const n = arr.dims[spec.batchAxis];
    if (count !== null && n !== count) {
      throw new BadInputError(`samples disagree on their count: '${spec.name}' has ${n} along its batch axis, another input ${count}; give the same number for each`);
    }
    count = n;
  }
  if (!count) throw new BadInputError('the samples are empty; give at least one sample');
  const total = count;
  return {
    count: total,
    sample(spec, index) {
      const arr = arrays[spec.name];
      return takeRows(arr.data, arr.dims, spec.batchAxis as number, [index % total], spec.dtype);
    },
  };
}

/**
 * Uniform numbers in [lo, hi) from mulberry32, a small fast PRNG, written straight into `out`:
 * the same seed gives the same samples on every machine. One tight loop per sample (this runs
 * for every synthesized sample; a second pass or a temporary array showed in the CLI's profile).
 */
function fillUniform(out: Float32Array | Float64Array, seed: number, lo = 0, hi = 1): Float32Array | Float64Array {
  const scale = (hi - lo) / 4294967296;
  let a = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = lo + scale * ((t ^ (t >>> 14)) >>> 0);
  }
  return out;
}

/** Synthesized values by dtype: floats in a range, ids below `vocab`, masks of ones. */
export function synthesizedPool(options: SynthesisOptions = {}): SamplePool {
  const seed = options.seed ?? 0;
  const [lo, hi] = options.range ?? [-1, 1];
  const vocab = options.vocab ?? DEFAULT_VOCAB;
  const cache = new Map<string, TypedArray>();
  return {
    count: null,
    sample(spec, index) {
      const key = `${spec.name}#${index}`;
      const hit = cache.get(key);
      if (hit) return hit;
      const nameHash = [...spec.name].reduce((h, c) => (Math.imul(h, 31) + c.charCodeAt(0)) >>> 0, 7);
      const sampleSeed = seed * 1_000_003 + nameHash * 7919 + index;
      const length = product(spec.sampleDims);
      let out: TypedArray;
      if (spec.dtype === 'float32' || spec.dtype === 'float64') {
        out = fillUniform(allocate(spec.dtype, length) as Float32Array, sampleSeed, lo, hi);
      } else {
        const u = fillUniform(new Float64Array(length), sampleSeed);
        out = allocate(spec.dtype, length);
        const isMask = /mask/i.test(spec.name);
        const id = (x: number) => (isMask ? 1 : Math.floor(x * vocab));
        switch (spec.dtype) {
          case 'float16':
            for (let i = 0; i < u.length; i++) out[i] = floatToHalf(lo + (hi - lo) * u[i]);
            break;
          case 'bool':
            out.fill(1 as never);
            break;
          case 'int64':
          case 'uint64':
            for (let i = 0; i < u.length; i++) out[i] = BigInt(id(u[i]));
            break;
          default:
            for (let i = 0; i < u.length; i++) out[i] = id(u[i]);
        }
      }
      cache.set(key, out);
      return out;
    },
  };
}

/** A shared (non-batched) input's value from `consts`, shaped as the model declares it. */
export function constTensor(spec: InputSpec, value: unknown): ort.Tensor {
  const label = `--const ${spec.name}`;
  let data: TypedArray;
  let dims: number[];
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') {
    data = allocate(spec.dtype, 1);
    data[0] = (spec.dtype === 'int64' || spec.dtype === 'uint64'
      ? BigInt(value as number)
      : spec.dtype === 'float16' ? floatToHalf(Number(value)) : Number(value)) as never;
    // A scalar fills the declared shape when the model fixes it ([1] say), else is rank 0.
    dims = spec.declared.every((d) => typeof d === 'number') ? (spec.declared as number[]) : [];
    if (product(dims) !== 1) {
      throw new BadInputError(`${label}=${value}: the model declares shape [${spec.declared.join(', ')}] for it; pass a full array through the API`);
    }
  } else {
    const arr = normalizeArray(value, label);
    data = convertTo(arr, spec.dtype, label);
    dims = arr.dims;
  }
  return new ort.Tensor(spec.dtype as ort.Tensor.Type, data as never, dims);
}

/** Converts a user array to the input's dtype only when that is exact (nested numbers to ints, say). */
function convertTo(arr: NormalizedArray, dtype: string, label: string): TypedArray {
  if (arr.dtype === dtype) return arr.data;
  if (typedName(arr.data) === 'Float32Array' && arr.dtype === 'float32' && !['float32', 'float16'].includes(dtype)) {
    const out = allocate(dtype, arr.data.length);
    for (let i = 0; i < out.length; i++) {
      const v = (arr.data as Float32Array)[i];
      out[i] = (dtype === 'int64' || dtype === 'uint64' ? BigInt(Math.trunc(v)) : v) as never;
    }
    return out;
  }
  throw new BadInputError(`${label}: has dtype ${arr.dtype} but the model expects ${dtype}; convert it (numpy: .astype(np.${dtype === 'bool' ? 'bool_' : dtype}))`);
}

/** Checks a user array against the model input and returns it in the input's dtype. */
export function checkSamples(arr: NormalizedArray, spec: InputSpec, label: string): NormalizedArray {
  return { dtype: spec.dtype, dims: arr.dims, data: convertTo(arr, spec.dtype, label) };
}

/** Stacks samples `ids` into one batch tensor for a batched input; a negative id is a row of zeros (padding). */
export function batchTensor(spec: InputSpec, pool: SamplePool, ids: readonly number[]): ort.Tensor {
  const axis = spec.batchAxis as number;
  const zeros = ids.some((id) => id < 0) ? allocate(spec.dtype, product(spec.sampleDims)) : null;
  const data = stackRows(ids.map((id) => (id < 0 ? (zeros as TypedArray) : pool.sample(spec, id))), spec.sampleDims, axis, spec.dtype);
  const dims = spec.sampleDims.map((d, i) => (i === axis ? ids.length : d));
  return new ort.Tensor(spec.dtype as ort.Tensor.Type, data as never, dims);
}
