/**
 * The user's own batch function as a runner: `fn(batch)` takes an array of samples (texts for a
 * transformers.js pipeline, images, objects) and returns, for the whole batch, a tensor with the
 * batch first, `number[][]`, `{ dims, data }`, or an object of those (several outputs). The check
 * runs the same plan on it as on a model: it sees the function through a handle whose session
 * calls the function, with one input, `samples`, whose values are the samples themselves.
 */
import ort = require('onnxruntime-node');
// Node's own timers, not the globals: a test's fake timers (jest.useFakeTimers) replace those,
// and would never fire a call's timeout.
import { clearTimeout, setTimeout } from 'timers';
import { BadInputError, formatValue } from '../errors';
import type { TypedArray } from '../inputs/arrays';
import type { PreparedInputs } from '../inputs/prepare';
import type { SamplePool } from '../inputs/samples';
import type { InputSpec } from '../inputs/spec';
import type { ModelHandle } from './handle';
import { importEsm } from './esm';
import { timedRun } from './runner';
import { INPUT_OPTION_KEYS } from '../options';
import { SESSION_OPTION_KEYS, type SessionSettings } from './settings';
import type { ValueInfo } from './session';

/**
 * An array with a row per sample, as fromRows reads it: a number per sample, rows of numbers,
 * rows that are typed arrays (`embeddings.map((e) => e.data)`), or deeper (number[][][]).
 */
export type BatchRows = readonly (number | ArrayLike<number> | ArrayLike<bigint> | BatchRows)[];
/** What a batch function returns for one batch (a transformers.js Tensor's data may be a BigInt64Array). */
export type BatchOutput = ort.Tensor | number[][] | BatchRows | { dims: readonly number[]; data: ArrayLike<number> | ArrayLike<bigint> } | Record<string, unknown>;
/**
 * The user's batch function: an array of samples in, the batch's outputs (batch first) out. Its
 * parameter may be typed as its samples are (`async (texts: string[]) => ...`): declared as a
 * method, whose parameter TypeScript checks bivariantly, since strict function types would
 * refuse a function of string[] where one of unknown[] is asked for.
 */
export type BatchFunction = { bivarianceHack(batch: unknown[]): BatchOutput | Promise<BatchOutput> }['bivarianceHack'];

/** The one input of a function runner: its values are the user's samples, one per row. */
export const SAMPLES_INPUT = 'samples';
/** The dtype that marks it (not an onnxruntime type: run.ts feeds the values as they are). */
export const SAMPLE_VALUES = 'sample-values';

/**
 * A function check's samples, where they came from, its filler, and each sample's key once made
 * (sampleKey: a JSON text of each image can be long), with the identities its keys numbered
 * (`refs`: a key made again must number them alike). `watch`: where samples are objects, which
 * the function could change in place (see watchSamples).
 */
interface FunctionEntry {
  samples: unknown[];
  from: string;
  filler: unknown;
  keys?: string[];
  refs: Map<unknown, number>;
  watch: SampleWatch | null;
  /** Sample 0 changed by the very first call (a cache set on it, say): said once the check has its verdict. */
  firstChange?: string | null;
}
const functionHandles = new WeakMap<ModelHandle, FunctionEntry>();

/**
 * The module a function was loaded from, the file samples were read from (the CLI's
 * loadBatchFunction and readSamplesFile): its reports name them as the user gave them, where a
 * function from the API is `<function name>` and its samples 'samples'.
 */
const loadedFrom = new WeakMap<object, string>();

export function isBatchFunction(x: unknown): x is BatchFunction {
  return typeof x === 'function';
}

export function isFunctionHandle(handle: ModelHandle): boolean {
  return functionHandles.has(handle);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);
}

function isTensorLike(v: unknown): v is { dims: readonly number[]; data: ArrayLike<number> } {
  return isPlainObject(v) && Array.isArray(v.dims) && (ArrayBuffer.isView(v.data) || Array.isArray(v.data));
}

/**
 * Integer typed arrays by their tag, and the onnxruntime dtype each stays: compared exactly, as a
 * model's integer outputs are. As doubles, int64 values past 2^53 would round (2^60 + 1 reads as
 * 2^60) and a float tolerance's rtol would let int32 values near 2^31 differ by hundreds.
 */
const INTEGER_DTYPES: Record<string, string> = {
  '[object Int8Array]': 'int8',
  '[object Uint8Array]': 'uint8',
  '[object Uint8ClampedArray]': 'uint8',
  '[object Int16Array]': 'int16',
  '[object Uint16Array]': 'uint16',
  '[object Int32Array]': 'int32',
  '[object Uint32Array]': 'uint32',
  '[object BigInt64Array]': 'int64',
  '[object BigUint64Array]': 'uint64',
};
const INTEGER_ARRAYS: Record<string, { from(values: ArrayLike<number>): TypedArray }> = {
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array as never,
  uint64: BigUint64Array as never,
};

/**
 * An array with a row per sample: number[][] (or deeper, rectangular: [N, S, D] as number[][][]),
 * rows that are typed arrays (`embeddings.map((e) => e.data)`), or a number per sample. Plain
 * numbers are JavaScript doubles and are compared as float64: rounded to float32, two answers
 * that differ below float32's precision would be called bitwise equal. Rows that are all
 * Float32Array stay float32 (a tensor's own data), rows all of one integer type stay that type
 * (INTEGER_DTYPES); other typed rows are float64.
 */
