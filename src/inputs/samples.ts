import ort = require('onnxruntime-node');
import { BadInputError, formatValue } from '../errors';
import { allocate, blockAllocator, floatToHalf, product, stackRows, takeRows, TypedArray } from './arrays';
import type { InputSpec } from './spec';
import type { IdBound, TableRef } from '../onnx/tables';
import { fillUniform } from '../kernels';
import { WHOLE_RANGE_NOTE } from '../report/synthesis-text';

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

/** How batchproof makes samples when you give none: the seed, the value range and the token vocabulary. */
export interface SynthesisOptions {
  /** Seed for synthesized samples (default 0): the same seed gives the same inputs. */
  seed?: number;
  /** Range of synthesized floats (default [-1, 1]). */
  range?: [number, number];
  /** Synthesized integer ids lie in [0, vocab) (default 100). */
  vocab?: number;
}

export const DEFAULT_VOCAB = 100;

/**
 * How batchproof makes one input's samples (plain JSON, reported as `model.inputs[].synthesis`):
 * - floats: uniform in [range[0], range[1]);
 * - ids: uniform integers in [low, high), inside the table the graph shows them indexing
 *   (`table`), or below the vocab default when no table was found (`note` says why);
 * - mask: ones on every token (the padding layer sets 0 on pads);
 * - positions: 0..len-1 along `axis` (the model's axis), the same for every sample;
 * - bool: seeded random bits, at least one true in a sample of several (a bool that is not named
 *   as a mask is data: all true would make every sample the same);
 * - const: a value shared by the whole batch (`consts`);
 * - user: the user's samples (`source`: a file or 'samples'), with the role batchproof sees in
 *   the input and, for ids, the bounds it would have used.
 */
export type SynthesisFact =
  | { kind: 'floats'; range: [number, number] }
  | { kind: 'ids'; low: number; high: number; table: TableRef | null; note?: string }
  /** `pads`: True marks pads (PyTorch's key_padding_mask), the other way round from attention_mask. */
  | { kind: 'mask'; pads?: true }
  | { kind: 'positions'; axis: number; table: TableRef | null }
  /** `shared`: the values of an input shared by the batch (a flag such as use_cache_branch), so the report says which branch ran. */
  | { kind: 'bool'; shared?: boolean[] }
  | { kind: 'const' }
  | UserFact;

/** A fact batchproof synthesizes from. */
export type SynthesizedFact = Exclude<SynthesisFact, { kind: 'const' } | { kind: 'user' }>;

/** The user's samples for an input, and what the input is ('samples': a batch function's own, given to it as they are). */
export interface UserFact {
  kind: 'user';
  source: string;
  role: SynthesizedFact['kind'] | 'samples';
  /** For ids: the range the model's tables allow (the padding layer draws other token ids from it). */
  low?: number;
  high?: number;
  table?: TableRef | null;
  /** For positions: the model's axis they run along. */
  axis?: number;
}

/** What an input is, whoever made its samples: 'floats', 'ids', 'mask', 'positions', 'bool' or 'const'. */
export function inputRole(fact: SynthesisFact): UserFact['role'] | 'const' {
  return fact.kind === 'user' ? fact.role : fact.kind;
}

/** The user's samples for an input, keeping its role and bounds. */
export function userFact(fact: SynthesizedFact, source: string): UserFact {
  const out: UserFact = { kind: 'user', source, role: fact.kind };
  if (fact.kind === 'ids') Object.assign(out, { low: fact.low, high: fact.high, table: fact.table });
  if (fact.kind === 'positions') Object.assign(out, { axis: fact.axis, table: fact.table });
  return out;
}

const INT_LIMITS: Record<string, number> = { int8: 128, uint8: 256, int16: 32768, uint16: 65536 };
const FLOAT_DTYPES = new Set(['float32', 'float64', 'float16']);

/** Integer inputs named as masks; bool ones too. */
export function isMaskName(name: string): boolean {
  return /mask/i.test(name);
}

/**
 * PyTorch's `src_key_padding_mask` / `key_padding_mask` (and `padding_mask`, `pad_mask`): True
 * on pads, False on tokens, the other way round from an attention_mask (1 on tokens).
 */
