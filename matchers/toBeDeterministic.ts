import { matcherHint, RECEIVED_COLOR } from 'jest-matcher-utils';
import { checkDeterminism, formatDeterminism } from '../src';
import type { DeterminismOptions, DeterminismReport } from '../src';
import { modelAndOptions } from './options';
import { recordReport, type RecordContext } from './record';

/**
 * `await expect(model).toBeDeterministic(options?)`: the same batch run `repeats` times
 * (default 5) gives bitwise equal outputs (or within `tolerance` when one is given).
 * Determinism is not batch invariance: test both.
 */
export async function toBeDeterministic(
  this: { isNot?: boolean; promise?: string } & RecordContext,
  received: unknown,
  modelOrOptions?: unknown,
  options?: unknown,
): Promise<{ pass: boolean; message: () => string; report: DeterminismReport }> {
  const { model, options: runOptions } = modelAndOptions<DeterminismOptions>(received, modelOrOptions, options, 'toBeDeterministic');
  const report = await checkDeterminism(model, runOptions);
  const pass = report.verdict !== 'nondeterministic';
  recordReport(this, report);
  const hint = matcherHint('toBeDeterministic', 'model', 'options', { isNot: this.isNot, promise: this.promise });
  const message = pass
    ? () => `${hint}\n\nExpected runs of the same batch to differ, but they did not: ${RECEIVED_COLOR(report.verdict)}\n\n${formatDeterminism(report, { color: false })}`
    : () => `${hint}\n\nExpected the same batch to give the same outputs on every run, but: ${RECEIVED_COLOR(report.verdict)}\n\n${formatDeterminism(report, { color: false })}`;
  return { pass, message, report };
}
