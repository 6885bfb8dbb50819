import { Command, Option } from 'commander';
import { batchFunctionGiven } from '../../runtime/model-bytes';
import { BadInputError } from '../../errors';
import { FixtureOptions } from '../../runtime/fixture';
import { OPTIMIZATION_LEVELS, OptimizationLevel } from '../../runtime/settings';
import { PROVIDERS, ProviderName } from '../../runtime/providers';
import { addModelFlags, CommandContext, CommonFlags, commonOptions, emit, EXIT, threadCount } from '../common';
import { HTML_HELP, htmlOf, textOut, writeReportPage } from './report';
import { progressBar } from '../output';
import { positiveInteger } from '../parse';

interface CompareFlags extends CommonFlags {
  against?: ProviderName;
  againstThreads?: number;
  againstOptimization?: OptimizationLevel;
  againstDeterministic?: boolean;
  batchSize?: number;
  againstBatchSize?: number;
}

/**
 * `batchproof compare <model> --provider cpu --against webgpu`: the same batch on both sides,
 * compared as `check` compares. The --against side takes the first side's settings unless an
 * --against-* flag changes one. Exit 0 within tolerance, 1 beyond, 2 bad input.
 */
export function registerCompare(program: Command, { out, err, setExit }: CommandContext): void {
  addModelFlags(
    program
      .command('compare')
      .description('run the same samples on two providers or option sets and compare the outputs; exit 0 within tolerance, 1 beyond, 2 bad input')
      .argument('<model>', 'path to an .onnx model')
      .option('--html <file>', HTML_HELP)
      .addOption(new Option('--against <name>', 'provider of the second side (default: the same as --provider)').choices(PROVIDERS as unknown as string[]))
      .option('--against-threads <n>', 'intra-op threads of the second side', threadCount('--against-threads'))
      .addOption(new Option('--against-optimization <level>', 'graph optimization level of the second side').choices(OPTIMIZATION_LEVELS as unknown as string[]))
      .option('--against-deterministic', 'set session.use_deterministic_compute on the second side')
      .option('--no-against-deterministic', 'leave session.use_deterministic_compute off on the second side')
      .option('--batch-size <n>', 'samples compared, in one batch on the first side (default 8)', positiveInteger('--batch-size'))
      .option('--against-batch-size <n>', 'the second side runs the same samples in batches of N (e.g. 1: each alone, as a browser embeds one query)', positiveInteger('--against-batch-size')),
  ).action(async (model: string, flags: CompareFlags) => {
    // Before the sides: a batch function's module is not a model with sides to change.
    const fn = batchFunctionGiven(model, 'compare', 'it opens the model once per side');
    if (fn) throw new BadInputError(fn);
    const options = commonOptions(flags);
    const { provider = 'cpu', threads, optimization, deterministic, ...rest } = options;
    const first: FixtureOptions = { provider, threads, optimization, deterministic };
    const second: FixtureOptions = {
      ...first,
      provider: flags.against ?? provider,
      ...(flags.againstThreads !== undefined && { threads: flags.againstThreads }),
      ...(flags.againstOptimization !== undefined && { optimization: flags.againstOptimization }),
      ...(flags.againstDeterministic !== undefined && { deterministic: flags.againstDeterministic }),
    };
    const clean = (o: FixtureOptions) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as FixtureOptions;
    const sameBatch = flags.againstBatchSize === undefined || flags.againstBatchSize === flags.batchSize;
    if (JSON.stringify(clean(first)) === JSON.stringify(clean(second)) && sameBatch) {
      throw new BadInputError('both sides of the comparison are the same; change the second side with --against PROVIDER, --against-threads, --against-optimization, --against-deterministic or --against-batch-size');
    }
    // From here, as check's: loading the engine and the sessions is part of the wait.
    const bar = progressBar('comparing');
    try {
      const { compareProviders } = await import('../../compare-providers/compare');
      const { formatProviderComparison } = await import('../../compare-providers/text');
      // The second side's own batch size; the first side runs all the samples in one batch.
      const sides = sameBatch ? [clean(first), clean(second)] : [clean(first), { ...clean(second), batchSize: flags.againstBatchSize }];
      const report = await compareProviders(model, sides, {
        ...rest,
        ...(flags.batchSize && { batchSize: flags.batchSize }),
        onProgress: (done, total) => bar.update(done, total),
      });
      bar.stop();
      emit(report, () => formatProviderComparison(report, { color: flags.color }), flags.json, textOut(flags, { out, err }));
      await writeReportPage(report, htmlOf(flags), model);
      setExit(report.verdict === 'different' ? EXIT.fail : EXIT.pass);
    } finally {
      bar.stop();
    }
  });
}
