/**
 * The onnxruntime runner: a model opened once (a path, bytes, an InferenceSession or a handle)
 * as a ModelHandle, whose one session every run of a check reuses; and the model's graph and
 * bytes behind a handle, read on demand.
 */
import fs = require('fs');
import ort = require('onnxruntime-node');
import { BadInputError, describeValue, formatValue, oneLine } from '../errors';
import { checkModelHead, openModelFile, statModelFile } from '../onnx/model-file';
import type { GraphFacts } from '../onnx/graph';
import type { ConstantFacts, IdBound } from '../onnx/tables';
import { timedRun, type Runner } from './runner';
import { createSession, describeSession, isInferenceSession } from './session';
import { SESSION_OPTION_KEYS, validateSettings, type SessionSettings } from './settings';

/** An opened model: one session, created once and reused by every run of a check. */
export interface ModelHandle extends Runner {
  /** The onnxruntime session it runs (for a function runner, a stand-in that calls the function). */
  readonly session: ort.InferenceSession;
}

/** Anything a check accepts as "the model". */
export type ModelSource = string | Uint8Array | ArrayBuffer | ort.InferenceSession | ModelHandle;

/** True when `x` is a handle from openModel (or a fixture), which the checks reuse instead of opening the model again. */
export function isModelHandle(x: unknown): x is ModelHandle {
  return typeof x === 'object' && x !== null && (x as ModelHandle).kind === 'batchproof.model';
}

/** A setting as text to compare by value (objects by their content; a BigInt, which JSON refuses, as 2n). */
function settingKey(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)) ?? String(value);
}

/**
 * Opens a model once: a file path, ONNX bytes, an existing InferenceSession or a handle.
 * Bad files get one clear line; a provider that cannot load is an error, never a silent CPU run.
 */
export async function openModel(source: ModelSource, settings: SessionSettings = {}): Promise<ModelHandle> {
  if (isModelHandle(source)) {
    if (source.closed) throw new BadInputError(`this model handle (${source.source}) was closed (by handle.close() or its fixture's close()); load the model again`);
    // A handle is already pinned: options that ask for another session would be silently ignored.
    const defaults: SessionSettings = { provider: 'cpu', optimization: 'all', deterministic: false, executionMode: 'sequential', memoryArena: true, extra: {}, providerOptions: {} };
    for (const key of SESSION_OPTION_KEYS) {
      const wanted = settings[key];
      const have = source.settings[key] ?? defaults[key];
      if (wanted !== undefined && settingKey(wanted) !== settingKey(have)) {
        throw new BadInputError(`${key}: ${formatValue(wanted)} asks for another session than this model handle's (${key}: ${formatValue(have ?? 'default')}); load the model with a fixture made with those settings, or leave ${key} out`);
      }
    }
    return source;
  }
  if (isInferenceSession(source)) {
    // Its options were fixed when it was made: settings would be ignored, and the report claim them.
    const asked = SESSION_OPTION_KEYS.find((key) => settings[key] !== undefined);
    if (asked) {
      throw new BadInputError(`${asked}: ${formatValue(settings[asked])} cannot change an InferenceSession you made (its options are fixed when it is created); create the session with those options, or pass the model's path or bytes with ${asked}`);
    }
    if (source.outputNames.length === 0) throw new BadInputError(noOutputs('<session>'));
    return makeHandle(source, '<session>', settings, false, null);
  }
  validateSettings(settings);
  let bytes: Uint8Array;
  let label: string;
  if (typeof source === 'string') {
    label = source;
    // Only the head is read to sniff the format; onnxruntime loads the file itself from its
    // path, so external-data files next to it resolve and large models are not read twice.
    bytes = readModelHead(source);
  } else if (ArrayBuffer.isView(source) || isArrayBuffer(source)) {
    // Checked without instanceof: under Jest the bytes may come from another realm.
    label = '<bytes>';
    bytes = ArrayBuffer.isView(source)
      ? new Uint8Array(source.buffer, source.byteOffset, source.byteLength)
      : new Uint8Array(source as ArrayBuffer);
  } else {
    throw new BadInputError(
      `expected a model: a path to an .onnx file, its bytes, an InferenceSession or a batchproof model handle; got ${describeValue(source)}`,
    );
  }
  // The same words as every other command for a file that is not a usable model.
  checkModelHead(bytes, label);
  // Settings and provider are checked, and failures worded, in createSession (runtime/session.ts).
  // A path goes to onnxruntime as a path: external-data files next to it resolve.
  const session = await createSession(typeof source === 'string' ? source : bytes, settings, { label });
  // A session with no outputs loads, then every run fails ("'fetches' cannot be an empty array").
  if (session.outputNames.length === 0) {
    await session.release();
    throw new BadInputError(noOutputs(label));
  }
  // Bytes are kept by reference (no copy) so their graph can be read later, on demand.
  return makeHandle(session, label, settings, true, typeof source === 'string' ? source : bytes);
}