function fromRows(rows: unknown[], name: string): { dims: number[]; data: TypedArray; dtype: string } {
  // By tag, not instanceof: under Jest a row may come from another realm.
  const isTypedRow = (v: unknown): boolean => ArrayBuffer.isView(v) && Object.prototype.toString.call(v) !== '[object DataView]';
  const notNumeric = () =>
    new BadInputError(`the batch function's output '${name}' is not numeric: expected number[][] (a row of numbers per sample, or rows that are typed arrays), got ${formatValue(rows)}`);
  const shapeOf = (v: unknown): number[] => {
    if (typeof v === 'number') return [];
    // `Promise.all(texts.map((t) => extractor(t)))`: a tensor per sample, not rows of numbers.
    if (v !== rows && (isTensorLike(v) || (typeof v === 'object' && v !== null && 'dims' in v && 'data' in v))) {
      throw new BadInputError(`the batch function's output '${name}' is an array of tensors, one per sample: return one tensor for the whole batch, or their data as rows (tensors.map((t) => t.data))`);
    }
    if (isTypedRow(v)) return [(v as unknown as ArrayLike<unknown>).length];
    if (Array.isArray(v)) return v.length === 0 ? [0] : [v.length, ...shapeOf(v[0])];
    throw notNumeric();
  };
  const dims = shapeOf(rows);
  // Written in place, the size known from the dims: a growing number[] of every value (25M for
  // [512, 128, 384] rows) and a call per number took six times the function's own time.
  const values = new Float64Array(dims.reduce((a, b) => a * b, 1));
  let at = 0;
  // The type every row has, while all are typed arrays of one type; null once they are not.
  let rowTag: string | null | undefined = dims.length > 1 ? undefined : null;
  // 64-bit integer rows, also kept as they are: as doubles they round past 2^53.
  let big: BigInt64Array | BigUint64Array | null = null;
  const last = dims.length - 1;
  const walk = (v: unknown, depth: number): void => {
    const typed = isTypedRow(v);
    const length = typed || Array.isArray(v) ? (v as ArrayLike<unknown>).length : -1;
    if (length !== dims[depth]) {
      throw new BadInputError(`the batch function's output '${name}' has rows of different lengths or depths; return one row of the same shape per sample`);
    }
    if (typed) {
      if (depth !== last) throw notNumeric();
      const row = v as unknown as ArrayLike<number | bigint>;
      const tag = Object.prototype.toString.call(v);
      rowTag = rowTag === undefined || rowTag === tag ? tag : null;
      if (rowTag === '[object BigInt64Array]' || rowTag === '[object BigUint64Array]') {
        big ??= rowTag === '[object BigInt64Array]' ? new BigInt64Array(values.length) : new BigUint64Array(values.length);
        for (let i = 0; i < length; i++) big[at + i] = row[i] as bigint;
      }
      for (let i = 0; i < length; i++) values[at++] = Number(row[i]);
      return;
    }
    const items = v as unknown[];
    if (depth === last) {
      // Plain numbers (the leaves of this array) are doubles.
      rowTag = null;
      for (let i = 0; i < length; i++) {
        const x = items[i];
        if (typeof x !== 'number') throw notNumeric();
        values[at++] = x;
      }
      return;
    }
    for (let i = 0; i < length; i++) walk(items[i], depth + 1);
  };
  walk(rows, 0);
  // Set inside walk, which TypeScript's narrowing does not follow.
  const tag = rowTag as string | null | undefined;
  if (tag === '[object Float32Array]') return { dims, data: Float32Array.from(values), dtype: 'float32' };
  const integer = tag ? INTEGER_DTYPES[tag] : undefined;
  if (integer) return { dims, data: (big as BigInt64Array | null) ?? INTEGER_ARRAYS[integer].from(values), dtype: integer };
  return { dims, data: values, dtype: 'float64' };
}

/** One output as a tensor, checked: numeric, the batch first with one row per sample. */
function toTensor(value: unknown, name: string, rows: number): ort.Tensor {
  let dims: number[];
  let data: TypedArray;
  let dtype: string;
  if (Array.isArray(value)) {
    ({ dims, data, dtype } = fromRows(value, name));
  } else if (isTensorLike(value) || (typeof value === 'object' && value !== null && 'dims' in value && 'data' in value)) {
    const t = value as { dims: readonly number[]; data: ArrayLike<number>; type?: unknown };
    if (!Array.isArray(t.dims) || t.dims.length === 0 || !t.dims.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new BadInputError(`the batch function's output '${name}' has dims ${formatValue(t.dims)}: give whole numbers with the batch first, one row per sample (e.g. [${rows}, 384])`);
    }
    dims = [...t.dims];
    const raw = t.data;
    const tag = Object.prototype.toString.call(raw);
    // Copied: a function may hand back the same buffer every call (a runtime's preallocated
    // output, a pipeline's scratch array), and its next call would rewrite the rows kept from this one.
    if (tag === '[object Float64Array]') (data = (raw as Float64Array).slice()), (dtype = 'float64');
    else if (tag === '[object Float32Array]') (data = (raw as Float32Array).slice()), (dtype = 'float32');
    // A float16 tensor (onnxruntime's, transformers.js') holds its values as Uint16 bits: read
    // as integers they would be compared as bit patterns (1.0 as 15360), so they stay float16.
    else if (t.type === 'float16' && tag === '[object Uint16Array]') (data = (raw as unknown as Uint16Array).slice()), (dtype = 'float16');
    // A bool tensor's Uint8Array stays bool; other integers their own type (INTEGER_DTYPES).
    else if (INTEGER_DTYPES[tag]) (dtype = t.type === 'bool' && tag === '[object Uint8Array]' ? 'bool' : INTEGER_DTYPES[tag]), (data = tag === '[object Uint8ClampedArray]' ? Uint8Array.from(raw as unknown as Uint8ClampedArray) : (raw as unknown as TypedArray).slice());
    else if (Array.isArray(raw) || ArrayBuffer.isView(raw)) {
      // Plain numbers (and any other view) as float64: exact for doubles.
      if (Array.isArray(raw) && !raw.every((x) => typeof x === 'number')) throw new BadInputError(`the batch function's output '${name}' has data that is not all numbers, got ${formatValue(raw)}`);
      (data = Float64Array.from(raw as ArrayLike<number | bigint>, Number)), (dtype = 'float64');
    } else throw new BadInputError(`the batch function's output '${name}' has no numeric data, got ${formatValue(raw)}`);
    if (dims.reduce((a, b) => a * b, 1) !== data.length) throw new BadInputError(`the batch function's output '${name}' has dims [${dims.join(', ')}] but ${data.length} values`);
  } else if (ArrayBuffer.isView(value) && 'length' in value) {
    // A typed array alone has no dims to say where the batch is (formatValue would show it as an object).
    const kind = Object.prototype.toString.call(value).slice(8, -1);
    const n = (value as unknown as ArrayLike<unknown>).length;
    throw new BadInputError(`the batch function returned a ${kind} of ${n} value${n === 1 ? '' : 's'} for '${name}', with no dims: return { dims: [${rows}, ...], data } (the batch first), or an array with a row (or a number) per sample`);
  } else {
    throw new BadInputError(`the batch function returned ${formatValue(value)} for '${name}'; return a tensor with the batch first, number[][], { dims, data } or an object of those`);
  }
  if (dims[0] !== rows) {
    throw new BadInputError(`the batch function returned ${dims[0]} row${dims[0] === 1 ? '' : 's'} for '${name}' on a batch of ${rows} sample${rows === 1 ? '' : 's'}; return one row per sample, the batch first`);
  }
  return new ort.Tensor(dtype as 'float32', data as Float32Array, dims);
}

