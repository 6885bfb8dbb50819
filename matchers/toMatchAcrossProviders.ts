import { formatValue } from '../src/errors';
import { matcherHint, RECEIVED_COLOR } from 'jest-matcher-utils';
import { BadInputError, compareProviders, formatProviderComparison } from '../src';
import type { CompareProvidersOptions, ProviderComparisonReport, ProviderSide } from '../src';
import { COMPARE_OPTION_KEYS } from '../src/compare-providers/compare';
import { validateOptions } from '../src/options';
import { batchFunctionGiven } from '../src/runtime/model-bytes';
import { isModelSource, toOptions } from './options';
import { recordReport, type RecordContext } from './record';

/**
 * `await expect(model).toMatchAcrossProviders(['cpu', 'webgpu'], options?)`: the same samples run
 * on each side (a provider name, fixture options such as `{ provider: 'cpu', threads: 1 }`, or a
 * fixture); every side's outputs are within the tolerance of the first side's. A side whose
 * provider does not work here throws: a pinned comparison never passes on the CPU alone.
 * A side may batch on its own: `[{ provider: 'cpu', batchSize: 512 }, { provider: 'wasm', batchSize: 1 }]`
 * is the server's batch against each query alone in the browser's runtime (onnxruntime-web).
 */
export async function toMatchAcrossProviders(
  this: { isNot?: boolean; promise?: string } & RecordContext,
  received: unknown,
  sides: unknown,
  options?: unknown,
): Promise<{ pass: boolean; message: () => string; report: ProviderComparisonReport }> {
  // A batch function runs on its own session: that is said plainly, not 'expected a model'.
  const fn = batchFunctionGiven(typeof options === 'function' ? options : received, 'toMatchAcrossProviders', 'it opens the model once per provider');
  if (fn) throw new BadInputError(fn);
  if (!isModelSource(received)) {
    throw new BadInputError('toMatchAcrossProviders: expected a model (a path to an .onnx file, its bytes or a model handle with a path)');
  }
  if (!Array.isArray(sides)) {
    throw new BadInputError(`toMatchAcrossProviders: expected a list of providers as the first argument, e.g. ['cpu', 'webgpu'], got ${formatValue(sides)}`);
  }
  const compareOptions = toOptions<CompareProvidersOptions>(options, 'toMatchAcrossProviders');
  // A misspelt option ({ tolerence: 'exact' }) would otherwise pass on the default tolerance.
  validateOptions(compareOptions, COMPARE_OPTION_KEYS, 'toMatchAcrossProviders');
  const report = await compareProviders(received, sides as ProviderSide[], compareOptions);
  const pass = report.verdict !== 'different';
  recordReport(this, report);
  const hint = matcherHint('toMatchAcrossProviders', 'model', 'providers', { isNot: this.isNot, promise: this.promise });
  const labels = report.sides.map((s) => s.label).join(' vs ');
  const message = pass
    ? () =>
        `${hint}\n\nExpected the outputs to differ across ${labels}, but they were ` +
        `${report.verdict === 'identical' ? 'bitwise equal' : 'within the tolerance'}: ${RECEIVED_COLOR(report.verdict)}\n\n${formatProviderComparison(report, { color: false })}`
    : () =>
        `${hint}\n\nExpected the same outputs on ${labels} (within the tolerance), but: ${RECEIVED_COLOR(report.verdict)}\n\n${formatProviderComparison(report, { color: false })}`;
  return { pass, message, report };
}