export function isPadMaskName(name: string): boolean {
  return /pad(ding)?_?mask/i.test(name);
}

/** A mask's fact: which way round it reads, from its name. */
function maskFact(name: string): Extract<SynthesisFact, { kind: 'mask' }> {
  return isPadMaskName(name) ? { kind: 'mask', pads: true } : { kind: 'mask' };
}

/** Inputs named as positions: `position_ids`, `positions`, `pos_ids`, `pos`. */
export function isPositionName(name: string): boolean {
  return /position/i.test(name) || /(^|[^a-z])pos(_?ids?)?([^a-z]|$)/i.test(name);
}

/** Inputs named as token ids (`input_ids`, `token_ids`, `ids`, `tokens`): ids even in 8 bits. */
function isIdName(name: string): boolean {
  return /(^|[^a-z])ids?$|token|word|vocab/i.test(name);
}

/** Where the ids' bounds come from: the tables found in the graph, or why there are none. */
export type TableSource = { bounds: Record<string, IdBound> } | { reason: string };

/**
 * Decides how each input is synthesized. Ids stay inside the tables the graph shows them
 * indexing; `vocab` narrows that range and is refused where it is larger than every table
 * (those ids would crash onnxruntime's Gather); without a table it sets the range as before.
 *
 * `given` names inputs the user gives samples for: they are described, never refused.
 */
export function planSynthesis(
  specs: readonly InputSpec[],
  tables: TableSource,
  options: SynthesisOptions = {},
  given: ReadonlySet<string> = new Set(),
): Record<string, SynthesizedFact> {
  const range = options.range ?? [-1, 1];
  const bounds = 'bounds' in tables ? tables.bounds : {};
  const facts: Record<string, SynthesizedFact> = {};
  // Named as a mask but indexing a table wider than 0/1 (`masked_lm_ids`): token ids.
  const maskLike = (s: InputSpec) => isMaskName(s.name) && !(bounds[s.name] && bounds[s.name].table.rows > 2);
  const tabled = specs.filter((s) => bounds[s.name] && !given.has(s.name) && !FLOAT_DTYPES.has(s.dtype) && s.dtype !== 'bool' && !maskLike(s) && !isPositionName(s.name));
  if (options.vocab !== undefined && tabled.length > 0) {
    const widest = tabled.reduce((a, b) => (bounds[b.name].high > bounds[a.name].high ? b : a));
    const b = bounds[widest.name];
    if (options.vocab > b.high) {
      throw new BadInputError(
        `vocab (CLI --vocab) ${options.vocab} is larger than the model's table: input '${widest.name}' indexes '${b.table.initializer}' (${b.table.rows} rows, ${b.table.node}), so ids from ${b.high} up fail onnxruntime's Gather; use vocab ${b.high} or less (CLI --vocab ${b.high}), or leave vocab out (the table's rows are used)`,
      );
    }
  }
  for (const spec of specs) {
    const bound = bounds[spec.name];
    // A float attention_mask (1.0 on tokens) is a mask, not data: random floats would weigh tokens at random.
    if (FLOAT_DTYPES.has(spec.dtype) && isMaskName(spec.name)) {
      facts[spec.name] = maskFact(spec.name);
    } else if (FLOAT_DTYPES.has(spec.dtype)) {
      facts[spec.name] = { kind: 'floats', range: [range[0], range[1]] };
    } else if (spec.dtype === 'bool') {
      facts[spec.name] = isMaskName(spec.name) ? maskFact(spec.name) : { kind: 'bool' };
    } else if (maskLike(spec)) {
      facts[spec.name] = maskFact(spec.name);
    } else if (isPositionName(spec.name) && spec.sampleDims.length > 0 && spec.sampleDims.some((_, a) => a !== spec.batchAxis)) {
      const axis = lastIndex(spec.sampleDims.map((_, a) => a !== spec.batchAxis));
      const length = spec.sampleDims[axis];
      if (bound && !given.has(spec.name) && (length - 1 >= bound.high || bound.low > 0)) {
        const declared = spec.declared[axis];
        // A fixed dim takes no --dim: only samples can hold other positions.
        const cure = typeof declared === 'number' && declared >= 0
          ? `the model fixes that axis at ${declared}, so give samples with its positions (--inputs)`
          : `set a shorter sequence with --dim (e.g. --dim ${String(declared || `${spec.name}[${axis}]`)}=${Math.max(1, bound.high)}) or give samples`;
        throw new BadInputError(
          `input '${spec.name}' holds positions 0..${length - 1}, but the table it indexes, '${bound.table.initializer}' (${bound.table.node}), allows ${bound.low}..${bound.high - 1}; ${cure}`,
        );
      }
      facts[spec.name] = { kind: 'positions', axis, table: bound?.table ?? null };
    } else {
      const limit = INT_LIMITS[spec.dtype] ?? Infinity;
      if (bound) {
        const high = Math.min(bound.high, options.vocab ?? Infinity, limit);
        if (!(bound.low < high) && !given.has(spec.name)) {
          throw new BadInputError(
            `input '${spec.name}' indexes '${bound.table.initializer}' (${bound.table.rows} rows, ${bound.table.node}), but no id fits it (ids must lie in [${bound.low}, ${high})); give samples with --inputs`,
          );
        }
        facts[spec.name] = { kind: 'ids', low: bound.low, high, table: bound.table };
      } else if ((spec.dtype === 'uint8' || spec.dtype === 'int8') && options.vocab === undefined && !isIdName(spec.name)) {
        // 8-bit data with no table is pixels or quantized values (NHWC uint8 images), not token ids:
        // the dtype's whole range, so the samples reach the values a real image holds.
        const low = spec.dtype === 'int8' ? -128 : 0;
        facts[spec.name] = { kind: 'ids', low, high: low + 256, table: null, note: `${WHOLE_RANGE_NOTE} ${spec.dtype}, no table found in the graph; set vocab for token ids, CLI --vocab N` };
      } else {
        const vocab = Math.min(options.vocab ?? DEFAULT_VOCAB, limit);
        const why = 'reason' in tables ? tables.reason : 'no table found in the graph';
        const below = options.vocab !== undefined ? `ids below vocab ${vocab}` : `ids below the vocab default ${vocab} (set vocab; CLI --vocab N)`;
        facts[spec.name] = { kind: 'ids', low: 0, high: vocab, table: null, note: `${why}: ${below}` };
      }
    }
  }
  return facts;
}