/**
 * A transformers.js pipeline passed as the function itself: a callable object with its task
 * (`pipeline('feature-extraction', ...)` is a FeatureExtractionPipeline whose name is 'closure').
 */
function pipelineTask(fn: unknown): string | null {
  const task = (fn as { task?: unknown; tokenizer?: unknown } | null)?.task;
  return typeof task === 'string' && typeof fn === 'function' && 'model' in fn ? task : null;
}

/**
 * An output whose dims after the batch differ from those sample 0 alone gave. The usual case is
 * per-token outputs ([batch, tokens, hidden]: a feature-extraction pipeline without pooling)
 * padded to each batch's longest text: the line says so, and how to pool.
 */
function shapeChangeLine(fn: BatchFunction, learned: ValueInfo, dims: readonly number[], ids: readonly number[], count: number): string {
  const shown = (d: readonly (number | string | null)[]) => `[${d.join(', ')}]`;
  const first = [1, ...learned.shape.slice(1)];
  const where = ids.length === 1 ? (ids[0] < 0 ? 'the filler alone' : `sample ${ids[0] % count} alone`) : `a batch of ${ids.length}`;
  const head = `the batch function's output '${learned.name}' is ${shown(dims)} on ${where} but ${shown(first)} on sample 0 alone: only the first axis may follow the batch`;
  const task = pipelineTask(fn);
  if (task === 'feature-extraction') {
    return `${head}; a transformers.js feature-extraction pipeline called with no options returns token embeddings [batch, tokens, hidden], as many tokens as the batch's longest text: check a function that pools, (texts) => extractor(texts, { pooling: 'mean', normalize: true })`;
  }
  // The same rank with an inner axis that moved: a sequence axis following the batch's longest sample.
  const sequence = dims.length === first.length && dims.length >= 3;
  if (sequence) {
    return `${head}; per-token outputs ([batch, tokens, hidden]) have as many tokens as the batch's longest sample: pool inside the function (transformers.js: extractor(texts, { pooling: 'mean' }), or 'cls'), or pad every batch to one fixed length`;
  }
  return `${head}; return the same dims after the batch for every batch (pad or pool inside the function)`;
}

class StalledError extends BadInputError {}

/**
 * How long one call of a batch function (or the loading of its module) may take, by default:
 * 120 s. The first call may load the model (a transformers.js pipeline reads its tokenizer and
 * weights, and downloads them the first time), and a batch of 64 long texts through a base-size
 * model on a slow CPU takes tens of seconds; a call still pending after two minutes has almost
 * surely lost its promise while something else (a timer, a socket) keeps Node alive, and
 * without a limit the check would wait forever.
 */
export const DEFAULT_CALL_TIMEOUT_MS = 120_000;

/** A timeout in words: 300 ms, 2.5 s, 120 s. */
function formatMs(ms: number): string {
  // To 3 digits both ways: --call-timeout 0.7s is 700.0000000000001 ms in floats.
  return ms < 1000 ? `${Number(ms.toPrecision(3))} ms` : `${Number((ms / 1000).toPrecision(3))} s`;
}

/**
 * `value` once it settles; a StalledError saying `stalled` when Node runs out of work while it
 * is pending: a promise that nothing can settle any more (it waits on no timer, socket or file),
 * which would otherwise end the process with exit 0 and no report, a silent pass. Node says so
 * with 'beforeExit', emitted when its event loop is empty (heard while a function runner is
 * open, openRunner, or else while the promise is pending); a function still working (a pending
 * timer, a socket, a worker) keeps the loop alive and is waited for, up to `timeoutMs`, then a
 * StalledError saying `late`. The timer is made only for a promise, never keeps the process
 * alive, and is cleared when the promise settles.
 */
function unlessStalled<T>(value: T | Promise<T>, stalled: () => string, timeoutMs: number, late: () => string): Promise<T> {
  if (typeof (value as { then?: unknown } | null)?.then !== 'function') return Promise.resolve(value);
  return new Promise<T>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    // Outside a runner (loading the function's module), heard for this promise alone.
    const alone = openRunners === 0;
    const end = () => {
      if (stalledCalls.delete(stall) && alone) openRunner(false);
      if (timer !== undefined) clearTimeout(timer);
    };
    const stall = () => (end(), reject(new StalledError(stalled())));
    if (alone) openRunner(true);
    stalledCalls.add(stall);
    // setTimeout takes at most 2^31 - 1 ms (about 24 days; a longer delay fires at once): beyond is no limit.
    if (timeoutMs <= 2 ** 31 - 1) timer = setTimeout(() => (end(), reject(new StalledError(late()))), timeoutMs).unref();
    Promise.resolve(value).then(
      (v) => (end(), resolve(v)),
      (e) => (end(), reject(e)),
    );
  });
}

