import { formatValue } from '../src/errors';
import { BadInputError, isModelHandle } from '../src';
import { isInferenceSession } from '../src/runtime/session';
import type { BatchFunction, CheckOptions, ModelSource, Samples, Tolerance } from '../src';

/** A model as the matchers receive it: a path, bytes, a session or a handle. */
export function isModelSource(x: unknown): x is ModelSource {
  return (
    typeof x === 'string' ||
    isModelHandle(x) ||
    isInferenceSession(x) ||
    Object.prototype.toString.call(x) === '[object ArrayBuffer]' ||
    Object.prototype.toString.call(x) === '[object Uint8Array]'
  );
}

/** Options, or the shorthands: a number is an absolute tolerance; 'exact' and 'default' name one. */
export function toOptions<T extends { tolerance?: Tolerance }>(arg: unknown, matcher: string): T {
  if (arg === undefined) return {} as T;
  if (typeof arg === 'number' || arg === 'exact' || arg === 'default') return { tolerance: arg } as T;
  if (typeof arg === 'object' && arg !== null && !Array.isArray(arg)) return arg as T;
  throw new BadInputError(`${matcher}: expected options, a tolerance number or 'exact', got ${formatValue(arg)}`);
}

/**
 * The two call shapes: expect(model).matcher(options?) and
 * expect(samples).matcher(model, options?), where the received value is the user's samples.
 */
export function modelAndOptions<T extends CheckOptions>(received: unknown, first: unknown, second: unknown, matcher: string): { model: ModelSource | BatchFunction; options: T } {
  // expect(fn).matcher({ samples }): as checkBatchInvariance(fn, { samples }).
  if (typeof received === 'function') return { model: received as BatchFunction, options: toOptions<T>(first, matcher) };
  // Samples received and samples in the options: one of them would be dropped unseen.
  const withSamples = (options: T): T => {
    if (options.samples !== undefined) throw new BadInputError(`${matcher}: samples given twice, as expect(samples) and as options.samples; give them once`);
    return { ...options, samples: received as Samples };
  };
  // expect(samples).matcher(fn): the user's batch function, fed the received samples.
  if (typeof first === 'function') return { model: first as BatchFunction, options: withSamples(toOptions<T>(second, matcher)) };
  // expect(samples).matcher(model): the model is the first argument. Samples may be bytes
  // (uint8 images), so received bytes are samples whenever a path, session or handle follows.
  const modelFirst = (typeof first === 'string' && first !== 'exact' && first !== 'default') || isModelHandle(first) || isInferenceSession(first);
  const receivedBytes = isModelSource(received) && typeof received !== 'string' && !isModelHandle(received) && !isInferenceSession(received);
  if ((isModelSource(first) && !isModelSource(received)) || (modelFirst && receivedBytes)) {
    return { model: first, options: withSamples(toOptions<T>(second, matcher)) };
  }
  if (!isModelSource(received)) {
    throw new BadInputError(
      `${matcher}: expected a model (a path to an .onnx file, its bytes, an InferenceSession or a fixture's model) or samples with the model as the first argument`,
    );
  }
  return { model: received, options: toOptions<T>(first, matcher) };
}
