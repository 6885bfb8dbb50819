import { matcherHint, RECEIVED_COLOR } from 'jest-matcher-utils';
import { checkBatchInvariance, formatReport, locateDivergence } from '../src';
import { divergenceLine } from '../src/locate/text';
import type { CheckOptions, InvarianceReport } from '../src';
import { modelAndOptions } from './options';
import { recordReport, type RecordContext } from './record';

/** Options of toBeBatchInvariant: checkBatchInvariance's. */
export interface BatchInvariantOptions extends CheckOptions {}

/**
 * `await expect(model).toBeBatchInvariant(options?)`, or
 * `await expect(samples).toBeBatchInvariant(model, options?)`.
 * Passes when every probe's output at every batch size and position is within the tolerance
 * of its output alone (bitwise with tolerance 'exact').
 */
export async function toBeBatchInvariant(
  this: { isNot?: boolean; promise?: string } & RecordContext,
  received: unknown,
  modelOrOptions?: unknown,
  options?: unknown,
): Promise<{ pass: boolean; message: () => string; report: InvarianceReport }> {
  const { model, options: checkOptions } = modelAndOptions<BatchInvariantOptions>(received, modelOrOptions, options, 'toBeBatchInvariant');
  const report = await checkBatchInvariance(model, checkOptions);
  const pass = report.verdict !== 'violated';
  recordReport(this, report);
  // On failure, name the first diverging node (cheap: the report says which runs to compare).
  // A failed search never hides the verdict.
  let located = '';
  // Locating needs a graph: a batch function has none.
  if (!pass && !this.isNot && typeof model !== 'function' && report.causes.some((c) => c !== 'nondeterminism')) {
    try {
      const where = await locateDivergence(model, { ...checkOptions, report });
      recordReport(this, where);
      // Locate compares two batches; a failure it does not reach (pad tokens) is named below.
      located = `\n${divergenceLine(where)}${where.firstDivergence ? '' : '; what fails the tolerance is not in those runs: see the causes and the diagnosis below'}`;
    } catch (e) {
      located = `\n(could not locate the diverging node: ${String((e as Error)?.message ?? e).split('\n')[0]})`;
    }
  }
  const hint = matcherHint('toBeBatchInvariant', 'model', 'options', { isNot: this.isNot, promise: this.promise });
  const message = pass
    ? () =>
        `${hint}\n\nExpected the model's outputs to depend on the batch, but every probe stayed ` +
        `${report.verdict === 'invariant' ? 'bitwise equal' : 'within the tolerance'}: ${RECEIVED_COLOR(report.verdict)}\n\n${formatReport(report, { color: false })}`
    : () =>
        `${hint}\n\nExpected the same output for each sample whatever the batch, but: ${RECEIVED_COLOR(report.verdict)}` +
        ` (${report.causes.join(', ')})${located}\n\n${formatReport(report, { color: false })}`;
  return { pass, message, report };
}