/** The calls pending now, each rejected if Node's event loop empties before it settles. */
const stalledCalls = new Set<() => void>();
const onEmptyLoop = () => [...stalledCalls].forEach((stall) => stall());
let openRunners = 0;

/**
 * One 'beforeExit' listener while any function runner is open, none otherwise (nothing left on a
 * user's process once its checks end: they close their runners). Per runner, not per call: adding
 * and removing it around each call cost a check of 40 calls about 0.3 ms (Node tells its signal
 * handling of every listener added to process).
 */
function openRunner(open: boolean): void {
  openRunners += open ? 1 : -1;
  if (open && openRunners === 1) process.on('beforeExit', onEmptyLoop);
  if (!open && openRunners === 0) process.off('beforeExit', onEmptyLoop);
}

const NOTHING_TO_WAIT_ON = 'it was waiting on nothing (no timer, file or socket) that could settle it';

/** The function's result for a batch, as named tensors. */
async function callFunction(fn: BatchFunction, batch: unknown[], timeoutMs: number, index?: number): Promise<Record<string, ort.Tensor>> {
  // Taken before the call: a function may empty or reorder the array it is given.
  const size = batch.length;
  // A throw on one sample alone is that sample's: named, so one bad entry of a long samples file (a null, a number) is found.
  const thrownOn = size === 1 && index !== undefined ? (index < 0 ? `the filler alone (${formatValue(batch[0])})` : `sample ${index} alone (${formatValue(batch[0])})`) : `a batch of ${size}`;
  let result: unknown;
  try {
    result = await unlessStalled(
      fn(batch),
      () => `the batch function never finished on a batch of ${size}: its promise neither resolved nor rejected, and ${NOTHING_TO_WAIT_ON}; resolve or reject it`,
      timeoutMs,
      () => `the batch function did not settle within ${formatMs(timeoutMs)} on a batch of ${size}: its promise neither resolved nor rejected; make it settle, or raise callTimeoutMs (CLI --call-timeout) if a call takes longer`,
    );
  } catch (e) {
    if (e instanceof StalledError) throw e;
    const why = String((e as Error)?.message ?? e).replace(/\s+/g, ' ').trim();
    throw new BadInputError(`the batch function threw on ${thrownOn}: ${why || `${e instanceof Error ? e.name : formatValue(e)} with no message`}`);
  }
  // A Map's outputs are entries, not keys: read as an object it would be empty.
  if (Object.prototype.toString.call(result) === '[object Map]') throw new BadInputError('the batch function returned a Map; return a plain object of outputs ({ name: tensor }), e.g. Object.fromEntries(map)');
  const named = isPlainObject(result) && !('dims' in result && 'data' in result) ? result : { output: result };
  if (Object.keys(named).length === 0) throw new BadInputError('the batch function returned an empty object: nothing to compare');
  try {
    return Object.fromEntries(Object.entries(named).map(([name, v]) => [name, toTensor(v, name, size)]));
  } catch (e) {
    if (e instanceof BadInputError) throw e;
    // A getter of the returned value threw: a tensor whose data sit on a GPU, say.
    throw new BadInputError(`the batch function's outputs on a batch of ${size} could not be read: ${String((e as Error)?.message ?? e).replace(/\s+/g, ' ').trim()}; return values on the CPU (a GPU tensor: await tensor.getData())`);
  }
}

/**
 * The function as a runner: one call on the first sample learns its outputs (names, dtype and
 * the dims after the batch), and every later call must keep those dims. Filler rows (padTo, the
 * recipes' padded batches) are `filler`, the user's own padding sample; without one they are refused.
 */