/**
 * Model bytes as a runner, named `label` in every message (the model they came from) with its
 * external-data files in `externalDir`: how stats, locate and the padding diagnosis run a graph
 * batchproof rewrote (intermediates exposed). `graphFrom` is where its graph can be read, the
 * bytes by default; null for rewritten bytes, which change back once onnxruntime has read them.
 */
export async function openModelBytes(
  bytes: Uint8Array,
  settings: SessionSettings,
  options: { label: string; externalDir?: string; graphFrom?: Uint8Array | null },
): Promise<ModelHandle> {
  const session = await createSession(bytes, settings, { label: options.label, externalDir: options.externalDir });
  return makeHandle(session, options.label, settings, true, options.graphFrom === undefined ? bytes : options.graphFrom);
}

function noOutputs(label: string): string {
  return `${label}: the model declares no outputs, so there is nothing to compare; re-export it with its outputs (the graph's output list is empty)`;
}

let releaseOnClose = true;

/**
 * For a process that ends as soon as its command is done (the bin's check and determinism, one
 * session each; src/cli/run.ts): close() marks a handle closed without releasing its onnxruntime
 * session, which the process's exit frees anyway. Releasing it first (joining onnxruntime's
 * threads, freeing its allocations) cost every check about 1.4 ms more to its end.
 */
export function leaveSessionsToExit(): void {
  releaseOnClose = false;
}

/**
 * `graphFrom` is where the model's graph can be read (graphOf): its path or its bytes; null for a
 * bare session. Left out, a source that is a path is used.
 */
export function makeHandle(
  session: ort.InferenceSession,
  source: string,
  settings: SessionSettings,
  owned: boolean,
  graphFrom?: string | Uint8Array | null,
): ModelHandle {
  const { inputs, outputs } = describeSession(session);
  let closed = false;
  const handle: ModelHandle = {
    kind: 'batchproof.model',
    // provider 'wasm' is onnxruntime-web's session behind onnxruntime-node's surface (wasm.ts).
    runtime: settings.provider === 'wasm' ? 'onnxruntime-web' : 'onnxruntime-node',
    session,
    source,
    inputs,
    outputs,
    settings: { provider: 'cpu', ...settings },
    run(feeds, names, call) {
      return timedRun(source, call, () => session.run(feeds, names as string[]), handle.runtime);
    },
    get closed() {
      return closed;
    },
    async close() {
      if (closed) return;
      closed = true;
      if (owned && releaseOnClose) await session.release();
    },
  };
  graphSources.set(handle, graphFrom !== undefined ? graphFrom : source.startsWith('<') ? null : source);
  return handle;
}

/**
 * The model's graph, read from a path or bytes when someone asks (readModel), and what failed.
 * `tableBounds`, once known, is the bounds of the tables its integer inputs index (tableBoundsOf).
 */
export type GraphRead =
  | { graph: GraphFacts; constants: Record<string, ConstantFacts>; reason: null; tableBounds?: Record<string, IdBound> }
  | { graph: null; constants: null; reason: string };

const graphSources = new WeakMap<ModelHandle, string | Uint8Array | null>();

/**
 * Where a handle's model can be read again: its path, its bytes, or null (a bare session,
 * rewritten bytes, a batch function: its source names its module, which is no model).
 */
export function modelSourceOf(handle: ModelHandle): string | Uint8Array | null {
  return graphSources.get(handle) ?? null;
}
const graphReads = new WeakMap<ModelHandle, GraphRead>();

/**
 * A model file's graph facts as readHandleGraph keeps them, with the bounds of its id tables:
 * what a check of a text model needs of the graph before anything else, so a store may give
 * them without making the graph (about 2 ms of a repeated text check: bench/RESULTS.md).
 */
export type KeptFacts = Pick<GraphRead & { reason: null }, 'graph' | 'constants'> & { tableBounds: Record<string, IdBound> };

/**
 * Where graph facts of model files are kept between processes, by the file's identity. The CLI
 * keeps them on disk (src/cli/facts-cache.ts): a text model's facts cost a repeated check more
 * than its whole comparison (decoding the graph, cold, is about 20 ms of a 300 ms check). The
 * library keeps none: it writes nothing the user did not ask for.
 */
export interface GraphFactsStore {
  /** The facts kept for `file` as it is now, or a function that keeps them (given the file as it was when looked up). */
  lookup(file: string): { facts: KeptFacts } | { keep(facts: KeptFacts): void };
}

let factsStore: GraphFactsStore | null = null;

/** Sets (or with null, removes) the store readHandleGraph looks in before it decodes a model file. */
export function useGraphFactsStore(store: GraphFactsStore | null): void {
  factsStore = store;
}

