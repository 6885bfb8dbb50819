import { Command, Option } from 'commander';
import { OPTIMIZATION_LEVELS, PROVIDERS, type OptimizationLevel, type ProviderName } from '../../model/open';
import type { RunningStatsOptions } from '../../stats/check';
import { CommandContext, emit, EXIT } from '../common';
import { collectConst, collectDim, collectShape, positiveInteger } from '../parse';

export interface StatsFlags {
  data?: string;
  checkpoint?: string;
  tolerance?: string;
  batchSize?: number;
  provider?: ProviderName;
  threads?: number;
  optimization?: OptimizationLevel;
  shape?: Record<string, (number | string)[]>;
  dim?: Record<string, number>;
  const?: Record<string, unknown>;
  json?: string | boolean;
  color?: boolean;
}

/** Session and data flags shared by `stats` and `recalibrate`. */
export function addStatsFlags(cmd: Command): Command {
  return cmd
    .option('--batch-size <n>', 'samples per batch when running the data (default 32)', positiveInteger('--batch-size'))
    .addOption(new Option('--provider <name>', 'execution provider, pinned (no CPU fallback)').choices(PROVIDERS as unknown as string[]).default('cpu'))
    .option('--threads <n>', 'intra-op threads (default: onnxruntime picks)', positiveInteger('--threads'))
    .addOption(new Option('--optimization <level>', 'graph optimization level').choices(OPTIMIZATION_LEVELS as unknown as string[]))
    .option('--shape <name=dims>', 'dims of an input, N marks the batch axis (repeatable)', collectShape)
    .option('--dim <symbol=n>', 'size of a symbolic dim (repeatable), e.g. seq=16', collectDim)
    .option('--const <name=value>', 'an input shared by the whole batch (repeatable), e.g. sr=16000', collectConst)
    .option('--json [file]', 'print the report as JSON, or write it to FILE (and print the report for people)')
    .option('--no-color', 'no colours in the report');
}

export async function statsOptions(flags: StatsFlags): Promise<RunningStatsOptions> {
  // Engines load when their command runs, so `batchproof check` does not pay for the others.
  const { parseStatsTolerance } = await import('../../stats/check');
  const options: RunningStatsOptions = {
    provider: flags.provider,
    threads: flags.threads,
    optimization: flags.optimization,
    batchSize: flags.batchSize,
    shapes: flags.shape,
    dims: flags.dim,
    consts: flags.const,
  };
  if (flags.tolerance !== undefined) options.tolerance = parseStatsTolerance(flags.tolerance);
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as RunningStatsOptions;
}

/** `batchproof stats <model>`: exit 0 healthy, 1 problems found, 2 bad input. */
export function registerStats(program: Command, { out, setExit }: CommandContext): void {
  addStatsFlags(
    program
      .command('stats')
      .description("BatchNorm running statistics: compare each layer's stored mean and variance with calibration data or the training checkpoint, and flag layers in training mode; exit 0 healthy, 1 problems, 2 bad input")
      .argument('<model>', 'path to an .onnx model')
      .option('--data <file>', 'calibration samples: .npy (one input) or .npz/.safetensors keyed by input name')
      .option('--checkpoint <file>', 'training checkpoint in state_dict names (bn2.running_mean): .safetensors or .npz')
      .option('--tolerance <tol>', 'when a layer fails against data: z=Z,ratio=R (default z=0.5,ratio=2: var/running_var in [0.5, 2])'),
  ).action(async (model: string, flags: StatsFlags) => {
    const options = await statsOptions(flags);
    const { checkRunningStats } = await import('../../stats/check');
    const { formatStatsReport } = await import('../../stats/text');
    const report = await checkRunningStats(model, undefined, {
      ...options,
      ...(flags.data !== undefined && { data: flags.data }),
      ...(flags.checkpoint !== undefined && { checkpoint: flags.checkpoint }),
    });
    emit(report, () => formatStatsReport(report, { color: flags.color }), flags.json, out);
    setExit(report.problems.length === 0 ? EXIT.pass : EXIT.fail);
  });
}
