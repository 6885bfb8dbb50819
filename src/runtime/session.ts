/**
 * The one place batchproof makes onnxruntime sessions: every runner (handle.ts), those of the
 * instrumented and spliced models of locate, stats and the diagnosis (openModelBytes) among them,
 * goes through createSession, so every command checks the provider the same way and words the
 * same failure the same way.
 */
import ort = require('onnxruntime-node');
import { BadInputError, oneLine } from '../errors';
import { MODEL_FILE_ERRORS } from '../onnx/model-file';
import { assertProviderAvailable, explainProviderError, providerFailure, type ProviderName } from './providers';
import { sessionOptions, type SessionSettings } from './settings';

/** Facts about one model input or output as the session declares it. */
export interface ValueInfo {
  name: string;
  dtype: string;
  /** Declared dims: numbers for fixed dims, strings for symbolic ones ('' when unnamed). */
  shape: (number | string)[];
}

export function isInferenceSession(x: unknown): x is ort.InferenceSession {
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof (x as ort.InferenceSession).run === 'function' &&
    Array.isArray((x as ort.InferenceSession).inputNames)
  );
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

export interface CreateSessionOptions {
  /** How the model is named in errors: its path, or '<bytes>'. */
  label: string;
  /** Where external data files live (onnxruntime resolves them against the working directory otherwise). */
  externalDir?: string;
}

/**
 * A session on a model file or bytes, pinned to the settings' provider alone: a provider the
 * probe found missing fails in one line before onnxruntime prints native noise; onnxruntime's
 * own failures become one line naming the cause and the cure (sessionError). 'wasm' is
 * onnxruntime-web's session behind onnxruntime-node's surface (wasm.ts), loaded on demand:
 * onnxruntime-web is large and optional.
 */
export async function createSession(model: string | Uint8Array, settings: SessionSettings, options: CreateSessionOptions): Promise<ort.InferenceSession> {
  const provider = settings.provider ?? 'cpu';
  assertProviderAvailable(provider);
  try {
    if (provider === 'wasm') {
      // onnxruntime-web opens no files itself: wasm.ts hands it the external data files.
      return await (require('./wasm') as typeof import('./wasm')).createWasmSession(model, settings, options.externalDir);
    }
    const ortOptions = sessionOptions(settings) as ort.InferenceSession.SessionOptions & { extra?: Record<string, unknown> };
    if (options.externalDir) {
      const extra = (ortOptions.extra ?? {}) as { session?: Record<string, string> };
      ortOptions.extra = { ...extra, session: { ...(extra.session ?? {}), model_external_initializers_file_folder_path: options.externalDir } };
    }
    return typeof model === 'string' ? await ort.InferenceSession.create(model, ortOptions) : await ort.InferenceSession.create(model, ortOptions);
  } catch (e) {
    throw sessionError(e, provider, options.label);
  }
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
  // onnxruntime-node has no JavaScript tensor for bfloat16 (ONNX type 16): its inputs and outputs cannot cross.
  if (/Unsupported data type: 16\b/.test(reason)) {
    return new BadInputError(`${label}: onnxruntime-node cannot pass bfloat16 tensors to or from JavaScript (${reason}; type 16 is bfloat16), so the model's bfloat16 inputs or outputs cannot be fed or read; re-export it with float32 or float16 inputs and outputs (a Cast at each end keeps bfloat16 inside the graph)`);
  }
  // Which runtime refused it: in a comparison of cpu against wasm, the line must say which side.
  const runtime = provider === 'wasm' ? "onnxruntime-web (provider 'wasm')" : 'onnxruntime';
  return new BadInputError(`${label}: ${runtime} could not load the model (${reason.replace(/^Can't create a session\. ERROR_CODE: \d+, ERROR_MESSAGE: /, '')}); re-export it or check the session options`);
}
