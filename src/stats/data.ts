/**
 * Calibration data: arrays, tensors, a .npy/.npz/.safetensors file, or an (async) iterable of
 * batches, turned into one feed per batch. Batches are produced one at a time, so an async
 * iterable is never held in memory whole.
 */
import path = require('path');
import ort = require('onnxruntime-node');
import { BadInputError, formatValue } from '../errors';
import { takeRows, type TypedArray } from '../inputs/arrays';
import { checkSamples, constTensor, normalizeArray, type NormalizedArray, type SampleArray, type Samples } from '../inputs/samples';
import { BATCH_MARK, checkDimNames, type InputSpec } from '../inputs/spec';
import { readArrayFile } from '../io';
import type { ValueInfo } from '../runtime/session';
import { sameBytes } from '../compare/metrics';

/**
 * Calibration data. One array (or tensor, or `{ dtype, dims, data }`) for a model with one
 * batched input, or a record keyed by input name; a path to a .npy (one input), .npz or
 * .safetensors (keyed by input name) file; or an iterable / async iterable of such batches.
 * Whole data sets are split into batches of `batchSize` samples.
 */
export type CalibrationData = string | Samples | Iterable<Samples> | AsyncIterable<Samples>;

/** How calibration data given whole is batched, and the shapes for inputs whose shapes are symbolic. */
export interface DataOptions {
  /** Samples per batch when the data is given whole (default 32). */
  batchSize?: number;
  /** Per-input dims; 'N' marks the batch axis (as in check's `shapes`). */
  shapes?: Record<string, readonly (number | string)[]>;
  /** Sizes of symbolic dims other than the batch axis, for bare typed arrays. */
  dims?: Record<string, number>;
  /** Inputs shared by the whole batch, by name. */
  consts?: Record<string, unknown>;
}

export const DEFAULT_CALIBRATION_BATCH = 32;

export interface FeedBatch {
  feeds: Record<string, ort.Tensor>;
  size: number;
}

interface Spec extends InputSpec {
  /** Declared dims, -1 for symbolic ones. */
  fixed: number[];
}

