/**
 * Memory a batch needs, estimated from dims alone before anything is allocated, so an absurd
 * size (`--batch-sizes 100000000`, `--pad-to 99999999`, an input `[N, 2^40]`) is refused in
 * milliseconds with one line, instead of a V8 heap abort or the kernel's OOM killer a minute in.
 *
 * Arithmetic is BigInt: a product of dims may pass 2^53 (where doubles stop being exact) or
 * overflow to Infinity; neither may turn into a pass or an internal error.
 *
 * What is counted (an estimate, not a bound: the graph's intermediate activations are unknown
 * here, so this refuses sizes that surely cannot fit and promises nothing about the rest):
 * - batched inputs, 3 copies: the synthesized pool caches each batch-mate's sample (two pools
 *   of mates for the largest size) and the stacked batch tensor holds them again;
 * - shared inputs, once;
 * - outputs whose dims the graph declares, 2 copies: onnxruntime's buffer and the JS tensor
 *   onnxruntime-node copies it into; a command that keeps more (compare keeps every side's,
 *   determinism its first run's) says how many with `outputCopies` (compareOutputCopies,
 *   determinismOutputCopies). Outputs with an undeclared dim are listed, not counted;
 * - apart from memory, the JS heap (see heapBytes): row lists of the plan and one typed-array
 *   object per synthesized sample live inside V8's heap, whose limit is far below the
 *   machine's memory (4 GB by default), and running past it aborts the process.
 */
import os = require('os');
import type * as v8 from 'v8';
import { BadInputError, formatValue } from '../errors';
import { DEFAULT_MAX_BATCH, DEFAULT_PROBES, DEFAULT_SWEEP } from '../invariance/plan';
import { BATCH_MARK, type InputSpec } from './spec';

/** A model output as the session declares it (src/runtime/session.ts ValueInfo). */
export interface DeclaredOutput {
  name: string;
  dtype: string;
  /** Declared dims; absent or [] counts as unknown. */
  shape?: readonly (number | string)[];
}

/** Bytes per element; dtypes not listed (string, non-tensor) have no fixed size. */
const DTYPE_BYTES: Record<string, number> = {
  float32: 4, float16: 2, bfloat16: 2, float64: 8,
  int8: 1, uint8: 1, bool: 1, int16: 2, uint16: 2, int32: 4, uint32: 4, int64: 8, uint64: 8,
  int4: 1, uint4: 1, float8e4m3fn: 1, float8e4m3fnuz: 1, float8e5m2: 1, float8e5m2fnuz: 1,
};

const INPUT_COPIES = 3n;
const OUTPUT_COPIES = 2n;
/**
 * The comparison kernels' WebAssembly memory (src/kernels MAX_WASM_BYTES): it grows to the
 * largest array scanned there (one output, or two compared) up to this, and never shrinks.
 */
const KERNEL_BYTES = 64n << 20n;
/**
 * JS heap per row of the largest batch and batched input, measured on Node 20: a synthesized
 * sample is a typed-array object plus a cache entry (about 285 bytes), held for two pools of
 * batch-mates; the per-batch id lists (mapIds, the stacked rows) add 8 bytes each.
 */
const HEAP_PER_SAMPLE = 300n;
const HEAP_PER_ROW_ID = 8n;
/** One typed array holds at most 2^32 elements (V8's limit on 64-bit Node 20). */
export const MAX_TYPED_ARRAY_LENGTH = 2n ** 32n;
/**
 * Heap needs below this are not weighed against V8's heap limit (no Node runs with less than
 * a few times this): reading the limit loads the 'v8' module, about 2.5 ms of every CLI run.
 */
const SMALL_HEAP_NEED = 64n << 20n;

/**
 * The default for `maxBytes`: half of the machine's memory, or of the container's limit when
 * one is set (cgroups; process.constrainedMemory() reports 2^64 or 0 where none is). Half,
 * because what is counted here is only the batch's inputs and outputs: the model's weights and
 * activations, the test runner and other processes need the rest. Not os.freemem(): whether a
 * size is refused must not depend on what else the machine happens to be doing that second.
 */
