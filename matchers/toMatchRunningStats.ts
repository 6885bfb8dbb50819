import { matcherHint, RECEIVED_COLOR } from 'jest-matcher-utils';
import { BadInputError, checkRunningStats, formatStatsReport } from '../src';
import { formatValue } from '../src/errors';
import type { RunningStatsOptions, StatsReference, StatsReport, StatsTolerance } from '../src';
import { rejectUnknownOptions } from '../src/options';
import { RUNNING_STATS_OPTION_KEYS } from '../src/stats/check';
import { isModelSource } from './options';
import { recordReport, type RecordContext } from './record';

/**
 * `await expect(model).toMatchRunningStats(reference, options?)`: every BatchNormalization node
 * is in inference mode and its stored running mean and variance match the reference:
 * calibration data (arrays, tensors, a .npy/.npz/.safetensors path, or an async iterable of batches), a
 * checkpoint (a .safetensors path or an object of named arrays in state_dict names), or both as
 * `{ data, checkpoint }`. Options may be a StatsTolerance shorthand (`{ z: 1 }`).
 */
export async function toMatchRunningStats(
  this: { isNot?: boolean; promise?: string } & RecordContext,
  received: unknown,
  reference?: unknown,
  options?: unknown,
): Promise<{ pass: boolean; message: () => string; report: StatsReport }> {
  if (!isModelSource(received)) {
    throw new BadInputError('toMatchRunningStats: expected a model (a path to an .onnx file or its bytes) as the received value');
  }
  const report = await checkRunningStats(received, reference as StatsReference | undefined, statsOptions(options));
  const pass = report.problems.length === 0;
  // Without a reference only training mode and missing statistics are seen: that can fail, never pass.
  // Judged by what the check compared with (a reference may come as options.data or checkpoint, or be undefined inside an object).
  if (pass && report.reference.kind === 'none' && report.model.batchNorms > 0) {
    throw new BadInputError("toMatchRunningStats(): without a reference only training mode and missing statistics can be checked (none found), not whether the stored statistics are right; give calibration data or a checkpoint: toMatchRunningStats('calibration.npz') or ({ checkpoint: 'ckpt.safetensors' })");
  }
  // .not asserts the statistics are wrong; a model with no BatchNorm has none: nothing was compared.
  if (!pass && this.isNot && report.problems.every((p) => p.kind === 'no-batchnorm')) {
    throw new BadInputError(
      'toMatchRunningStats: .not on a model with no BatchNormalization nodes: there are no running statistics to be wrong, so nothing was compared (folded into Conv on export?); check the model is the one you meant, or export it with do_constant_folding=False to keep them',
    );
  }
  recordReport(this, report);
  const hint = matcherHint('toMatchRunningStats', 'model', 'reference', { isNot: this.isNot, promise: this.promise });
  const message = pass
    ? () => `${hint}\n\nExpected BatchNorm problems, but every layer matches: ${RECEIVED_COLOR(report.summary)}\n\n${formatStatsReport(report, { color: false })}`
    : () =>
        `${hint}\n\nExpected every BatchNorm layer to match its reference, but: ${RECEIVED_COLOR(report.summary)}\n\n` +
        `${formatStatsReport(report, { color: false })}`;
  return { pass, message, report };
}

function statsOptions(options: unknown): RunningStatsOptions {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new BadInputError(`toMatchRunningStats: expected options such as { tolerance: { z: 0.5, ratio: 2 } }, got ${formatValue(options)}`);
  }
  const o = options as Record<string, unknown>;
  // Shorthand: the tolerance itself.
  if (Object.keys(o).length > 0 && Object.keys(o).every((k) => k === 'z' || k === 'ratio')) return { tolerance: o as StatsTolerance };
  // A misspelt option ({ tolerence: ... }) would otherwise run with the defaults and pass.
  rejectUnknownOptions(o, RUNNING_STATS_OPTION_KEYS, 'toMatchRunningStats');
  return o as RunningStatsOptions;
}