export async function functionHandle(
  fn: BatchFunction,
  samples: unknown,
  { filler, callTimeoutMs = DEFAULT_CALL_TIMEOUT_MS, distinct = false }: { filler?: unknown; callTimeoutMs?: number; distinct?: boolean } = {},
): Promise<ModelHandle> {
  if (!Array.isArray(samples) || samples.length === 0) {
    throw new BadInputError(`a batch function needs samples: an array of the values it takes (texts, images, objects), got ${formatValue(samples)}; e.g. checkBatchInvariance(embed, { samples: ['a text', 'another'] })`);
  }
  const list = [...samples];
  const entry: FunctionEntry = { samples: list, from: loadedFrom.get(samples) ?? 'samples', filler, refs: new Map(), watch: null };
  entry.watch = watchSamples(entry);
  const watch = entry.watch;
  // Samples that cannot differ in any batch (one, or all the same), refused before the first
  // call, which may load a model; the plan's own samples are judged once it is made.
  if (distinct) assertSamplesDiffer(entry, list.map((_, i) => i));
  openRunner(true);
  let first: Record<string, ort.Tensor>;
  try {
    first = await callFunction(fn, [list[0]], callTimeoutMs, 0);
  } catch (e) {
    // No handle to close: the runner ends here.
    openRunner(false);
    throw e;
  }
  // The first call is the one sample alone: a change to it is seen at once, for one key.
  if (watch) {
    watch.seen([0], 1);
    entry.firstChange = sampleChange(entry, 0, 'in its first call (sample 0 alone)');
    // Unchanged after call 1: a later change to it came in a call that gets it next, or later.
    watch.firstCall[0] = 0;
  }
  const outputs: ValueInfo[] = Object.entries(first).map(([name, t]) => ({ name, dtype: t.type, shape: ['batch', ...t.dims.slice(1)] }));
  // A pipeline's own name is 'closure' (transformers.js' Callable): named by its task instead.
  const task = pipelineTask(fn);
  const source = loadedFrom.get(fn) ?? (task ? `<${task} pipeline>` : `<function ${fn.name || 'anonymous'}>`);
  // That first call is a real run of the first sample alone: the first run of that batch (the
  // reference of the probe on sample 0) takes its result, once, instead of calling again, so
  // every call made is one the report lists (its data are copies, as every call's: toTensor).
  let firstUnused: Record<string, ort.Tensor> | null = first;
  const call = async (ids: readonly number[], fetches: readonly string[]): Promise<Record<string, ort.Tensor>> => {
    const batch = ids.map((i) => {
      if (i >= 0) return list[i % list.length];
      if (filler === undefined) throw new BadInputError("a batch function cannot take filler rows (padTo, recipes) without a filler sample: give filler (CLI --filler), the sample your system pads a batch with, e.g. filler: '' (CLI --filler ''), or leave padTo (CLI --pad-to) out");
      return filler;
    });
    let result: Record<string, ort.Tensor>;
    if (firstUnused && ids.length === 1 && ids[0] >= 0 && ids[0] % list.length === 0) {
      result = firstUnused;
      firstUnused = null;
    } else {
      // Only where samples are objects: strings and numbers cannot be changed, and cost nothing here.
      if (watch) watch.seen(ids, batch.length);
      try {
        result = await callFunction(fn, batch, callTimeoutMs, ids.length === 1 ? (ids[0] < 0 ? -1 : ids[0] % list.length) : undefined);
      } catch (e) {
        // A sample the function changed in place is the likelier cause (tokens pushed until too long).
        const changed = watch && !(e instanceof StalledError) ? samplesChanged(handle) : null;
        // The call's own line follows as it is: it says whether the function threw or returned wrong rows.
        if (changed) throw new BadInputError(`${changed}; then ${(e as Error)?.message ?? e}; ${COPY_IT}`);
        // A filler the function cannot take fails a padded batch only: the line says it was one.
        const fillers = ids.filter((i) => i < 0).length;
        if (fillers === 0 || !(e instanceof BadInputError) || e instanceof StalledError) throw e;
        throw new BadInputError(`${e.message} (that batch held ${fillers} filler row${fillers === 1 ? '' : 's'}, filler ${formatValue(filler)}: give as filler a sample the function takes, the one your system pads a batch with)`);
      }
    }
    // ids.length, not batch.length: the function may have emptied the array it was given.
    for (const o of outputs) {
      const t = result[o.name];
      if (!t) throw new BadInputError(`the batch function returned no '${o.name}' on a batch of ${ids.length}, though it did on one sample; return the same outputs for every batch`);
      if (t.dims.length !== o.shape.length || t.dims.some((d, i) => i > 0 && d !== o.shape[i])) {
        throw new BadInputError(shapeChangeLine(fn, o, t.dims, ids, list.length));
      }
      // Rows are kept in the dtype learned on one sample: float64 rows kept as float32 would be
      // rounded, and differences below float32's precision would read as bitwise equal.
      if (t.type !== o.dtype) {
        throw new BadInputError(`the batch function's output '${o.name}' is ${t.type} on a batch of ${ids.length} but ${o.dtype} on one sample (Float32Array rows and float32 tensors are float32, integer typed arrays their own type, plain numbers float64); return the same type for every batch`);
      }
    }
    const extra = Object.keys(result).filter((name) => !outputs.some((o) => o.name === name));
    if (extra.length > 0) {
      throw new BadInputError(`the batch function returned ${extra.map((n) => `'${n}'`).join(', ')} on a batch of ${ids.length} but not on one sample (${outputs.map((o) => `'${o.name}'`).join(', ')}); return the same outputs for every batch`);
    }
    return Object.fromEntries(fetches.map((n) => [n, result[n]]));
  };
  const allOutputs = outputs.map((o) => o.name);
  // The onnxruntime-shaped stand-in ModelHandle.session promises; checks call run() below.
  const session = {
    inputNames: [SAMPLES_INPUT],
    outputNames: allOutputs,
    run: (feeds: Record<string, unknown>, fetches?: string[]) => call(feeds[SAMPLES_INPUT] as number[], fetches ?? allOutputs),
    async release() {},
  };
  let closed = false;
  const handle: ModelHandle = {
    kind: 'batchproof.model',
    runtime: 'function',
    session: session as unknown as ort.InferenceSession,
    source,
    inputs: [{ name: SAMPLES_INPUT, dtype: SAMPLE_VALUES, shape: ['batch'] }],
    outputs,
    settings: {} as SessionSettings,
    run(feeds, names, runCall) {
      // The rows' sample indices (see run.ts feedsFor); the function gets the samples themselves.
      return timedRun(source, runCall, () => call(feeds[SAMPLES_INPUT] as unknown as number[], names));
    },
    get closed() {
      return closed;
    },
    async close() {
      if (!closed) openRunner(false);
      closed = true;
    },
  };
  functionHandles.set(handle, entry);
  return handle;
}

/** Which call first gave the function each sample (and the filler, at -1), to name it when one changed. */
interface SampleWatch {
  /** Keys taken before the first call, of every sample and of the filler. */
  before: string[];
  fillerBefore: string | null;
  /** Call number (from 1) and batch size of the first call given each sample since it was last seen unchanged; 0: none yet. */
  firstCall: Int32Array;
  firstSize: Int32Array;
  fillerFirst: { call: number; size: number } | null;
  calls: number;
  seen(ids: readonly number[], size: number): void;
}

/** Strings, numbers, booleans, null: nothing a function can change in place. */
function changeable(v: unknown): boolean {
  return (typeof v === 'object' && v !== null) || typeof v === 'function';
}

/**
 * A function may change the samples it is given (`batch.forEach((s) => s.tokens.push(0))`,
 * sorting a sample's array): every later call then gets another sample, which would read as
 * nondeterminism with no word on the cause. Where any sample (or the filler) is an object, each
 * one's key is taken once before the first call and once after the check's runs
 * (assertSamplesUnchanged): one key per sample per check, never per call; where all are
 * strings or numbers, nothing at all.
 */