export function defaultMaxBytes(): number {
  const total = os.totalmem();
  const constrained = (process as { constrainedMemory?: () => number | undefined }).constrainedMemory?.();
  const limit = constrained !== undefined && constrained > 0 && constrained < total ? constrained : total;
  return Math.floor(limit / 2);
}

export const DEFAULT_MAX_BYTES = defaultMaxBytes();

/** One tensor's share of a batch. */
export interface TensorEstimate {
  kind: 'input' | 'shared input' | 'output';
  name: string;
  /** Dims as shown in messages: the batch axis as 'N', other dims resolved. */
  shown: string;
  /** Elements of the tensor for this batch; null when a dim is not known. */
  elements: bigint | null;
  /** Bytes this tensor adds, copies included; null when not known. */
  bytes: bigint | null;
}

export interface BatchEstimate {
  batchSize: number;
  /** Every counted byte: inputs (3 copies), shared inputs, declared outputs (2 copies, or outputCopies). */
  bytes: bigint;
  /** JS heap the batch needs beyond what is already allocated. */
  heapBytes: bigint;
  tensors: TensorEstimate[];
  /** Outputs with a dim the graph does not declare: not counted in `bytes`. */
  unknownOutputs: string[];
}

/** Exact BigInt of a dim; non-integers (never valid dims) are treated as unknown. */
function bigDim(d: number): bigint | null {
  return Number.isInteger(d) && d >= 0 ? BigInt(d) : null;
}

const productOf = (dims: readonly bigint[]): bigint => dims.reduce((a, b) => a * b, 1n);

/** Symbol sizes from the inputs: the batch axis's symbol is the batch size, others as resolved. */
function symbolSizes(specs: readonly InputSpec[], batchSize: bigint): { sizes: Map<string, bigint>; batchSymbols: Set<string> } {
  const sizes = new Map<string, bigint>();
  const batchSymbols = new Set<string>();
  for (const spec of specs) {
    // A shapes override may change the rank of a rankless input: only the model's own symbols count.
    if (spec.declared.length !== spec.sampleDims.length) continue;
    spec.declared.forEach((d, axis) => {
      if (typeof d !== 'string' || d === '') return;
      if (axis === spec.batchAxis) {
        sizes.set(d, batchSize);
        batchSymbols.add(d);
      } else if (!sizes.has(d)) {
        const v = bigDim(spec.sampleDims[axis]);
        if (v !== null) sizes.set(d, v);
      }
    });
  }
  return { sizes, batchSymbols };
}

/** `copies` of the outputs of a run of `rows` rows, held at once. */
export interface OutputCopies {
  rows: number;
  copies: number;
}

/**
 * What compareProviders holds at its peak (the last side's last run), in copies of a run's
 * outputs, as measured (max RSS of a [N, 30522] logits head at N 512 and 2048, cpu and wasm
 * sides, each alone or batched): every side's outputs over the `batchSize` samples compared,
 * kept to compare; the last side's second run of its batch, in flight; per side, the runtime's
 * own buffer for its batch (onnxruntime's memory arena, the wasm heap), kept while the sessions
 * are open; and one more copy of the samples for outputs dropped (an earlier second run) that V8
 * has not freed yet. (The rows compared are views of the batches' outputs since 2026-12-04: the
 * peak measured the same, 900 MB for that head at N 2048, cpu against cpu at batch 1.)
 */
export function compareOutputCopies(batchSize: number, sideSizes: readonly number[]): OutputCopies[] {
  const last = sideSizes[sideSizes.length - 1] ?? batchSize;
  return [{ rows: batchSize, copies: sideSizes.length + 1 }, { rows: last, copies: 1 }, ...sideSizes.map((rows) => ({ rows, copies: 1 }))];
}

