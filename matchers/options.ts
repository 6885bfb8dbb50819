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
  if (isModelSource(arg)) {
    throw new BadInputError(
      `${matcher}: a model (bytes, a session or a handle) where the options go, and the received value is a model too; give options there (an object, a tolerance number or 'exact'), or the samples as expect(samples); samples that are bytes need the model as a path, a session or an openModel() handle`,
    );
  }
  // A plain object only (tag, not prototype: the test's realm has its own Object): a Map or a
  // typed array has no option keys, so it would run on the defaults.
  if (Object.prototype.toString.call(arg) === '[object Object]') return arg as T;
  const tag = typeof arg === 'object' && arg !== null && !Array.isArray(arg) ? `a ${Object.prototype.toString.call(arg).slice(8, -1)}` : formatValue(arg);
  throw new BadInputError(`${matcher}: expected options, a tolerance number or 'exact', got ${tag}`);
}

/**
 * The two call shapes: expect(model).matcher(options?) and
 * expect(samples).matcher(model, options?), where the received value is the user's samples.
 */
export function modelAndOptions<T extends CheckOptions>(received: unknown, first: unknown, second: unknown, matcher: string): { model: ModelSource | BatchFunction; options: T } {
  // expect(fn).matcher({ samples }): as checkBatchInvariance(fn, { samples }).
  // A third argument has no place when the received value is the model: dropped, its
  // tolerance would be the default one.
  const noSecond = () => {
    if (second !== undefined) {
      throw new BadInputError(
        `${matcher}: a second argument after the options would be ignored, got ${formatValue(second)}; with expect(model) give one options object: expect(model).${matcher}({ ... }), or the samples as expect(samples).${matcher}(model, options)`,
      );
    }
  };
  if (typeof received === 'function') {
    noSecond();
    return { model: received as BatchFunction, options: toOptions<T>(first, matcher) };
  }
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
  // 'exact' and 'default' are tolerances, never a path: samples followed by one lack the model.
  const tolerance = first === 'exact' || first === 'default';
  if ((isModelSource(first) && !tolerance && !isModelSource(received)) || (modelFirst && receivedBytes)) {
    return { model: first, options: withSamples(toOptions<T>(second, matcher)) };
  }
  if (!isModelSource(received)) {
    throw new BadInputError(
      `${matcher}: expected a model (a path to an .onnx file, its bytes, an InferenceSession or a fixture's model) or samples with the model as the first argument`,
    );
  }
  noSecond();
  return { model: received, options: toOptions<T>(first, matcher) };
}