function watchSamples(entry: FunctionEntry): SampleWatch | null {
  const { samples, filler } = entry;
  if (!samples.some(changeable) && !changeable(filler)) return null;
  entry.keys = samples.map((s) => sampleKey(s, samples, entry.refs));
  const n = samples.length;
  const watch: SampleWatch = {
    before: entry.keys,
    fillerBefore: changeable(filler) ? sampleKey(filler, samples, entry.refs) : null,
    firstCall: new Int32Array(n),
    firstSize: new Int32Array(n),
    fillerFirst: null,
    calls: 0,
    seen(ids, size) {
      const call = ++watch.calls;
      for (const id of ids) {
        if (id < 0) watch.fillerFirst ??= { call, size };
        else if (watch.firstCall[id % n] === 0) (watch.firstCall[id % n] = call), (watch.firstSize[id % n] = size);
      }
    },
  };
  return watch;
}

/** What changed, when sample `index` (-1: the filler) no longer has the key taken before the first call; else null. */
function sampleChange(entry: FunctionEntry, index: number, when?: string): string | null {
  const watch = entry.watch;
  if (!watch) return null;
  const value = index < 0 ? entry.filler : entry.samples[index];
  if (!changeable(value)) return null;
  const before = index < 0 ? watch.fillerBefore : watch.before[index];
  if (sampleKey(value, entry.samples, entry.refs) === before) return null;
  const first = index < 0 ? watch.fillerFirst : { call: watch.firstCall[index], size: watch.firstSize[index] };
  const what = index < 0 ? 'the filler sample' : `sample ${index}`;
  const seen = when ?? (first && first.call > 0 ? `in call ${first.call} (a batch of ${first.size}) or a later one` : 'during the check');
  return `the batch function changed ${what} in place ${seen}`;
}

/** The first sample (or the filler) the function changed in place, as words; null when none did, and at no cost for strings and numbers. */
function samplesChanged(handle: ModelHandle): string | null {
  const entry = functionHandles.get(handle);
  if (!entry?.watch) return null;
  if (entry.firstChange) return entry.firstChange;
  for (let i = 0; i < entry.samples.length; i++) {
    const change = sampleChange(entry, i);
    if (change) return change;
  }
  return sampleChange(entry, -1);
}

const COPY_IT = 'copy the sample inside the function before changing it (e.g. const tokens = [...sample.tokens], or structuredClone(sample))';

/**
 * After a function check's runs (check, determinism), once its outputs are compared: a sample
 * the function changed in place. Where the outputs then differed (`failed`), later calls got
 * another sample and the difference may be that, not the batch or the run: refused in one line.
 * Where they passed, the change did not move them (a cache kept on the sample, say): a note.
 */
export function sampleChangeNote(handle: ModelHandle, failed: boolean): string | null {
  const changed = samplesChanged(handle);
  if (!changed) return null;
  if (failed) {
    throw new BadInputError(`${changed}: its content is no longer what it was before the first call, so later calls got another sample, and the outputs that differed may differ for that alone; ${COPY_IT}`);
  }
  return `${changed} (a cache kept on it?); the outputs passed all the same, so the change did not move them; ${COPY_IT} if it should not`;
}

/** How a batch function is called: checkBatchInvariance's and checkDeterminism's options for one. */
export interface FunctionCallOptions {
  /**
   * How long one call of the batch function may take before the check fails with a line naming
   * the call (default 120 000: two minutes, room for a first call that loads a model; Infinity:
   * no limit). A budget is checked between calls, so a call may run past it by up to this much.
   */
  callTimeoutMs?: number;
}

/** A model's runs are onnxruntime's, not a function's calls: options for those are refused, never silently ignored. */
export function assertModelOptions(options: FunctionCallOptions, caller: string): void {
  if (options.callTimeoutMs !== undefined) {
    throw new BadInputError(`${caller}: callTimeoutMs (--call-timeout) limits a batch function's calls, and this is a model; leave it out`);
  }
}

/** Options that set up a model's session or its input tensors (a function's samples are its own). */
const MODEL_ONLY: readonly string[] = [...SESSION_OPTION_KEYS, ...INPUT_OPTION_KEYS.filter((k) => k !== 'samples'), 'padding'];
/** Their flags, where the CLI has one, for messages. */
const FLAGS: Record<string, string> = {
  provider: '--provider',
  threads: '--threads',
  optimization: '--optimization',
  deterministic: '--deterministic',
  inputs: '--inputs',
  dims: '--dim',
  consts: '--const',
  shapes: '--shape',
  seed: '--seed',
  vocab: '--vocab',
  padding: '--padding, --pad-axis, --mask, --pad-id, --pad-side',
};

/**
 * A batch function makes its own session and gets the user's samples as they are: options that
 * would set up batchproof's session or input tensors are refused, never silently ignored (a
 * check asked for wasm must not report a CPU run as one). `padding: false` asks for nothing.
 */
export function assertFunctionOptions(options: object, caller: string): void {
  const given = MODEL_ONLY.filter((k) => {
    const v = (options as Record<string, unknown>)[k];
    return v !== undefined && !(k === 'padding' && v === false);
  });
  if (given.length === 0) return;
  const names = given.map((k) => (FLAGS[k] ? `${k} (${FLAGS[k]})` : k)).join(', ');
  const them = given.length === 1 ? 'it' : 'them';
  throw new BadInputError(
    `${caller}: ${names} set${given.length === 1 ? 's' : ''} up a model's session or input tensors, and a batch function makes its own session and gets your samples as they are; leave ${them} out (set the session where the function creates it)`,
  );
}

/** The filler sample a function check was given, if any (recipes pad with it). */
export function functionFiller(handle: ModelHandle): { given: boolean; value: unknown } {
  const entry = functionHandles.get(handle);
  return { given: entry?.filler !== undefined, value: entry?.filler };
}

/**
 * The inputs of a function check: one input whose pool hands out sample indices; run.ts feeds
 * the samples themselves. Each check judges the samples it feeds (assertFunctionSamplesDiffer).
 */