function lastIndex(flags: boolean[]): number {
  for (let i = flags.length - 1; i >= 0; i--) if (flags[i]) return i;
  return -1;
}

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

/**
 * Samples for a model are an array or a record of arrays: a string would read as a record of
 * inputs named '0', '1', ..., and null as no samples at all (a synthesized check).
 */
export function checkSamplesKind(samples: unknown, inputNames: readonly string[]): void {
  if (typeof samples === 'object' && samples !== null) return;
  throw new BadInputError(
    `samples must be nested number arrays, a typed array, { dtype, dims, data } or an ort.Tensor, or an object of those keyed by input name (${inputNames.join(', ')}), got ${formatValue(samples)}; for example samples: { dtype: 'float32', dims: [4, 8], data: new Float32Array(32) }`,
  );
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
 * Synthesized values as `facts` say (planSynthesis): floats in a range, ids in their table's
 * range, masks of ones, positions 0..len-1. An input without a fact is made as its dtype says.
 */
export function synthesizedPool(options: SynthesisOptions = {}, facts: Record<string, SynthesizedFact> = {}): SamplePool {
  const seed = options.seed ?? 0;
  const [lo, hi] = options.range ?? [-1, 1];
  const cache = new SampleCache();
  const nameHashes = new Map<string, number>();
  const alloc = blockAllocator();
  let scratch = new Float64Array(0);
  // Uniform draws for integer and half inputs, in one buffer reused from sample to sample.
  const uniform = (length: number, sampleSeed: number): Float64Array => {
    if (scratch.length < length) scratch = new Float64Array(Math.max(length, 2 * scratch.length));
    return fillUniform(scratch.subarray(0, length), sampleSeed) as Float64Array;
  };
  return {
    count: null,
    sample(spec, index) {
      const hit = cache.get(spec.name, index);
      if (hit) return hit;
      const fact = facts[spec.name] ?? planSynthesis([spec], { bounds: {} }, options)[spec.name];
      let nameHash = nameHashes.get(spec.name);
      if (nameHash === undefined) {
        nameHash = [...spec.name].reduce((h, c) => (Math.imul(h, 31) + c.charCodeAt(0)) >>> 0, 7);
        nameHashes.set(spec.name, nameHash);
      }
      // In 32-bit arithmetic, as the generator takes it: in doubles, a seed past about 9e9 made
      // the product so large that `+ index` was lost, and every sample came out the same.
      // Bit for bit what the doubles gave wherever they were exact, so seeds keep their samples.
      const sampleSeed = (Math.imul(seed, 1_000_003) + Math.imul(nameHash, 7919) + index) | 0;
      const length = product(spec.sampleDims);
      let out: TypedArray;
      if (fact.kind === 'mask' && FLOAT_DTYPES.has(spec.dtype)) {
        out = alloc(spec.dtype, length);
        // Every token on; a padding mask (True on pads) stays all 0: no pads.
        if (!fact.pads) out.fill((spec.dtype === 'float16' ? floatToHalf(1) : 1) as never);
      } else if (spec.dtype === 'float32' || spec.dtype === 'float64') {
        out = fillUniform(alloc(spec.dtype, length) as Float32Array, sampleSeed, lo, hi);
      } else if (spec.dtype === 'float16') {
        const u = uniform(length, sampleSeed);
        out = alloc(spec.dtype, length);
        for (let i = 0; i < u.length; i++) out[i] = floatToHalf(lo + (hi - lo) * u[i]);
      } else {
        out = alloc(spec.dtype, length);
        const big = spec.dtype === 'int64' || spec.dtype === 'uint64';
        if (fact.kind === 'ids') {
          const u = uniform(length, sampleSeed);
          const span = fact.high - fact.low;
          for (let i = 0; i < u.length; i++) {
            const id = fact.low + Math.floor(u[i] * span);
            out[i] = (big ? BigInt(id) : id) as never;
          }
        } else if (fact.kind === 'positions') {
          // The coordinate along the positions axis: 0..len-1, repeated over the other axes.
          const stride = product(spec.sampleDims.slice(fact.axis + 1));
          const len = spec.sampleDims[fact.axis];
          for (let i = 0; i < length; i++) {
            const p = Math.floor(i / stride) % len;
            out[i] = (big ? BigInt(p) : p) as never;
          }
        } else if (fact.kind === 'bool') {
          const u = uniform(length, sampleSeed);
          let any = false;
          for (let i = 0; i < length; i++) any = (out[i] = u[i] < 0.5 ? 1 : 0) === 1 || any;
          // A mask-like bool with all bits off could blank a sample; one bit alone stays random.
          if (!any && length > 1) out[0] = 1;
        } else if (!(fact.kind === 'mask' && fact.pads)) {
          out.fill((big ? 1n : 1) as never); // masks: every token on (a padding mask: all 0, no pads)
        }
      }
      cache.set(spec.name, index, out);
      return out;
    },
  };
}

/**
 * Samples already made, by input name and index. Every batch asks the pool for each of its rows,
 * so lookups far outnumber samples: a key string built and hashed per lookup showed in the
 * CLI's profile, a map per input keyed by the index number does not, and an array per input (the
 * ids are small whole numbers) less still: a text check's batches look up about 2,000 rows, cold,
 * in 2.26 ms with maps and 1.90 ms with arrays (phase marks, medians of 21 runs).
 */
export class SampleCache {
  private readonly byName = new Map<string, TypedArray[]>();

  get(name: string, index: number): TypedArray | undefined {
    return this.byName.get(name)?.[index];
  }

  set(name: string, index: number, value: TypedArray): void {
    let byIndex = this.byName.get(name);
    if (!byIndex) this.byName.set(name, (byIndex = []));
    byIndex[index] = value;
  }
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