/**
 * What checkDeterminism holds at its peak, measured as compareOutputCopies is: the first run's
 * outputs, every later run's compared with them; the runtime's buffer (a model's); and the later
 * runs: the one in flight and those dropped that V8 has not freed yet, up to 3 (not every repeat:
 * 10 and 50 repeats peak alike).
 */
export function determinismOutputCopies(batchSize: number, repeats: number, isFunction: boolean): OutputCopies[] {
  return [{ rows: batchSize, copies: 1 + (isFunction ? 0 : 1) + Math.min(Math.max(1, repeats - 1), 3) }];
}

/**
 * What checkBatchInvariance holds at its largest batch, in copies of that run's outputs, as
 * measured (max RSS above a batch-1 check, a [N, 30522] logits head at N 64, 512 and 2048: 41,
 * 252 and 752 MB): the outputs the runtime hands back, its own buffer for them (onnxruntime's
 * arena), and the same batch's earlier run, compared with it and not yet freed; with the
 * kernels' memory grown to the rows they scan. Two copies counted half of it at N 512.
 */
export function checkOutputCopies(rows: number): OutputCopies[] {
  return [{ rows, copies: 3 }];
}

/**
 * Estimates the bytes one batch of `batchSize` rows needs, from the resolved input specs and
 * the outputs the graph declares (pass only the outputs that will be fetched); `outputCopies`
 * says how many copies of which run's outputs are held at once (default: 2 of the batch's).
 */
export function batchBytes(specs: readonly InputSpec[], outputs: readonly DeclaredOutput[], batchSize: number, outputCopies?: readonly OutputCopies[]): BatchEstimate {
  if (!(typeof batchSize === 'number' && Number.isInteger(batchSize) && batchSize > 0)) {
    throw new BadInputError(`a batch size must be a positive integer, got ${formatValue(batchSize)}; for example batchSizes: [1, 8, 64]`);
  }
  const B = BigInt(batchSize);
  const tensors: TensorEstimate[] = [];
  let bytes = 0n;
  let batched = 0n;
  for (const spec of specs) {
    const dims = spec.sampleDims.map(bigDim);
    const size = BigInt(DTYPE_BYTES[spec.dtype] ?? 8);
    const isBatched = spec.batchAxis !== null;
    const shown = `[${spec.sampleDims.map((d, i) => (i === spec.batchAxis ? BATCH_MARK : String(d))).join(', ')}]`;
    if (dims.some((d) => d === null)) {
      tensors.push({ kind: isBatched ? 'input' : 'shared input', name: spec.name, shown, elements: null, bytes: null });
      continue;
    }
    const perSample = productOf(dims as bigint[]);
    const elements = isBatched ? perSample * B : perSample;
    const share = elements * size * (isBatched ? INPUT_COPIES : 1n);
    if (isBatched) batched += 1n;
    bytes += share;
    tensors.push({ kind: isBatched ? 'input' : 'shared input', name: spec.name, shown, elements, bytes: share });
  }
  const { sizes, batchSymbols } = symbolSizes(specs, B);
  // Each run's own symbol sizes (its rows on the batch axis); a run is at most the batch.
  const copies = (outputCopies ?? [{ rows: batchSize, copies: 2 }]).map((c) => ({
    copies: BigInt(c.copies),
    sizes: c.rows === batchSize ? sizes : symbolSizes(specs, BigInt(Math.min(c.rows, batchSize))).sizes,
  }));
  const unknownOutputs: string[] = [];
  let largestOutput = 0n;
  for (const out of outputs) {
    const size = DTYPE_BYTES[out.dtype];
    // Without declared dims (a caller passing names only), the output is unknown, not empty.
    const declared = Array.isArray(out.shape) ? out.shape : [];
    // Rank 0 from onnxruntime may also mean "no shape declared": treat it as unknown.
    const dimsAt = (at: Map<string, bigint>) => (declared.length === 0 ? [null] : declared.map((d) => (typeof d === 'number' ? bigDim(d) : at.get(d) ?? null)));
    const dims = dimsAt(sizes);
    const shown = `[${declared.map((d) => (typeof d === 'string' && batchSymbols.has(d) ? BATCH_MARK : d === '' ? '?' : String(d))).join(', ')}]`;
    if (size === undefined || dims.some((d) => d === null)) {
      unknownOutputs.push(out.name);
      tensors.push({ kind: 'output', name: out.name, shown, elements: null, bytes: null });
      continue;
    }
    const elements = productOf(dims as bigint[]);
    const share = copies.reduce((sum, c) => sum + c.copies * productOf(dimsAt(c.sizes) as bigint[]), 0n) * BigInt(size);
    bytes += share;
    if (elements * BigInt(size) > largestOutput) largestOutput = elements * BigInt(size);
    tensors.push({ kind: 'output', name: out.name, shown, elements, bytes: share });
  }
  // A command that scans its outputs whole (outputCopies given) grows the kernels' memory too:
  // to two outputs compared where they fit, else one scanned for NaN, else none (JavaScript).
  if (outputCopies) bytes += [2n * largestOutput, largestOutput].find((b) => b <= KERNEL_BYTES) ?? 0n;
  const heapBytes = B * (HEAP_PER_ROW_ID + batched * (2n * HEAP_PER_SAMPLE + HEAP_PER_ROW_ID));
  return { batchSize, bytes, heapBytes, tensors, unknownOutputs };
}