export function functionInputs(handle: ModelHandle): PreparedInputs {
  const { samples, from } = functionHandles.get(handle) as FunctionEntry;
  const spec: InputSpec = { name: SAMPLES_INPUT, dtype: SAMPLE_VALUES, declared: ['batch'], batchAxis: 0, sampleDims: [1] };
  const pool: SamplePool = {
    count: samples.length,
    sample: (_spec, index) => Float64Array.of(index) as TypedArray,
  };
  return { specs: [spec], dims: {}, defaultedDims: [], shared: {}, pool, source: 'user', seed: 0, synthesis: { [SAMPLES_INPUT]: { kind: 'user', source: from, role: 'samples' } } } as PreparedInputs;
}

/**
 * Refuses samples that are all the same at `indices` (the samples a check's plan feeds), in the
 * function's own terms: the samples themselves, not the indices its pool hands out
 * (inputs/degenerate.ts judges a model's tensors). Batch invariance needs batch-mates that
 * differ for leakage to show; determinism runs the same batch again and takes any samples (what
 * it refuses in a model's tensors, one constant value everywhere, means nothing for a function's).
 */
export function assertFunctionSamplesDiffer(handle: ModelHandle, indices: readonly number[]): void {
  assertSamplesDiffer(functionHandles.get(handle) as FunctionEntry, indices);
}

function assertSamplesDiffer(entry: FunctionEntry, indices: readonly number[]): void {
  const samples = entry.samples;
  const unique = [...new Set(indices.map((i) => i % samples.length))];
  if (distinctSamples(entry, unique) >= 2) return;
  const why = 'identical batch-mates cannot show leakage between them; give distinct samples';
  if (samples.length === 1) throw new BadInputError(`one sample only: its batch-mates would be copies of it, and ${why}`);
  if (unique.length === samples.length) throw new BadInputError(`the ${samples.length} samples are all the same: ${why}`);
  throw new BadInputError(`the ${unique.length} samples this check feeds (of the ${samples.length} given) are all the same: ${why}, different ones first`);
}

/** How many different samples (by content) the function's samples at `indices` are. */
export function distinctFunctionSamples(handle: ModelHandle, indices: readonly number[]): number {
  return distinctSamples(functionHandles.get(handle) as FunctionEntry, indices);
}

function distinctSamples(entry: FunctionEntry, indices: readonly number[]): number {
  const samples = entry.samples;
  const keys = (entry.keys ??= samples.map((s) => sampleKey(s, samples, entry.refs)));
  return new Set(indices.map((i) => keys[i % samples.length])).size;
}

/**
 * A sample as a key, equal for samples with the same content. One JSON cannot write (a circular
 * object: a node with its parent, a library's handle) is keyed by identity: it cannot be shown
 * equal to another object, and String() would have made every such sample '[object Object]',
 * refused as all the same. So are the parts JSON would write as nothing ('{}' for a Blob, a
 * class holding private fields; null for a symbol): by identity, else distinct samples read as
 * all the same; Maps and Sets by their entries; NaN, Infinity and -0 as themselves (JSON: null, 0);
 * typed arrays, Buffers and DataViews by their type and bytes.
 */
