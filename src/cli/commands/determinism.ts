import type { Command } from 'commander';
import { addFunctionFlags, addModelFlags, batchFunctionOf, CommandContext, CommonFlags, commonOptions, emit, EXIT, FunctionFlags } from '../common';
import { integerIn, positiveInteger } from '../parse';
import { progressBar } from '../output';
import { MAX_REPEATS } from '../../options';

/** `batchproof determinism <model>`: the same batch N times; exit 1 when runs differ. */
export function registerDeterminism(program: Command, { out, setExit, runsUserCode }: CommandContext): void {
  addModelFlags(
    addFunctionFlags(
      program
        .command('determinism')
        .description('run the same batch several times; exit 0 when every run is bitwise equal (or within --tolerance), 1 otherwise')
        .argument('<model>', 'path to an .onnx model, or a .js/.mjs/.cjs module (.ts under a loader) that exports a batch function (with --samples)'),
    )
      .option('--repeats <n>', `how many runs, 2 to ${MAX_REPEATS} (default 5)`, integerIn('--repeats', 2, MAX_REPEATS, `expected 2 to ${MAX_REPEATS} runs (each runs the whole batch again), e.g. --repeats 5`))
      .option('--batch-size <n>', 'batch size (default 16)', positiveInteger('--batch-size')),
  ).action(async (model: string, flags: CommonFlags & FunctionFlags & { repeats?: number; batchSize?: number }) => {
    const bar = progressBar('repeating');
    const options = {
      ...commonOptions(flags),
      ...(flags.repeats && { repeats: flags.repeats }),
      ...(flags.batchSize && { batchSize: flags.batchSize }),
      onProgress: (done: number, total: number) => bar.update(done, total),
    };
    try {
      const { checkDeterminism } = await import('../../invariance/determinism');
      const { formatDeterminism } = await import('../../report/determinism-text');
      const fn = await batchFunctionOf(model, flags, options, { runsUserCode });
      const report = await checkDeterminism(fn ?? model, options);
      bar.stop();
      emit(report, () => formatDeterminism(report, { color: flags.color }), flags.json, out);
      setExit(report.verdict === 'nondeterministic' ? EXIT.fail : EXIT.pass);
    } finally {
      bar.stop();
    }
  });
}
