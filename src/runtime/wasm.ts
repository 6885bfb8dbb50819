/**
 * Provider 'wasm': onnxruntime-web's WebAssembly backend, the runtime a browser page embeds
 * queries with, run here in plain Node. onnxruntime-web is an optional peer dependency (about
 * 140 MB installed): it is required only when a 'wasm' session is asked for.
 *
 * What the rest of batchproof calls on a session (names, metadata, run, release) is an
 * onnxruntime-node InferenceSession; createWasmSession returns an object with the same surface,
 * converting tensors at the border so the two runtimes' Tensor classes never meet.
 */
import fs = require('fs');
import path = require('path');
import vm = require('vm');
import ort = require('onnxruntime-node');
import { BadInputError, oneLine } from '../errors';
import { FIELD, fieldString, graphFields, locateGraph, readVarint, scanFields, WIRE } from '../onnx/wire';
import { explainProviderError, providerFailure } from './providers';
import { sessionOptions, type SessionSettings } from './settings';
import { locatePackage, nodeRequire, WASM_PACKAGE, wasmUnavailableReason } from './web-package';

/** The part of onnxruntime-web used here: the onnxruntime-common API it re-exports. */
type WebOrt = Pick<typeof ort, 'InferenceSession' | 'Tensor'> & {
  env: { versions: Record<string, string | undefined>; wasm: { numThreads?: number; simd?: boolean | 'fixed' | 'relaxed' } };
};

/** What a wasm session runs with in this process (the fingerprint's words). */
export interface WasmFacts {
  /** onnxruntime-web's version. */
  version: string;
  /** env.wasm.numThreads: 1 unless asked (see wasmThreads). */
  threads: number;
  /** env.wasm.simd as onnxruntime-web reads it (its default, true: check fixed-width SIMD). */
  simd: boolean | 'fixed' | 'relaxed';
}

/** One line for a 'wasm' that cannot load: the reason and the cure. */
export function wasmFailure(reason: string): string {
  return providerFailure('wasm', reason);
}

interface Loaded {
  ort: WebOrt;
  version: string;
  /** env.wasm.numThreads the backend was started with: fixed for the process from then on. */
  threads: number | null;
}

/*
 * Loaded once per process, kept on the main realm: onnxruntime-web's WebAssembly instance (and so
 * its thread count) lives as long as the process, and Jest runs many test files in one process,
 * each with a fresh module registry.
 */
const LOADED = Symbol.for('batchproof.onnxruntimeWeb');
function state(): { loaded?: Loaded } {
  const main = vm.runInThisContext('globalThis') as Record<symbol, { loaded?: Loaded } | undefined>;
  return (main[LOADED] ??= {});
}

/** onnxruntime-web, loaded on first use; a missing or wrong one is one line naming the cure. */
export function loadWasmRuntime(): Loaded {
  const s = state();
  if (s.loaded) return s.loaded;
  const reason = wasmUnavailableReason();
  if (reason) throw new BadInputError(wasmFailure(reason));
  const req = nodeRequire();
  let web: WebOrt;
  try {
    // A variable, not a literal: the CLI's bundler must leave onnxruntime-web to be found at run time.
    const id = WASM_PACKAGE;
    web = req(id) as WebOrt;
  } catch (e) {
    throw new BadInputError(wasmFailure(`${WASM_PACKAGE} could not be loaded (${oneLine(String((e as Error).message ?? e))})`));
  }
  s.loaded = { ort: web, version: web.env.versions.web ?? (locatePackage(req) as { version: string }).version, threads: null };
  return s.loaded;
}

/**
 * The wasm thread count for these settings. One by default, in Node as in most browser pages:
 * the threaded build runs its threads as workers sharing a SharedArrayBuffer, which a page gets
 * only when cross-origin isolated (onnxruntime-web itself falls back to 1 otherwise), and one
 * thread spawns no worker at all, so the default is the answer most users' browsers compute.
 */
export function wasmThreads(settings: SessionSettings): number {
  return settings.threads ?? 1;
}

/** What a wasm session with these settings runs with here; null when onnxruntime-web cannot load. */
export function wasmFacts(settings: SessionSettings): WasmFacts | null {
  const found = locatePackage(nodeRequire());
  if ('reason' in found) return null;
  const loaded = state().loaded;
  return {
    version: found.version,
    threads: loaded?.threads ?? wasmThreads(settings),
    simd: loaded?.ort.env.wasm.simd ?? true,
  };
}