function sampleKey(s: unknown, samples: readonly unknown[], refs: Map<unknown, number>): string {
  if (typeof s === 'string') return `s:${s}`;
  const tag = (v: unknown) => Object.prototype.toString.call(v);
  const ref = (v: unknown) => `\u0000ref:${refs.get(v) ?? (refs.set(v, refs.size), refs.size - 1)}`;
  // A plain object's prototype is its realm's Object.prototype (or none): under Jest, another realm's.
  const plain = (v: object) => Object.getPrototypeOf(Object.getPrototypeOf(v) ?? Object.prototype) === null;
  try {
    return `j:${JSON.stringify(s, function (this: Record<string, unknown>, k: string, v: unknown) {
      // Typed arrays, Buffers and DataViews by their type and bytes: one native copy, where an
      // array of numbers cost a call of this function per element (an image: 150,000), and a
      // DataView (no length) and a Buffer (its toJSON; hence this[k]) read as another thing.
      const raw = this[k];
      if (ArrayBuffer.isView(raw)) return `\u0000${tag(raw)}:${Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64')}`;
      if (typeof v === 'bigint') return String(v);
      if (typeof v === 'number' && (!Number.isFinite(v) || Object.is(v, -0))) return `\u0000${Object.is(v, -0) ? '-0' : String(v)}`;
      if (tag(v) === '[object Map]' || tag(v) === '[object Set]') return { [tag(v)]: [...(v as Iterable<unknown>)] };
      if (typeof v === 'symbol' || typeof v === 'function') return ref(v);
      if (typeof v === 'object' && v !== null && !Array.isArray(v) && !plain(v) && Object.keys(v).length === 0) return ref(v);
      return v;
    }) ?? ref(s)}`;
  } catch {
    // The same object given twice is one sample.
    return `o:${samples.indexOf(s)}`;
  }
}

/** Script files the CLI treats as a batch function's module: JavaScript, or TypeScript where a loader (or Node itself) runs it. */
export const FUNCTION_MODULE = /\.(mjs|cjs|js|mts|cts|ts)$/i;
const TYPESCRIPT = /\.(mts|cts|ts)$/i;

/**
 * The batch function a module exports (default export, or `embed`), for the CLI:
 * `batchproof check ./embed.mjs --samples texts.json`.
 */
export async function loadBatchFunction(file: string, timeoutMs = DEFAULT_CALL_TIMEOUT_MS): Promise<BatchFunction> {
  const { assertReadableFile } = await import('../io/paths');
  assertReadableFile(file, 'batch function module');
  const { pathToFileURL } = await import('url');
  const path = await import('path');
  const absolute = path.resolve(file);
  let mod: Record<string, unknown> | null | undefined;
  // One limit for the loading, the export's promise included (see below).
  const started = Date.now();
  try {
    const url = () => pathToFileURL(absolute).href;
    // TypeScript by Node's loader, where a loader's hooks (node --import tsx) run it.
    const loading = /\.mjs$/i.test(file) || TYPESCRIPT.test(file) ? importEsm(url()).then((exports) => ({ exports })) : requireOrImport(absolute, url);
    ({ exports: mod } = await unlessStalled(
      loading,
      () => `${file}: the module never finished loading: a top-level await neither resolved nor rejected, and ${NOTHING_TO_WAIT_ON}; make it settle`,
      timeoutMs,
      () => `${file}: the module did not finish loading within ${formatMs(timeoutMs)}: a top-level await neither resolved nor rejected; make it settle, or raise --call-timeout if loading takes longer`,
    ));
  } catch (e) {
    if (e instanceof StalledError) throw e;
    if (TYPESCRIPT.test(file) && (e as NodeJS.ErrnoException)?.code === 'ERR_UNKNOWN_FILE_EXTENSION') {
      throw new BadInputError(`${file}: a TypeScript module, which Node ${process.version} does not run by itself: compile it to JavaScript first (tsc) and check the .js, or run batchproof under a TypeScript loader, e.g. NODE_OPTIONS='--import tsx' npx batchproof ...`);
    }
    // Where in the user's own file, when the stack says (a CommonJS syntax error, a throw at its top level).
    const stack = String((e as Error)?.stack ?? '');
    const escape = (f: string) => f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const line = new RegExp(`(?:${escape(absolute)}|${escape(pathToFileURL(absolute).href)}):(\\d+)`).exec(stack)?.[1];
    throw new BadInputError(`${file}: the module failed to load${line ? ` (line ${line})` : ''}: ${String((e as Error)?.message ?? e).split('\n')[0]}`);
  }
  // require gives a CommonJS module's exports themselves (a function, say); import() puts them under default.
  // (module.exports may be anything, null included.)
  const inner = mod?.default as Record<string, unknown> | null | undefined;
  const exported = [mod, mod?.default, inner?.default, mod?.embed, inner?.embed];
  let candidate: unknown = exported.find((f) => typeof f === 'function');
  const none = `${file}: exports no batch function; export one as the default export or as 'embed': export default async (batch) => ...`;
  // A promise of the function (`export default makeEmbedder()`, `exports.embed = load()`): the
  // function it resolves to, within what is left of the loading's timeout.
  const thenable = candidate === undefined ? exported.find((v) => typeof (v as { then?: unknown } | null)?.then === 'function') : undefined;
  if (thenable !== undefined) {
    const left = Math.max(1, timeoutMs - (Date.now() - started));
    try {
      candidate = await unlessStalled(
        thenable as Promise<unknown>,
        () => `${file}: its exported promise never settled: it neither resolved nor rejected, and ${NOTHING_TO_WAIT_ON}; make it resolve to the batch function`,
        left,
        () => `${file}: its exported promise did not settle within ${formatMs(timeoutMs)} of loading: it neither resolved nor rejected; make it resolve to the batch function, or raise --call-timeout if loading takes longer`,
      );
    } catch (e) {
      if (e instanceof StalledError) throw e;
      throw new BadInputError(`${file}: its exported promise rejected: ${String((e as Error)?.message ?? e).split('\n')[0]}`);
    }
    // Or to a module (`module.exports = import('./embed.mjs')`) holding it.
    const resolved = candidate as Record<string, unknown> | null | undefined;
    candidate = typeof resolved === 'function' ? resolved : [resolved?.default, resolved?.embed].find((f) => typeof f === 'function') ?? resolved;
    if (typeof candidate !== 'function') throw new BadInputError(`${none} (its exported promise resolved to ${formatValue(candidate)}, not a function)`);
  }
  if (typeof candidate !== 'function') throw new BadInputError(none);
  loadedFrom.set(candidate as object, file);
  return candidate as BatchFunction;
}

/**
 * A CommonJS module by require, an ES module by import(): Node's ES module loader, which
 * import() starts even for a CommonJS file, costs about 10 ms a run. require refuses an ES
 * module (ERR_REQUIRE_ESM) before running any of it.
 */
async function requireOrImport(absolute: string, url: () => string): Promise<{ exports: Record<string, unknown> | null | undefined }> {
  try {
    // Boxed: exports that are a promise (module.exports = makeEmbedder()) are awaited as the
    // export they are, under their own line, not adopted as if the loading itself were pending.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return { exports: require(absolute) as Record<string, unknown> | null | undefined };
  } catch (e) {
    if ((e as NodeJS.ErrnoException)?.code !== 'ERR_REQUIRE_ESM') throw e;
    return { exports: await importEsm(url()) };
  }
}

/** Samples for the CLI: a JSON array, or a text file of one sample a line (blank lines skipped). */
export async function readSamplesFile(file: string): Promise<unknown[]> {
  const { assertReadableFile } = await import('../io/paths');
  const fs = await import('fs');
  assertReadableFile(file, 'samples');
  // Without the byte order mark Windows editors write: JSON.parse refuses it, and a text file's
  // first sample would carry it unseen.
  const text = fs.readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  if (text.trim() === '') throw new BadInputError(`${file}: is empty${/\.json$/i.test(file) ? '' : ' (or blank lines only)'}; give a JSON array of samples or a text file of one sample a line`);
  // A .txt file is lines whatever its first one holds ('[CLS] a query', '[1] the first item').
  if (/\.json$/i.test(file) || (!/\.txt$/i.test(file) && /^\s*\[/.test(text))) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw new BadInputError(`${file}: not valid JSON (${(e as Error).message}); give a JSON array of samples or a text file of one sample a line`);
    }
    if (!Array.isArray(parsed)) throw new BadInputError(`${file}: holds ${formatValue(parsed)}, not an array; give a JSON array of samples`);
    if (parsed.length === 0) throw new BadInputError(`${file}: holds an empty array; give a JSON array of samples`);
    loadedFrom.set(parsed, file);
    return parsed;
  }
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '');
  loadedFrom.set(lines, file);
  return lines;
}
