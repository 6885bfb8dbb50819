import * as fs from 'fs';
import * as os from 'os';
import * as ort from 'onnxruntime-node';
import { BadInputError, formatValue } from '../errors';
import { checkModelHead, MODEL_FILE_ERRORS, statModelFile } from '../onnx/model-file';
import { explainProviderError } from '../fixture/reasons';
import type { GraphFacts } from '../onnx/graph';
import type { ConstantFacts } from '../onnx/tables';

/** Execution providers batchproof knows how to pin ('wasm': onnxruntime-web's WebAssembly backend, in Node). */
export const PROVIDERS = ['cpu', 'webgpu', 'cuda', 'tensorrt', 'wasm'] as const;
/** An execution provider name: 'cpu', 'webgpu', 'cuda', 'tensorrt' or 'wasm'. */
export type ProviderName = (typeof PROVIDERS)[number];

export const OPTIMIZATION_LEVELS = ['disabled', 'basic', 'extended', 'all'] as const;
/** onnxruntime's graph optimization level: 'disabled', 'basic', 'extended' or 'all'. */
export type OptimizationLevel = (typeof OPTIMIZATION_LEVELS)[number];

/** How a session is created. Every field is optional; absent means onnxruntime's default. */
export interface SessionSettings {
  /** The one execution provider the session may use (no CPU fallback). Default 'cpu'. */
  provider?: ProviderName;
  /** Intra-op threads. Default: onnxruntime's (one per physical core). */
  threads?: number;
  /** Inter-op threads (only used with executionMode 'parallel'). */
  interOpThreads?: number;
  /** Graph optimization level. Default: onnxruntime's ('all'). */
  optimization?: OptimizationLevel;
  /** Sets onnxruntime's session.use_deterministic_compute. */
  deterministic?: boolean;
  executionMode?: 'sequential' | 'parallel';
  /** onnxruntime's CPU memory arena (default on). */
  memoryArena?: boolean;
  /**
   * Session config entries, string values only, as onnxruntime-node takes them, e.g.
   * `{ session: { disable_cpu_ep_fallback: '1' } }` to make onnxruntime refuse a GPU session
   * that would run some nodes on the CPU.
   */
  extra?: Record<string, unknown>;
  /** Options for the provider itself, passed as they are (e.g. WebGPU's `{ validationMode: 'disabled' }`). */
  providerOptions?: Record<string, unknown>;
}

/** Facts about one model input or output as the session declares it. */
export interface ValueInfo {
  name: string;
  dtype: string;
  /** Declared dims: numbers for fixed dims, strings for symbolic ones ('' when unnamed). */
  shape: (number | string)[];
}

/** An opened model: one session, created once and reused by every run of a check. */
export interface ModelHandle {
  readonly kind: 'batchproof.model';
  readonly session: ort.InferenceSession;
  /** Where it came from: a file path, '<bytes>' or '<session>'. */
  readonly source: string;
  readonly inputs: ValueInfo[];
  readonly outputs: ValueInfo[];
  readonly settings: Readonly<SessionSettings>;
  /** Releases the session; later use of the handle is an error. */
  close(): Promise<void>;
  readonly closed: boolean;
}

/** Anything a check accepts as "the model". */
export type ModelSource = string | Uint8Array | ArrayBuffer | ort.InferenceSession | ModelHandle;

/** True when `x` is a handle from openModel (or a fixture), which the checks reuse instead of opening the model again. */
export function isModelHandle(x: unknown): x is ModelHandle {
  return typeof x === 'object' && x !== null && (x as ModelHandle).kind === 'batchproof.model';
}

export function isInferenceSession(x: unknown): x is ort.InferenceSession {
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof (x as ort.InferenceSession).run === 'function' &&
    Array.isArray((x as ort.InferenceSession).inputNames)
  );
}