type Feeds = Record<string, ort.Tensor>;
type Fetches = readonly string[] | Record<string, ort.Tensor | null>;

/**
 * A 'wasm' session: the model's bytes (read from the path when given one) in onnxruntime-web,
 * pinned to its 'wasm' backend alone. Settings map as onnxruntime-web takes them: threads to
 * env.wasm.numThreads (once per process), optimization to graphOptimizationLevel.
 */
export async function createWasmSession(model: string | Uint8Array, settings: SessionSettings, externalDir?: string): Promise<ort.InferenceSession> {
  const loaded = loadWasmRuntime();
  const web = loaded.ort;
  const threads = wasmThreads(settings);
  if (settings.interOpThreads !== undefined) {
    throw new BadInputError(`interOpThreads does not apply to provider 'wasm' (onnxruntime-web runs one session's nodes in order); leave it out, or use threads for env.wasm.numThreads`);
  }
  if (loaded.threads !== null && loaded.threads !== threads) {
    throw new BadInputError(
      `provider 'wasm' already runs with ${loaded.threads} thread${loaded.threads === 1 ? '' : 's'} in this process (onnxruntime-web reads env.wasm.numThreads once, when its first session starts); ask for threads: ${loaded.threads}, or run the other thread count in another process`,
    );
  }
  web.env.wasm.numThreads = threads;
  const bytes = typeof model === 'string' ? new Uint8Array(fs.readFileSync(model)) : model;
  // A fresh options object: onnxruntime-web writes its own config entries into the one it gets,
  // into `extra.session` too, which is the caller's own object (strings only: validateSettings).
  const options = sessionOptions({ ...settings, provider: 'wasm' }) as Record<string, unknown>;
  if (options.extra) options.extra = JSON.parse(JSON.stringify(options.extra));
  // onnxruntime-web opens no files of its own: the external data files are handed to it by path
  // (it reads them with fs in Node), beside the model file, or where onnxruntime-node would look.
  const external = externalLocations(bytes);
  if (external.length) {
    const dir = typeof model === 'string' ? path.dirname(path.resolve(model)) : externalDir ?? process.cwd();
    options.externalData = external.map((location) => ({ path: location, data: path.resolve(dir, location) })).filter((e) => fs.existsSync(e.data));
  }
  delete options.intraOpNumThreads; // the wasm backend takes its threads from env.wasm.numThreads
  let session: ort.InferenceSession;
  try {
    session = await web.InferenceSession.create(inRealm(bytes, 'Uint8Array') as Uint8Array, options as ort.InferenceSession.SessionOptions);
  } catch (e) {
    const reason = oneLine(String((e as Error).message ?? e));
    // The backend did not start (its .wasm file missing or refused): the runtime, not the model.
    if (/no available backend|backend not found/i.test(reason)) throw new BadInputError(wasmFailure(explainProviderError('wasm', reason)));
    loaded.threads = threads; // the backend started (the model failed): its thread count is set
    // The model's own problems (a truncated file, an unsupported operator): open.ts words them.
    throw e;
  }
  loaded.threads = threads;
  return wrap(session, web);
}

/**
 * The external data files the graph's initializers name (their `location`s), read from the wire
 * without decoding the weights; none for a model that cannot be scanned (onnxruntime says why).
 */
function externalLocations(bytes: Uint8Array): string[] {
  const found = new Set<string>();
  try {
    for (const f of graphFields(bytes, locateGraph(bytes))) {
      if (f.field !== FIELD.graph.initializer || f.wireType !== WIRE.LEN) continue;
      const tensor = scanFields(bytes, f.valueStart, f.end);
      const location = tensor.find((t) => t.field === FIELD.tensor.dataLocation && t.wireType === WIRE.VARINT);
      if (!location || readVarint(bytes, location.valueStart)[0] !== 1) continue; // 1: EXTERNAL
      for (const entry of tensor.filter((t) => t.field === FIELD.tensor.externalData && t.wireType === WIRE.LEN)) {
        const kv = scanFields(bytes, entry.valueStart, entry.end); // StringStringEntryProto: key 1, value 2
        const key = kv.find((x) => x.field === 1);
        const value = kv.find((x) => x.field === 2);
        if (key && value && fieldString(bytes, key) === 'location') found.add(fieldString(bytes, value));
      }
    }
  } catch {
    return [];
  }
  return [...found];
}