/** Bytes in words: "1.2 TB", "6.0 GB", "512 B"; beyond exabytes, "4.4e+21 bytes". */
export function formatBytes(bytes: bigint | number): string {
  // A double is plenty for a display with one decimal; the comparisons were made in BigInt.
  const x = typeof bytes === 'bigint' ? Number(bytes) : bytes;
  if (!Number.isFinite(x)) return 'more than 1e308 bytes';
  if (x < 1000) return `${Math.max(0, Math.floor(x))} B`;
  const units = ['KB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  let v = x;
  let i = -1;
  while (v >= 999.95 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return v >= 999.95 ? `${x.toExponential(1)} bytes` : `${v.toFixed(1)} ${units[i]}`;
}

/**
 * Reads a byte size as the CLI takes it: "4e9", "512MB", "8GB", "8GiB", "1.5T". Decimal units
 * (KB = 1000) unless the unit says "iB". Null when the text is not a size.
 */
export function parseByteSize(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?(?:e\d+)?)\s*([kmgtp]?)(i?)(b?)\s*$/i.exec(text);
  if (!m) return null;
  const power = ' kmgtp'.indexOf((m[2] || ' ').toLowerCase());
  const base = m[3] ? 1024 : 1000;
  if (m[3] && !m[2]) return null;
  const value = Number(m[1]) * base ** power;
  return Number.isFinite(value) && value > 0 ? Math.floor(value) : null;
}

export interface FitOptions {
  specs: readonly InputSpec[];
  /** The outputs that will be fetched, as the session declares them ([] when unknown). */
  outputs?: readonly DeclaredOutput[];
  /** Rows of the largest batch that will be run (padding included). */
  batchSize: number;
  /** Default DEFAULT_MAX_BYTES. */
  maxBytes?: number;
  /** Names the size in the message, e.g. 'batch 100000000', 'the reference batch of 99999999'. */
  what?: string;
  /** Entries of row lists the plan will still allocate (see planFootprint); default 0. */
  plannedRows?: number;
  /**
   * Copies of the outputs held at once by a command that compares them whole (compareOutputCopies,
   * determinismOutputCopies), the kernels' memory with them; default 2 of the batch's.
   */
  outputCopies?: readonly OutputCopies[];
  /** A user's batch function: its dims are its own, so --dim/--shape cannot shrink them. */
  batchFunction?: boolean;
}

/** The limit actually applied; a bad value is one line (the option table checks it first, normally). */
function limitOf(maxBytes: unknown): bigint {
  if (maxBytes === undefined) return BigInt(DEFAULT_MAX_BYTES);
  if (typeof maxBytes !== 'number' || Number.isNaN(maxBytes) || maxBytes <= 0) {
    throw new BadInputError(`maxBytes must be a positive number of bytes, got ${formatValue(maxBytes)}; for example maxBytes: 4e9 (CLI --max-memory 4GB)`);
  }
  // Infinity: no limit (only typed-array lengths and the JS heap still bound a batch).
  return maxBytes === Infinity ? -1n : BigInt(Math.floor(maxBytes));
}

/**
 * Throws a one-line BadInputError when a batch of `batchSize` rows would not fit: its estimated
 * bytes above `maxBytes`, a tensor longer than a typed array can be, or the JS heap it needs
 * above what V8 has left. Returns the estimate otherwise. Allocates nothing.
 *
 *   assertBatchFits({ specs, outputs: handle.outputs, batchSize: 1e9, what: 'a batch of 1000000000 (batchSize, CLI --batch-size)' })
 */
export function assertBatchFits(options: FitOptions): BatchEstimate {
  const { specs, outputs = [], batchSize } = options;
  const limit = limitOf(options.maxBytes);
  const what = options.what ?? `batch ${batchSize}`;
  const cure = 'use smaller batch sizes or raise maxBytes (CLI --max-memory)';
  const estimate = batchBytes(specs, outputs, batchSize, options.outputCopies);
  const counted = estimate.tensors.filter((t) => t.bytes !== null);
  const biggest = counted.reduce<TensorEstimate | null>((a, t) => (a === null || (t.bytes as bigint) > (a.bytes as bigint) ? t : a), null);
  // The total is every tensor's; the largest is named with its own share, never as if it were all of it.
  const share = (b: bigint) => (b === estimate.bytes ? 'all of it' : formatBytes(b) === formatBytes(estimate.bytes) ? 'almost all of it' : `${formatBytes(b)} of it`);
  const naming = biggest ? `, ${share(biggest.bytes as bigint)} for ${biggest.kind} '${biggest.name}' ${biggest.shown}` : '';
  const notCounted = estimate.unknownOutputs.length > 0
    ? ` (not counting output${estimate.unknownOutputs.length > 1 ? 's' : ''} ${estimate.unknownOutputs.map((n) => `'${n}'`).join(', ')}, whose size the graph does not declare)`
    : '';

  if (limit >= 0n && estimate.bytes > limit) {
    // When one sample alone is too much, smaller batches cannot help: the dims must shrink.
    const one = batchBytes(specs, outputs, 1, options.outputCopies?.map((c) => ({ rows: 1, copies: c.copies })));
    const fix = one.bytes > limit
      ? options.batchFunction
        ? 'one sample alone is over the limit: return less per sample (e.g. pooled embeddings, not per-token ones) or raise maxBytes (CLI --max-memory)'
        : 'use smaller dims (--dim/--shape, or smaller samples) or raise maxBytes (CLI --max-memory)'
      : cure;
    throw new BadInputError(
      `${what} needs about ${formatBytes(estimate.bytes)}${notCounted} (limit ${formatBytes(limit)})${naming}; ${fix}`,
    );
  }
  for (const t of estimate.tensors) {
    if (t.elements === null) continue;
    if (t.elements > MAX_TYPED_ARRAY_LENGTH) {
      throw new BadInputError(
        `${what} of ${t.kind} '${t.name}' ${t.shown} holds ${t.elements} values in one tensor, more than the ${MAX_TYPED_ARRAY_LENGTH} a JavaScript typed array can hold; use smaller batch sizes or dims`,
      );
    }
  }
  const heapNeeded = estimate.heapBytes + 8n * BigInt(Math.max(0, Math.floor(options.plannedRows ?? 0)));
  if (heapNeeded <= SMALL_HEAP_NEED) return estimate;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const heap = (require('v8') as typeof v8).getHeapStatistics();
  const heapLeft = BigInt(Math.max(0, heap.heap_size_limit - heap.used_heap_size));
  if (heapNeeded > heapLeft) {
    throw new BadInputError(
      `${what} needs about ${formatBytes(heapNeeded)} of JavaScript heap for its row lists and samples (${formatBytes(heapLeft)} left of V8's ${formatBytes(heap.heap_size_limit)}); use smaller batch sizes, or give node more heap (NODE_OPTIONS=--max-old-space-size=MB)`,
    );
  }
  return estimate;
}

/**
 * locate's instrumented runs: every intermediate value is a graph output, so onnxruntime holds
 * them all at once and copies each into a JS tensor (2 copies, as for outputs). Their bytes are
 * measured on the reference run (`referenceSize` rows); a run of `batchSize` rows needs them
 * scaled. The check before it counts only the model's own outputs: at batch 512 the bundled
 * training-mode CNN's values took 4.9 GB where its check took 1.1 GB.
 */
export function assertExposedFits(options: { referenceBytes: number; referenceSize: number; batchSize: number; values: number; maxBytes?: number; source: string }): void {
  const limit = limitOf(options.maxBytes);
  if (limit < 0n) return;
  const need = (BigInt(Math.ceil(options.referenceBytes)) * BigInt(options.batchSize) * OUTPUT_COPIES) / BigInt(Math.max(1, options.referenceSize));
  if (need <= limit) return;
  throw new BadInputError(
    `${options.source}: locate exposes ${options.values} intermediate value${options.values === 1 ? '' : 's'} as outputs, all held at once: at batch ${options.batchSize} they need about ${formatBytes(need)} (limit ${formatBytes(limit)}); search at a smaller size that fails (batchSizes, CLI --batch-sizes, with sizes below ${options.batchSize}) or raise maxBytes (CLI --max-memory)`,
  );
}

/** What a plan will run at most, computed from the plan's options without building it. */
export interface PlanFootprint {
  /** Rows of the largest run (padding included). */
  batchSize: number;
  /** Entries of every row list the plan allocates (8 bytes of heap each). */
  plannedRows: number;
  /** Names the size for messages, e.g. 'batches padded to 99999999 (padTo)'. */
  what: string;
}

const positive = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

/**
 * The largest batch and the row lists a plan made with these options would hold, mirroring
 * makePlan (src/invariance/plan.ts) without allocating: call it, then assertBatchFits, before
 * makePlan. Invalid entries are skipped here (makePlan and the option table reject them).
 */
export function planFootprint(options: {
  batchSizes?: readonly unknown[];
  maxBatch?: unknown;
  reference?: unknown;
  probes?: unknown;
  padTo?: unknown;
  servedSizes?: readonly unknown[];
}): PlanFootprint {
  const maxBatch = positive(options.maxBatch) ? options.maxBatch : DEFAULT_MAX_BATCH;
  const requested = Array.isArray(options.batchSizes) ? options.batchSizes.filter(positive) : DEFAULT_SWEEP.filter((s) => s <= maxBatch);
  const served = Array.isArray(options.servedSizes) ? options.servedSizes.filter(positive) : [];
  const sizes = [...new Set([...requested, ...served])];
  const reference = positive(options.reference) ? options.reference : 1;
  const probes = positive(options.probes) ? options.probes : DEFAULT_PROBES;
  const padTo = positive(options.padTo) ? options.padTo : 0;
  const largestSize = sizes.reduce((a, b) => Math.max(a, b), 0);
  const runs = 2 * probes + 3 * sizes.length + 1;
  if (padTo >= Math.max(largestSize, reference)) {
    return { batchSize: padTo, plannedRows: runs * padTo, what: `batches padded to ${padTo} (padTo, CLI --pad-to)` };
  }
  // Reference runs share one row list with their reruns; each size has up to three lists.
  const plannedRows = probes * Math.max(reference, padTo) + sizes.reduce((n, s) => n + 3 * Math.max(s, padTo), 0);
  if (reference > largestSize) return { batchSize: reference, plannedRows, what: `the reference batch of ${reference}` };
  const isServed = served.includes(largestSize) && !requested.includes(largestSize);
  return { batchSize: largestSize, plannedRows, what: isServed ? `served batch ${largestSize}` : `batch ${largestSize}` };
}