/** Builds onnxruntime's session options, never carrying undefined values (ORT rejects them). */
export function sessionOptions(settings: SessionSettings): ort.InferenceSession.SessionOptions {
  const provider = settings.provider ?? 'cpu';
  const ep = settings.providerOptions && Object.keys(settings.providerOptions).length > 0
    ? ({ name: provider, ...settings.providerOptions } as ort.InferenceSession.ExecutionProviderConfig)
    : provider;
  // Exactly one provider: onnxruntime-common drops an unavailable provider from a longer list
  // with only a console warning, so a list of two could silently run on the second.
  const options: Record<string, unknown> = { executionProviders: [ep] };
  if (settings.extra !== undefined) options.extra = settings.extra;
  if (settings.threads !== undefined) options.intraOpNumThreads = settings.threads;
  if (settings.interOpThreads !== undefined) options.interOpNumThreads = settings.interOpThreads;
  if (settings.optimization !== undefined) options.graphOptimizationLevel = settings.optimization;
  if (settings.executionMode !== undefined) options.executionMode = settings.executionMode;
  if (settings.memoryArena !== undefined) options.enableCpuMemArena = settings.memoryArena;
  if (settings.deterministic) {
    const extra = (settings.extra ?? {}) as { session?: Record<string, string> };
    options.extra = { ...extra, session: { ...(extra.session ?? {}), use_deterministic_compute: '1' } };
  }
  return options as ort.InferenceSession.SessionOptions;
}

function oneLine(message: string): string {
  return message.replace(/\s+/g, ' ').trim();
}

/** Reads the declared inputs and outputs of a session. */
export function describeSession(session: ort.InferenceSession): { inputs: ValueInfo[]; outputs: ValueInfo[] } {
  const read = (meta: readonly ort.InferenceSession.ValueMetadata[]): ValueInfo[] =>
    meta.map((m) =>
      m.isTensor
        ? { name: m.name, dtype: m.type, shape: m.shape.map((d) => (typeof d === 'number' && d < 0 ? '' : d)) }
        : { name: m.name, dtype: 'non-tensor', shape: [] },
    );
  return { inputs: read(session.inputMetadata), outputs: read(session.outputMetadata) };
}

/**
 * The most threads a session may ask for: 4 per core, at least 64. onnxruntime starts every
 * thread at session creation and spins them; 100000 threads hang the machine instead of failing.
 */
export function maxThreads(): number {
  return Math.max(64, 4 * os.availableParallelism());
}

/** Checks session settings; each problem is one line that names the fix. */
export function validateSettings(settings: SessionSettings): void {
  if (typeof settings !== 'object' || settings === null || Array.isArray(settings)) {
    throw new BadInputError(`session settings must be an object, got ${formatValue(settings)}; for example { provider: 'cpu', threads: 2 }`);
  }
  const provider = settings.provider ?? 'cpu';
  if (!(PROVIDERS as readonly unknown[]).includes(provider)) {
    throw new BadInputError(`unknown provider ${typeof provider === 'string' ? `'${provider}'` : formatValue(provider)}; use one of ${PROVIDERS.join(', ')}`);
  }
  for (const key of ['threads', 'interOpThreads'] as const) {
    const v = settings[key] as unknown;
    if (v !== undefined && !(typeof v === 'number' && Number.isInteger(v) && v > 0)) {
      throw new BadInputError(`${key} must be a positive integer, got ${formatValue(v)}; for example ${key}: 2`);
    }
    const cap = maxThreads();
    if (typeof v === 'number' && v > cap) {
      throw new BadInputError(`${key} ${v} is more than the ${cap} allowed here (4 per core, at least 64; this machine has ${os.availableParallelism()} cores); use at most ${cap}, for example ${key}: ${os.availableParallelism()}`);
    }
  }
  if (settings.optimization !== undefined && !(OPTIMIZATION_LEVELS as readonly unknown[]).includes(settings.optimization)) {
    const v = settings.optimization as unknown;
    throw new BadInputError(
      `unknown optimization level ${typeof v === 'string' ? `'${v}'` : formatValue(v)}; use one of ${OPTIMIZATION_LEVELS.join(', ')}`,
    );
  }
  for (const key of ['deterministic', 'memoryArena'] as const) {
    const v = settings[key];
    if (v !== undefined && typeof v !== 'boolean') throw new BadInputError(`${key} must be true or false, got ${formatValue(v)}; for example ${key}: true`);
  }
  if (settings.executionMode !== undefined && !(['sequential', 'parallel'] as unknown[]).includes(settings.executionMode)) {
    throw new BadInputError(`executionMode must be 'sequential' or 'parallel', got ${formatValue(settings.executionMode)}`);
  }
  for (const key of ['extra', 'providerOptions'] as const) {
    const v = settings[key];
    if (v !== undefined && (typeof v !== 'object' || v === null || Array.isArray(v))) {
      throw new BadInputError(`${key} must be an object, got ${describeValue(v)}; for example ${key === 'extra' ? "extra: { session: { use_deterministic_compute: '1' } }" : 'providerOptions: { deviceId: 0 }'}`);
    }
  }
  // onnxruntime-node takes config entries as strings only ("sessionOptions.extra value must be a string").
  const walk = (value: unknown, path: string): void => {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) walk(v, `${path}.${k}`);
    } else if (typeof value !== 'string') {
      throw new BadInputError(`${path} must be a string (onnxruntime takes session config values as strings), got ${formatValue(value)}; for example '${typeof value === 'symbol' ? 'value' : String(value)}'`);
    }
  };
  if (settings.extra !== undefined) walk(settings.extra, 'extra');
}