/** onnxruntime-web's session behind onnxruntime-node's surface. */
function wrap(session: ort.InferenceSession, web: WebOrt): ort.InferenceSession {
  // When both packages share one onnxruntime-common (plain Node, deduplicated), their tensors are
  // one class and pass as they are; under Jest, or with two copies, each side gets its own.
  const same = (web.Tensor as unknown) === (ort.Tensor as unknown);
  const toWeb = (t: ort.Tensor): ort.Tensor => (same ? t : (new web.Tensor(t.type as never, inRealm(t.data, realmName(t.data)) as never, t.dims) as unknown as ort.Tensor));
  const toNode = (t: ort.Tensor): ort.Tensor => (same ? t : new ort.Tensor(t.type as never, localRealm(t.data) as never, t.dims));
  const wrapped = {
    get inputNames() {
      return session.inputNames;
    },
    get outputNames() {
      return session.outputNames;
    },
    get inputMetadata() {
      return session.inputMetadata;
    },
    get outputMetadata() {
      return session.outputMetadata;
    },
    async run(feeds: Feeds, fetchesOrOptions?: Fetches | ort.InferenceSession.RunOptions, options?: ort.InferenceSession.RunOptions) {
      const webFeeds: Feeds = {};
      for (const [name, t] of Object.entries(feeds)) webFeeds[name] = toWeb(t);
      let fetches = fetchesOrOptions;
      if (fetches && !Array.isArray(fetches) && typeof fetches === 'object') {
        // Pre-allocated outputs (a name → tensor map) are converted too; a run options object is not a map of tensors.
        const entries = Object.entries(fetches as Record<string, unknown>);
        if (entries.length && entries.every(([, v]) => v === null || (typeof v === 'object' && v !== null && 'dims' in v))) {
          fetches = Object.fromEntries(entries.map(([k, v]) => [k, v === null ? null : toWeb(v as ort.Tensor)]));
        }
      }
      const out = (await (session.run as (...a: unknown[]) => Promise<Record<string, ort.Tensor>>)(webFeeds, ...(fetches === undefined ? [] : [fetches]), ...(options === undefined ? [] : [options])));
      const result: Record<string, ort.Tensor> = {};
      for (const [name, t] of Object.entries(out)) result[name] = toNode(t);
      return result;
    },
    async release() {
      await session.release();
    },
    startProfiling() {
      session.startProfiling();
    },
    endProfiling() {
      session.endProfiling();
    },
  };
  return wrapped as unknown as ort.InferenceSession;
}

const TYPED = ['Float32Array', 'Float64Array', 'Int8Array', 'Int16Array', 'Int32Array', 'Uint8Array', 'Uint16Array', 'Uint32Array', 'BigInt64Array', 'BigUint64Array'] as const;
type TypedName = (typeof TYPED)[number];

function realmName(data: unknown): TypedName | null {
  const tag = Object.prototype.toString.call(data).slice(8, -1);
  return (TYPED as readonly string[]).includes(tag) ? (tag as TypedName) : null;
}

/**
 * A typed array as Node's main realm builds it (where onnxruntime-web, loaded by Node's own
 * require, checks `instanceof`). Test realms that share Node's constructors (batchproof/jest
 * does) pass through without a copy.
 */
function inRealm(data: unknown, name: TypedName | null): unknown {
  if (name === null) return data; // strings (a plain array) need no realm
  const Ctor = vm.runInThisContext(name) as new (x: ArrayLike<number | bigint>) => unknown;
  return data instanceof (Ctor as unknown as typeof Float32Array) ? data : new Ctor(data as ArrayLike<number>);
}

/** A typed array in this module's realm (where onnxruntime-node's Tensor checks `instanceof`). */
function localRealm(data: unknown): unknown {
  const name = realmName(data);
  if (name === null) return data;
  const Ctor = (globalThis as unknown as Record<string, new (x: ArrayLike<number | bigint>) => unknown>)[name];
  return data instanceof (Ctor as unknown as typeof Float32Array) ? data : new Ctor(data as ArrayLike<number>);
}
