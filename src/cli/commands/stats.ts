import type { Command } from 'commander';
import { BadInputError } from '../../errors';
import type { RunningStatsOptions } from '../../stats/check';
import { addReportFlags, addSessionFlags, addShapeFlags, CommandContext, emit, EXIT, sessionAndShapeOptions, type SessionFlags, type ShapeFlags } from '../common';
import { HTML_HELP, htmlOf, textOut, writeReportPage } from './report';
import { positiveInteger } from '../parse';

export interface StatsFlags extends SessionFlags, ShapeFlags {
  data?: string;
  checkpoint?: string;
  tolerance?: string;
  batchSize?: number;
  json?: string | boolean;
  color?: boolean;
}

/** Session, shape and data flags shared by `stats` and `recalibrate`. */
export function addStatsFlags(cmd: Command): Command {
  return addReportFlags(
    addShapeFlags(addSessionFlags(cmd)).option('--batch-size <n>', 'samples per batch when running the data (default 32)', positiveInteger('--batch-size')),
  );
}

export async function statsOptions(flags: StatsFlags): Promise<RunningStatsOptions> {
  // Engines load when their command runs, so `batchproof check` does not pay for the others.
  const { parseStatsTolerance } = await import('../../stats/check');
  const options: RunningStatsOptions = sessionAndShapeOptions(flags);
  if (flags.batchSize !== undefined) options.batchSize = flags.batchSize;
  if (flags.tolerance !== undefined) options.tolerance = parseStatsTolerance(flags.tolerance);
  return options;
}

/** `batchproof stats <model>`: exit 0 healthy, 1 problems found, 2 bad input. */
export function registerStats(program: Command, { out, err, setExit }: CommandContext): void {
  addStatsFlags(
    program
      .command('stats')
      .description("BatchNorm running statistics: compare each layer's stored mean and variance with calibration data or the training checkpoint, and flag layers in training mode; exit 0 healthy, 1 problems, 2 bad input")
      .argument('<model>', 'path to an .onnx model')
      .option('--html <file>', HTML_HELP)
      .option('--data <file>', 'calibration samples: .npy (one input) or .npz/.safetensors keyed by input name')
      .option('--checkpoint <file>', 'training checkpoint in state_dict names (bn2.running_mean): .safetensors or .npz')
      .option('--tolerance <tol>', 'when a layer fails against data: z=Z,ratio=R or ratio=LO:HI (default z=0.5,ratio=2: var/running_var in [0.5, 2])'),
  ).action(async (model: string, flags: StatsFlags) => {
    const options = await statsOptions(flags);
    const { checkRunningStats } = await import('../../stats/check');
    const { formatStatsReport } = await import('../../stats/text');
    const report = await checkRunningStats(model, undefined, {
      ...options,
      ...(flags.data !== undefined && { data: flags.data }),
      ...(flags.checkpoint !== undefined && { checkpoint: flags.checkpoint }),
    });
    // Without a reference only training mode and missing statistics can be seen: finding none is
    // no proof the statistics are right, so it is not a pass (as toMatchRunningStats refuses it).
    if (report.problems.length === 0 && report.reference.kind === 'none' && report.model.batchNorms > 0) {
      throw new BadInputError(
        `${model}: ${report.model.batchNorms} BatchNorm layer${report.model.batchNorms === 1 ? '' : 's'}, none in training mode or without statistics, but nothing to check the statistics against; give --data calibration.npz (samples the model sees) or --checkpoint ckpt.safetensors`,
      );
    }
    emit(report, () => formatStatsReport(report, { color: flags.color }), flags.json, textOut(flags, { out, err }));
    await writeReportPage(report, htmlOf(flags), model);
    setExit(report.problems.length === 0 ? EXIT.pass : EXIT.fail);
  });
}