/** True for data given as a sequence of batches rather than as one set of samples. */
export function isBatchSequence(data: unknown): data is Iterable<Samples> | AsyncIterable<Samples> {
  if (data === null || typeof data !== 'object' || ArrayBuffer.isView(data)) return false;
  if (Array.isArray(data)) {
    // Nested numbers are samples; an array of tensors, typed arrays or records is batches.
    return data.length > 0 && typeof data[0] === 'object' && data[0] !== null && !Array.isArray(data[0]);
  }
  return typeof (data as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function' || typeof (data as Iterable<unknown>)[Symbol.iterator] === 'function';
}

function specsFor(inputs: readonly ValueInfo[], options: DataOptions): Spec[] {
  checkDimNames(inputs, options.dims);
  return inputs.map((input) => {
    if (input.dtype === 'non-tensor') throw new BadInputError(`input '${input.name}' is not a tensor; batchproof feeds tensor inputs only`);
    const override = options.shapes?.[input.name];
    const layout = override ?? input.shape;
    const isConst = options.consts !== undefined && input.name in options.consts;
    let batchAxis: number | null = null;
    if (!isConst) {
      const marked = override ? override.indexOf(BATCH_MARK) : -1;
      batchAxis = marked >= 0 ? marked : layout.findIndex((d) => typeof d === 'string' || (d as number) < 0);
      // A model exported with a fixed batch (say [1, 3, 224, 224]) is fed batches of that size.
      if (batchAxis < 0) batchAxis = layout.length > 0 ? 0 : null;
    }
    const fixed = layout.map((d) => (typeof d === 'number' && d >= 0 ? d : -1));
    const sampleDims = layout.map((d, axis) => {
      if (axis === batchAxis) return 1;
      if (typeof d === 'number' && d >= 0) return d;
      return options.dims?.[String(d)] ?? -1;
    });
    return { name: input.name, dtype: input.dtype, declared: [...input.shape], batchAxis, sampleDims, fixed };
  });
}

/** Where a sample sits in the data, for messages: its index overall, and its batch if batched. */
interface Position {
  /** Samples before this record. */
  offset: number;
  /** The batch index, for data given as batches. */
  batch: number | null;
}

/**
 * Non-finite values make every statistic NaN, and a NaN compares as far from anything: the
 * check would blame the model's statistics for the data. One line naming the samples.
 */
function checkFinite(arr: NormalizedArray, axis: number, what: string, at: Position): void {
  const { data, dtype } = arr;
  if (dtype !== 'float32' && dtype !== 'float64' && dtype !== 'float16') return;
  let stride = 1;
  for (let a = axis + 1; a < arr.dims.length; a++) stride *= arr.dims[a] as number;
  const rows = arr.dims[axis] as number;
  let count = 0;
  const samples: number[] = [];
  for (let i = 0; i < data.length; i++) {
    // float16 is raw bits: exponent all ones is Infinity or NaN.
    const bad = dtype === 'float16' ? ((data as Uint16Array)[i] & 0x7c00) === 0x7c00 : !Number.isFinite((data as Float32Array)[i]);
    if (!bad) continue;
    count++;
    const sample = Math.floor(i / stride) % rows;
    if (!samples.includes(sample) && samples.length < 4) samples.push(sample);
  }
  if (count === 0) return;
  const list = `${samples.join(', ')}${samples.length >= 4 ? ', ...' : ''}`;
  const where = at.batch === null
    ? `sample${samples.length === 1 ? '' : 's'} ${list}`
    : `sample${samples.length === 1 ? '' : 's'} ${list} of the batch (from sample ${at.offset + (samples[0] as number)} overall)`;
  throw new BadInputError(
    `${what}: ${count} value${count === 1 ? ' is' : 's are'} not finite (NaN or Infinity), in ${where}; the statistics of such data are NaN, so nothing can be compared or written: drop or repair those samples (numpy: np.isfinite(x).all())`,
  );
}

/**
 * Watches the samples go by: statistics need at least two samples, and samples that are all the
 * same (bitwise, every batched input) have no spread, so every variance is 0 (stats would call
 * every layer stale, recalibrate would write running_var = 0).
 */
const NEED_TWO = 'statistics need at least 2 (a variance of one sample says nothing about the data): give a few hundred representative samples';

/** An empty data set needs 2 samples, as a set of one does; an empty batch of several, one. */
function noSamples(label: string, at: Position): BadInputError {
  return new BadInputError(`${label}: holds no samples; ${at.batch === null ? NEED_TWO : 'give each batch at least one sample'}`);
}

class SampleWatch {
  samples = 0;
  private first: Map<string, Uint8Array> | null = null;
  private varied = false;

  see(arrays: Record<string, NormalizedArray>, specs: readonly Spec[], count: number): void {
    if (!this.varied) {
      for (const spec of specs) {
        const arr = arrays[spec.name];
        if (!arr || spec.batchAxis === null) continue;
        for (let k = 0; k < count && !this.varied; k++) {
          const row = rowBytes(arr, spec.batchAxis, k);
          this.first ??= new Map();
          const first = this.first.get(spec.name);
          if (!first) this.first.set(spec.name, row.slice());
          else if (!sameBytes(first, row)) this.varied = true;
        }
        if (this.varied) break;
      }
    }
    this.samples += count;
  }

  /** Throws when the data seen cannot give statistics. */
  finish(label: string): void {
    if (this.samples < 2) {
      throw new BadInputError(`${label}: holds ${this.samples === 0 ? 'no samples' : `${this.samples} sample${this.samples === 1 ? '' : 's'}`}; ${NEED_TWO}`);
    }
    if (!this.varied) {
      throw new BadInputError(`${label}: all ${this.samples} samples are identical, so every variance is 0 (stats would call every layer stale, recalibrate would write running_var = 0); give varied, representative samples`);
    }
  }
}

function rowBytes(arr: NormalizedArray, axis: number, k: number): Uint8Array {
  const row = axis === 0
    ? arr.data.subarray((k * arr.data.length) / (arr.dims[0] as number), ((k + 1) * arr.data.length) / (arr.dims[0] as number))
    : takeRows(arr.data, arr.dims, axis, [k], arr.dtype);
  return new Uint8Array(row.buffer, row.byteOffset, row.byteLength);
}

/** The samples of one record, checked against the model and converted to its dtypes. */
function normalizeRecord(samples: Samples, specs: Spec[], label: string, at: Position = { offset: 0, batch: null }): { arrays: Record<string, NormalizedArray>; count: number } {
  const batched = specs.filter((s) => s.batchAxis !== null);
  const single =
    Array.isArray(samples) ||
    ArrayBuffer.isView(samples) ||
    (typeof samples === 'object' && samples !== null && 'dims' in samples && 'data' in samples);
  let record: Record<string, unknown>;
  if (single) {
    if (batched.length !== 1) {
      throw new BadInputError(`${label}: the model has ${batched.length} batched inputs (${batched.map((s) => s.name).join(', ')}); give the data as arrays keyed by input name`);
    }
    record = { [batched[0].name]: samples };
  } else if (typeof samples === 'object' && samples !== null) {
    record = samples as Record<string, unknown>;
  } else {
    throw new BadInputError(`${label}: expected arrays, tensors or a record of them keyed by input name, got ${typeof samples}`);
  }
  const arrays: Record<string, NormalizedArray> = {};
  let count: number | null = null;
  for (const [name, value] of Object.entries(record)) {
    const spec = specs.find((s) => s.name === name);
    if (!spec) {
      throw new BadInputError(`${label}: holds '${name}', which is not an input of the model; name the arrays after the inputs: ${specs.map((s) => s.name).join(', ')}`);
    }
    if (spec.batchAxis === null) continue;
    const what = `${label} '${name}'`;
    const bare = ArrayBuffer.isView(value) && spec.sampleDims.some((d) => d < 0);
    if (bare) throw new BadInputError(`${what}: a bare typed array cannot say the model's symbolic dims; pass { dtype, dims, data }`);
    const given = normalizeArray(value as SampleArray, what, spec);
    // `[]`, or an array of shape [0, ...]: no samples, said as such rather than by its dims.
    if (given.data.length === 0 && (given.dims.length === 1 || given.dims[spec.batchAxis] === 0)) throw noSamples(what, at);
    // Before the conversion to the model's dtype: NaN has no integer form.
    if (given.dims.length > spec.batchAxis) checkFinite(given, spec.batchAxis, what, at);
    const arr = checkSamples(given, spec, what);
    checkDims(arr.dims, spec, what);
    const n = arr.dims[spec.batchAxis] as number;
    if (count !== null && n !== count) {
      throw new BadInputError(`${label}: inputs disagree on the number of samples ('${name}' has ${n}, another input ${count}); give the same number for each`);
    }
    count = n;
    arrays[name] = arr;
  }
  for (const spec of batched) {
    if (!arrays[spec.name]) throw new BadInputError(`${label}: no data for input '${spec.name}'; give data for every batched input (${batched.map((s) => s.name).join(', ')})`);
  }
  if (!count) throw noSamples(label, at);
  return { arrays, count };
}

function checkDims(dims: readonly number[], spec: Spec, what: string): void {
  const expected = `[${spec.declared.join(', ')}]`;
  if (spec.declared.length > 0 && dims.length !== spec.declared.length) {
    throw new BadInputError(`${what}: has ${dims.length} dims [${dims.join(', ')}] but the model input has ${spec.declared.length} ${expected}; reshape it`);
  }
  spec.fixed.forEach((d, axis) => {
    if (d >= 0 && axis !== spec.batchAxis && dims[axis] !== d) {
      throw new BadInputError(`${what}: has dim ${dims[axis]} at axis ${axis} where the model fixes ${d} (model input ${expected}); reshape it`);
    }
  });
}

function toTensor(arr: NormalizedArray): ort.Tensor {
  return new ort.Tensor(arr.dtype as ort.Tensor.Type, arr.data as never, arr.dims);
}

function sharedFeeds(specs: Spec[], options: DataOptions): Record<string, ort.Tensor> {
  const shared: Record<string, ort.Tensor> = {};
  for (const spec of specs) {
    if (spec.batchAxis !== null) continue;
    if (!(options.consts && spec.name in options.consts)) {
      throw new BadInputError(`input '${spec.name}' has no batch axis; give its value with consts (CLI: --const ${spec.name}=VALUE)`);
    }
    shared[spec.name] = constTensor(spec, options.consts[spec.name]);
  }
  return shared;
}

/** Splits a whole data set into batches of at most `batchSize` samples (a fixed batch dim wins). */
function* split(arrays: Record<string, NormalizedArray>, count: number, specs: Spec[], batchSize: number, shared: Record<string, ort.Tensor>): Generator<FeedBatch> {
  const batched = specs.filter((s) => s.batchAxis !== null);
  const fixedBatch = batched.map((s) => s.fixed[s.batchAxis as number]).find((d) => d !== undefined && d >= 0);
  const size = fixedBatch ?? batchSize;
  if (fixedBatch !== undefined && count % fixedBatch !== 0) {
    throw new BadInputError(`the model's batch dim is fixed at ${fixedBatch}, and ${count} samples do not split into batches of ${fixedBatch}; give a multiple of ${fixedBatch}`);
  }
  for (let start = 0; start < count; start += size) {
    const rows = Array.from({ length: Math.min(size, count - start) }, (_, i) => start + i);
    const feeds: Record<string, ort.Tensor> = { ...shared };
    for (const spec of batched) {
      const arr = arrays[spec.name] as NormalizedArray;
      const axis = spec.batchAxis as number;
      const whole = rows.length === count;
      const data: TypedArray = whole ? arr.data : takeRows(arr.data, arr.dims, axis, rows, arr.dtype);
      feeds[spec.name] = toTensor({ dtype: arr.dtype, dims: arr.dims.map((d, i) => (i === axis ? rows.length : d)), data });
    }
    yield { feeds, size: rows.length };
  }
}

/** Reads a data file into a record keyed by input name. */
async function readDataFile(file: string, specs: Spec[]): Promise<Record<string, unknown>> {
  const arrays = await readArrayFile(file);
  const keys = Object.keys(arrays);
  const names = specs.map((s) => s.name);
  const batched = specs.filter((s) => s.batchAxis !== null);
  if (path.extname(file).toLowerCase() === '.npy' && keys.length === 1 && !names.includes(keys[0])) {
    if (batched.length !== 1) {
      throw new BadInputError(`${file}: a .npy holds one array but the model has ${batched.length} batched inputs (${batched.map((s) => s.name).join(', ')}); use an .npz keyed by input name`);
    }
    return { [batched[0].name]: arrays[keys[0]] };
  }
  return arrays;
}

/**
 * Feeds for every batch of the calibration data, one at a time, checked against the model's
 * inputs (dtype, rank, fixed dims): a mismatch is a BadInputError naming the input and the fix.
 * So is data no statistic can come from: NaN or Infinity, fewer than 2 samples, or samples all
 * identical. `label` names arrays the caller read from a file.
 */
export async function* calibrationBatches(data: CalibrationData, inputs: readonly ValueInfo[], options: DataOptions = {}, label?: string): AsyncGenerator<FeedBatch> {
  const batchSize = options.batchSize ?? DEFAULT_CALIBRATION_BATCH;
  if (!(Number.isInteger(batchSize) && batchSize > 0)) {
    throw new BadInputError(`batchSize must be a positive integer, got ${formatValue(batchSize)}; for example --batch-size 32`);
  }
  const specs = specsFor(inputs, options);
  const shared = sharedFeeds(specs, options);
  const watch = new SampleWatch();
  if (typeof data === 'string') {
    const record = await readDataFile(data, specs);
    const { arrays, count } = normalizeRecord(record as Samples, specs, data);
    watch.see(arrays, specs, count);
    watch.finish(data);
    yield* split(arrays, count, specs, batchSize, shared);
    return;
  }
  if (isBatchSequence(data)) {
    let index = 0;
    for await (const batch of data as AsyncIterable<Samples>) {
      const { arrays, count } = normalizeRecord(batch, specs, `calibration batch ${index}`, { offset: watch.samples, batch: index });
      index++;
      watch.see(arrays, specs, count);
      yield* split(arrays, count, specs, Number.MAX_SAFE_INTEGER, shared);
    }
    if (index === 0) throw new BadInputError('the calibration data holds no batches; give at least one');
    // Batches arrive one at a time, so this can only be told at the end (before any result).
    watch.finish(`the calibration data (${index} batch${index === 1 ? '' : 'es'})`);
    return;
  }
  if (data === undefined || data === null) throw new BadInputError('no calibration data given');
  // Arrays read from a file by the caller keep the file's name in messages.
  const name = label ?? 'calibration data';
  const { arrays, count } = normalizeRecord(data as Samples, specs, name);
  watch.see(arrays, specs, count);
  watch.finish(name);
  yield* split(arrays, count, specs, batchSize, shared);
}
