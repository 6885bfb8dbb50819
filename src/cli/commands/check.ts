import { Command } from 'commander';
import type { CheckOptions } from '../../invariance/check';
import { BadInputError } from '../../errors';
import { FILLERS, type Filler } from '../../invariance/plan';
import { addFunctionFlags, addModelFlags, addPlanFlags, batchFunctionOf, CommandContext, CommonFlags, commonOptions, emit, EXIT, FunctionFlags, PlanFlags, planOptions } from '../common';
import { HTML_HELP, htmlOf, textOut, writeReportPage } from './report';
import { noteCodePath } from '../compile-cache';
import type { InvarianceReport } from '../../invariance/report';
import { progressBar } from '../output';
import { duration, integerIn, sizeList } from '../parse';

interface CheckFlags extends CommonFlags, PlanFlags, FunctionFlags {
  budget?: { seconds: number };
  serveSizes?: number[];
  padTo?: number;
  filler?: string;
}

/** `batchproof check <model>`: exit 0 invariant or within tolerance, 1 violated, 2 bad input. */
export function registerCheck(program: Command, { out, err, setExit, runsUserCode }: CommandContext): void {
  addModelFlags(
    addFunctionFlags(
      addPlanFlags(
        program
          .command('check')
          .description('batch invariance: sweep batch sizes, positions and batch-mates; exit 0 invariant or within tolerance, 1 violated, 2 bad input')
          .argument('<model>', 'path to an .onnx model, or a .js/.mjs/.cjs module (.ts under a loader) that exports a batch function (with --samples)')
          .option('--html <file>', HTML_HELP),
      ),
    )
      .option('--budget <duration>', 'trim the sweep to fit, e.g. 30s', duration('--budget'))
      .option('--serve-sizes <list>', 'batch sizes your system serves, answered first, e.g. 1,512', sizeList('--serve-sizes'))
      .option('--pad-to <n>', 'pad every batch smaller than N up to N, as your server would', integerIn('--pad-to', 2, Infinity, 'padding to 1 pads nothing (every batch has a row already); give the batch size your server pads to, 2 or more, e.g. --pad-to 8'))
      .option('--filler <kind>', "padding rows: zeros or last (with --pad-to); for a batch function module, the sample it pads a batch with (e.g. --filler '')"),
  ).action(async (model: string, flags: CheckFlags) => {
    const bar = progressBar('checking');
    const options: CheckOptions = {
      ...commonOptions(flags),
      ...planOptions(flags),
      ...(flags.budget && { budget: flags.budget }),
      ...(flags.serveSizes && { servedSizes: flags.serveSizes }),
      ...(flags.padTo && { padTo: flags.padTo }),
      ...(flags.filler !== undefined && { filler: flags.filler }),
      onProgress: (done, total) => bar.update(done, total),
    };
    try {
      // Engines load when their command runs, so one command does not pay for the others.
      const { checkBatchInvariance } = await import('../../invariance/check');
      const { formatReport } = await import('../../report/text');
      const fn = await batchFunctionOf(model, flags, options, { runsUserCode });
      // --padding off is the API's padding: false, which a function takes (it asks for nothing);
      // given as a flag it is refused as the other padding flags are.
      if (fn && flags.padding !== undefined) (await import('../../runtime/function')).assertFunctionOptions({ padding: flags.padding }, 'checkBatchInvariance');
      // Samples that are not all texts (a JSON file of numbers, arrays, objects) are padded with
      // a value of their kind: the flag's text as JSON, as the samples are read.
      if (fn && typeof options.filler === 'string' && Array.isArray(options.samples) && !options.samples.every((s) => typeof s === 'string')) {
        try {
          options.filler = JSON.parse(options.filler);
        } catch {
          throw new BadInputError(`--filler '${options.filler}': the samples in ${flags.samples} are JSON values, not all texts, so the filler is one too, written as JSON: e.g. --filler 0, --filler '[0, 0, 0]' or --filler '{"text": ""}'`);
        }
      }
      if (!fn && options.filler !== undefined && !FILLERS.includes(options.filler as Filler)) {
        throw new BadInputError(`--filler '${options.filler}': use zeros or last for a model (a filler sample is for a batch function module)`);
      }
      const report = await checkBatchInvariance(fn ?? model, options);
      bar.stop();
      emit(report, () => formatReport(report, { color: flags.color }), flags.json, textOut(flags, { out, err }));
      await writeReportPage(report, htmlOf(flags), model);
      for (const name of codePaths(report, fn !== null, flags)) noteCodePath(name);
      setExit(report.verdict === 'violated' ? EXIT.fail : EXIT.pass);
    } finally {
      bar.stop();
    }
  });
}

/** The code a check ran, in words the code cache keeps a record of (src/cli/compile-cache.ts). */
function codePaths(report: InvarianceReport, isFunction: boolean, flags: CheckFlags): string[] {
  return [
    isFunction ? 'function' : report.fingerprint.provider,
    report.verdict,
    flags.json ? 'json' : 'text',
    ...(report.padding.tested ? ['padding'] : []),
    ...(report.recipe?.padTo != null || report.recipe?.verified ? ['recipe'] : []),
    ...(report.diagnosis.length > 0 ? ['diagnosis'] : []),
    ...(htmlOf(flags) ? ['html'] : []),
  ];
}