/**
 * The graph of the model behind a handle, parsed once on first use and cached on the handle;
 * null when it cannot be read (a bare InferenceSession, or a file batchproof cannot parse).
 * Costs a read and a parse (about a millisecond per 100 KB): call it only when graph facts matter.
 */
export function graphOf(handle: ModelHandle): GraphFacts | null {
  return readHandleGraph(handle).graph;
}

/**
 * graphOf with the initializers' and Constant nodes' dtypes, dims and small values (the decoded
 * model itself is dropped: its tensor bytes would keep a large model's file in memory), or why
 * there is no graph, in words for a report.
 */
export function readHandleGraph(handle: ModelHandle): GraphRead {
  const hit = graphReads.get(handle);
  if (hit) return hit;
  const from = modelSourceOf(handle);
  const read: GraphRead = from === null
    ? { graph: null, constants: null, reason: `the model came as ${handle.source === '<session>' ? 'an InferenceSession' : handle.source}, whose graph batchproof cannot read (pass its path or bytes)` }
    : typeof from === 'string' ? readFileFacts(from, handle.source) : decodeFacts(from, handle.source);
  graphReads.set(handle, read);
  return read;
}

/** A model file's facts: from the store when it kept them for the file as it is, else decoded (and kept). */
function readFileFacts(file: string, source: string): GraphRead {
  // Looked up before the file is read: facts are kept under the identity the file had then.
  let kept: ReturnType<GraphFactsStore['lookup']> | null = null;
  try {
    kept = factsStore?.lookup(file) ?? null;
  } catch {
    // A store that fails is as if there were none.
  }
  if (kept && 'facts' in kept) {
    // Not spread: a store may make the graph only when it is asked for.
    const facts = kept.facts;
    return {
      get graph() {
        return facts.graph;
      },
      get constants() {
        return facts.constants;
      },
      tableBounds: facts.tableBounds,
      reason: null,
    };
  }
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    return unreadable(e);
  }
  const read = decodeFacts(bytes, source);
  if (read.graph && kept) {
    try {
      kept.keep({ graph: read.graph, constants: read.constants, tableBounds: boundsFrom(read) });
    } catch {
      // Not kept: the next run decodes the graph again.
    }
  }
  return read;
}

/**
 * The bounds of the tables the model's integer inputs index (onnx/tables.ts), or why the graph
 * cannot say: from the graph facts, worked out once a handle; a store that kept them gives them
 * without making the graph.
 */
export function tableBoundsOf(handle: ModelHandle): { bounds: Record<string, IdBound> } | { reason: string } {
  const read = readHandleGraph(handle);
  // By its reason, not its graph: asking for the graph makes it.
  return read.reason !== null ? { reason: read.reason } : { bounds: boundsFrom(read) };
}

function boundsFrom(read: GraphRead & { reason: null }): Record<string, IdBound> {
  if (!read.tableBounds) {
    const { tableBounds } = require('../onnx/tables') as typeof import('../onnx/tables');
    read.tableBounds = tableBounds(read.graph, read.constants);
  }
  return read.tableBounds;
}

function decodeFacts(bytes: Uint8Array, source: string): GraphRead {
  try {
    // Loaded on demand; fast-graph reads the wire format without protobufjs (whose load and
    // first decode cost more than a check may) and falls back to readModel on any doubt.
    const { readModelFacts } = require('../onnx/fast-graph') as typeof import('../onnx/fast-graph');
    const { graph, constants } = readModelFacts(bytes, source);
    return { graph, constants, reason: null };
  } catch (e) {
    return unreadable(e);
  }
}

/** onnxruntime loaded the model, so it runs; only graph facts are missing. */
function unreadable(e: unknown): GraphRead {
  return { graph: null, constants: null, reason: `its graph could not be read (${oneLine((e as Error).message ?? String(e))})` };
}

function readModelHead(path: string): Uint8Array {
  const stat = statModelFile(path);
  const fd = openModelFile(path);
  try {
    const head = Buffer.alloc(Math.min(64, stat.size));
    fs.readSync(fd, head, 0, head.length, 0);
    return head;
  } finally {
    fs.closeSync(fd);
  }
}


function isArrayBuffer(x: unknown): x is ArrayBuffer {
  return Object.prototype.toString.call(x) === '[object ArrayBuffer]';
}

/** The model's bytes behind a handle (read from its path, or the bytes it was opened from); null for a bare session. */
export function modelBytesOf(handle: ModelHandle): Uint8Array | null {
  const from = modelSourceOf(handle);
  if (from === null) return null;
  try {
    return typeof from === 'string' ? new Uint8Array(fs.readFileSync(from)) : from;
  } catch {
    return null;
  }
}
