/**
 * A runner, as Polygraphy calls it: the model (or the user's batch function) behind one surface
 * that every capability uses: its inputs and outputs, `run` for one batch, timing and the run log.
 * Three implementations: onnxruntime-node and onnxruntime-web sessions (handle.ts, wasm.ts) and
 * the user's batch function (function.ts).
 */
import type * as ort from 'onnxruntime-node';
import { BadInputError, oneLine } from '../errors';
import type { SessionSettings } from './settings';
import type { ValueInfo } from './session';
import { now } from './clock';

/** A batch's inputs by name (for a function runner, the rows' sample indices). */
export type RunFeeds = Record<string, ort.Tensor>;
/** A batch's outputs by name. */
export type RunOutputs = ort.InferenceSession.OnnxValueMapType;

/** Which runtime a runner runs on. */
export type RuntimeName = 'onnxruntime-node' | 'onnxruntime-web' | 'function';

/** One call of `run`: how many rows the batch holds, what for, and the log it is counted in. */
export interface RunCall {
  rows: number;
  /** Why the batch runs ('reference', 'batch', 'mates', 'recipe', ...), as the report lists it. */
  purpose: string;
  log?: RunLogBook;
  /**
   * A failure in the caller's words, given onnxruntime's reason in one line; by default it names
   * the batch's rows and the flags that shape the inputs.
   */
  failure?: (reason: string) => string;
}

/** The model, or the user's function, as every check runs it. */
export interface Runner {
  readonly kind: 'batchproof.model';
  readonly runtime: RuntimeName;
  /** Where it came from: a file path, '<bytes>', '<session>' or '<function name>'. */
  readonly source: string;
  readonly inputs: ValueInfo[];
  readonly outputs: ValueInfo[];
  readonly settings: Readonly<SessionSettings>;
  /**
   * Runs one batch and returns the outputs asked for. A failure is one line naming the batch;
   * the call is timed and counted in `call.log`.
   */
  run(feeds: RunFeeds, outputs: readonly string[], call: RunCall): Promise<RunOutputs>;
  /** Releases what it holds; later use is an error. */
  close(): Promise<void>;
  readonly closed: boolean;
}

/** Every run made, grouped by batch size, so the work can be replayed (the reports' `runs`). */
export interface RunLog {
  batchSize: number;
  calls: number;
  purposes: string[];
}

/** Counts a check's runs by batch size and sums their inference time. */
export class RunLogBook {
  private readonly bySize = new Map<number, RunLog>();
  /** Milliseconds spent inside `run` calls. */
  inferenceMs = 0;

  add(batchSize: number, purpose: string, ms: number): void {
    this.inferenceMs += ms;
    const entry = this.bySize.get(batchSize);
    if (!entry) {
      this.bySize.set(batchSize, { batchSize, calls: 1, purposes: [purpose] });
      return;
    }
    entry.calls += 1;
    if (!entry.purposes.includes(purpose)) entry.purposes.push(purpose);
  }

  /** The log, smallest batch first. */
  entries(): RunLog[] {
    return [...this.bySize.values()].sort((a, b) => a.batchSize - b.batchSize);
  }
}

/**
 * onnxruntime's words for a batch too large for its memory: an allocation refused (bad_alloc),
 * or a size past 32 bits (SafeInt's "Integer overflow": onnxruntime-web's size_t is 32 bits).
 */
const OUT_OF_MEMORY = /bad_alloc|out of memory|failed to allocate|Integer overflow/i;

export function outOfMemory(reason: string): boolean {
  return OUT_OF_MEMORY.test(reason);
}

/**
 * The default line for a failed batch: its rows, onnxruntime's reason, the flags that shape the
 * inputs; for a batch that ran out of memory, smaller batches (and wasm's own limit, which
 * --max-memory, this machine's, does not know).
 */
export function runFailure(source: string, rows: number, reason: string, runtime?: RuntimeName): string {
  if (outOfMemory(reason)) {
    const web = runtime === 'onnxruntime-web';
    const heap = web ? ": provider 'wasm' runs in onnxruntime-web's WebAssembly memory, at most 4 GiB whatever this machine has" : '';
    return `${source}: ${web ? 'onnxruntime-web' : 'onnxruntime'} ran out of memory on a batch of ${rows} (${reason})${heap}; run smaller batches (check: --batch-sizes or --max-batch; compare: --batch-size, or --against-batch-size for that side alone) or smaller dims (--dim/--shape)`;
  }
  return `${source}: onnxruntime failed on a batch of ${rows} (${reason}); check --shape/--dim/--const and the samples' dtype and shape`;
}

/**
 * A failed batch, in one line as BadInputError is, with onnxruntime's reason and the batch's rows
 * kept apart for a caller that knows more of the cause (a dim the user set: invariance/check.ts).
 */
export class RunFailure extends BadInputError {
  constructor(message: string, readonly reason: string, readonly rows: number) {
    super(message);
  }
}

/**
 * A runner's `run` around a raw call: times it, counts it and turns a failure into one line that
 * names the batch. `raw` failures already worded by batchproof (BadInputError) pass as they are.
 */
export async function timedRun(source: string, call: RunCall, raw: () => Promise<RunOutputs>, runtime?: RuntimeName): Promise<RunOutputs> {
  const t0 = now();
  let result: RunOutputs;
  try {
    result = await raw();
  } catch (e) {
    if (e instanceof BadInputError) throw e;
    const reason = oneLine(String((e as Error)?.message ?? e));
    throw new RunFailure(call.failure ? call.failure(reason) : runFailure(source, call.rows, reason, runtime), reason, call.rows);
  }
  call.log?.add(call.rows, call.purpose, now() - t0);
  return result;
}