/** Why a provider could not create a session, and what cures it. */
/**
 * A GPU provider (or wasm) that the cached, out-of-process probe found missing fails here, in
 * one line, before an in-process attempt prints native driver noise to stderr. Every session
 * batchproof makes (here and in onnx/session.ts) goes through this and sessionError, so every
 * command words the same failure the same way.
 */
export function assertProviderAvailable(provider: ProviderName): void {
  if (provider === 'cpu') return;
  const { unavailableReason } = require('../fixture/providers') as typeof import('../fixture/providers');
  const missing = unavailableReason(provider);
  if (missing) throw new BadInputError(providerFailure(provider, missing));
}

/** onnxruntime's failure to create a session, as one line naming the cause and the cure. */
export function sessionError(e: unknown, provider: ProviderName, label: string): BadInputError {
  if (e instanceof BadInputError) return e; // already one line (a missing onnxruntime-web, say)
  const reason = oneLine((e as Error)?.message ?? String(e));
  if (provider !== 'cpu' && /provider|backend|adapter|vulkan|webgpu|cuda|tensorrt|dawn|shared library/i.test(reason)) {
    return new BadInputError(providerFailure(provider, explainProviderError(provider, reason)));
  }
  if (/protobuf parsing failed/i.test(reason)) return new BadInputError(MODEL_FILE_ERRORS.truncated(label));
  if (/external data/i.test(reason)) return new BadInputError(MODEL_FILE_ERRORS.externalMissing(label, `its external data could not be read (${reason})`));
  if (/has no graph|graph is null|Missing graph/i.test(reason)) return new BadInputError(MODEL_FILE_ERRORS.noGraph(label));
  // onnxruntime's words for a graph with nothing to compute (no nodes, no outputs).
  if (/OrtValue indexes should have been populated/i.test(reason)) {
    return new BadInputError(`${label}: the model's graph computes nothing (no outputs, or no nodes that produce them), so onnxruntime cannot load it; re-export it with its outputs`);
  }
  return new BadInputError(`${label}: onnxruntime could not load the model (${reason}); re-export it or check the session options`);
}

export function providerFailure(provider: ProviderName, reason: string): string {
  const cure: Record<ProviderName, string> = {
    cpu: 'check the model and the session options',
    webgpu: 'WebGPU needs a Vulkan-capable GPU driver (it runs on NVIDIA GPUs through Vulkan); use the cpu provider on machines without one',
    cuda: "onnxruntime-node installs the CUDA provider libraries only with 'npm install --onnxruntime-node-install=cuda12' (downloaded at install time, from outside the npm registry), and needs an NVIDIA GPU with CUDA 12",
    tensorrt: "onnxruntime-node installs the TensorRT provider libraries only with 'npm install --onnxruntime-node-install=cuda12', and needs TensorRT on the machine",
    wasm: "install onnxruntime-web 1.30 with 'npm install --save-dev onnxruntime-web@~1.30.0'",
  };
  return `provider '${provider}' is not available here (${oneLine(reason)}); ${cure[provider]}`;
}

/**
 * Opens a model once: a file path, ONNX bytes, an existing InferenceSession or a handle.
 * Bad files get one clear line; a provider that cannot load is an error, never a silent CPU run.
 */
export async function openModel(source: ModelSource, settings: SessionSettings = {}): Promise<ModelHandle> {
  if (isModelHandle(source)) {
    if (source.closed) throw new BadInputError(`this model handle (${source.source}) was closed (by handle.close() or its fixture's close()); load the model again`);
    // A handle is already pinned: options that ask for another session would be silently ignored.
    const defaults = { provider: 'cpu', threads: undefined, optimization: 'all', deterministic: false };
    for (const key of ['provider', 'threads', 'optimization', 'deterministic'] as const) {
      const wanted = settings[key];
      const have = source.settings[key] ?? defaults[key];
      if (wanted !== undefined && wanted !== have) {
        throw new BadInputError(`${key}: ${formatValue(wanted)} asks for another session than this model handle's (${key}: ${formatValue(have ?? 'default')}); load the model with a fixture made with those settings, or leave ${key} out`);
      }
    }
    return source;
  }
  if (isInferenceSession(source)) {
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
  // A GPU provider that the (cached, out-of-process) probe found missing fails here, in one
  // line, before an in-process attempt prints native driver noise to stderr.
  const provider = settings.provider ?? 'cpu';
  assertProviderAvailable(provider);
  let session: ort.InferenceSession;
  try {
    // 'wasm' is onnxruntime-web's session behind onnxruntime-node's surface (src/runtime/wasm.ts),
    // loaded on demand: onnxruntime-web is large and optional.
    session = provider === 'wasm'
      ? await (require('../runtime/wasm') as typeof import('../runtime/wasm')).createWasmSession(typeof source === 'string' ? source : bytes, settings)
      : typeof source === 'string'
        ? await ort.InferenceSession.create(source, sessionOptions(settings))
        : await ort.InferenceSession.create(bytes, sessionOptions(settings));
  } catch (e) {
    throw sessionError(e, provider, label);
  }
  // A session with no outputs loads, then every run fails ("'fetches' cannot be an empty array").
  if (session.outputNames.length === 0) {
    await session.release();
    throw new BadInputError(noOutputs(label));
  }
  // Bytes are kept by reference (no copy) so their graph can be read later, on demand.
  return makeHandle(session, label, settings, true, typeof source === 'string' ? source : bytes);
}

function noOutputs(label: string): string {
  return `${label}: the model declares no outputs, so there is nothing to compare; re-export it with its outputs (the graph's output list is empty)`;
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
    session,
    source,
    inputs,
    outputs,
    settings: { provider: 'cpu', ...settings },
    get closed() {
      return closed;
    },
    async close() {
      if (closed) return;
      closed = true;
      if (owned) await session.release();
    },
  };
  graphSources.set(handle, graphFrom !== undefined ? graphFrom : source.startsWith('<') ? null : source);
  return handle;
}

/** The model's graph, read from a path or bytes when someone asks (readModel), and what failed. */
export type GraphRead =
  | { graph: GraphFacts; constants: Record<string, ConstantFacts>; reason: null }
  | { graph: null; constants: null; reason: string };

const graphSources = new WeakMap<ModelHandle, string | Uint8Array | null>();
const graphReads = new WeakMap<ModelHandle, GraphRead>();

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
  const from = graphSources.get(handle) ?? (handle.source.startsWith('<') ? null : handle.source);
  let read: GraphRead;
  if (from === null) {
    read = { graph: null, constants: null, reason: `the model came as ${handle.source === '<session>' ? 'an InferenceSession' : handle.source}, whose graph batchproof cannot read (pass its path or bytes)` };
  } else {
    try {
      // Loaded on demand; fast-graph reads the wire format without protobufjs (whose load and
      // first decode cost more than a check may) and falls back to readModel on any doubt.
      const { readModelFacts } = require('../onnx/fast-graph') as typeof import('../onnx/fast-graph');
      const bytes = typeof from === 'string' ? fs.readFileSync(from) : from;
      const { graph, constants } = readModelFacts(bytes, handle.source);
      read = { graph, constants, reason: null };
    } catch (e) {
      // onnxruntime loaded the model, so it runs; only graph facts are missing.
      read = { graph: null, constants: null, reason: `its graph could not be read (${oneLine((e as Error).message ?? String(e))})` };
    }
  }
  graphReads.set(handle, read);
  return read;
}

function readModelHead(path: string): Uint8Array {
  const stat = statModelFile(path);
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch (e) {
    throw new BadInputError(`${path}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); check its permissions`);
  }
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

export function describeValue(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return `an array of length ${x.length}`;
  if (typeof x === 'object') return `an object (${(x as object).constructor?.name ?? 'Object'})`;
  return `${typeof x} ${JSON.stringify(x)}`;
}

/** The model's bytes behind a handle (read from its path, or the bytes it was opened from); null for a bare session. */
export function modelBytesOf(handle: ModelHandle): Uint8Array | null {
  const from = graphSources.get(handle) ?? (handle.source.startsWith('<') ? null : handle.source);
  if (from === null) return null;
  try {
    return typeof from === 'string' ? new Uint8Array(fs.readFileSync(from)) : from;
  } catch {
    return null;
  }
}
