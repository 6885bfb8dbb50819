import type { Command } from 'commander';
import type { LocateOptions } from '../../locate/locate';
import { addModelFlags, addPlanFlags, CommandContext, CommonFlags, commonOptions, emit, EXIT, PlanFlags, planOptions } from '../common';
import { HTML_HELP, htmlOf, textOut, writeReportPage } from './report';

type LocateFlags = CommonFlags & PlanFlags;

/** `batchproof locate <model>`: exit 0 nothing diverges, 1 a node is found, 2 bad input. */
export function registerLocate(program: Command, { out, err, setExit }: CommandContext): void {
  addModelFlags(
    addPlanFlags(
      program
        .command('locate')
        .description('name the first node whose output for a sample changes with the batch (or, for leakage, with the batch-mates); exit 0 none, 1 found, 2 bad input')
        .argument('<model>', 'path to an .onnx model')
        .option('--html <file>', HTML_HELP),
    ),
  ).action(async (model: string, flags: LocateFlags) => {
    const options: LocateOptions = {
      ...commonOptions(flags),
      ...planOptions(flags),
    };
    const { locateDivergence } = await import('../../locate/locate');
    const { formatLocateReport } = await import('../../locate/text');
    const report = await locateDivergence(model, options);
    emit(report, () => formatLocateReport(report, { color: flags.color }), flags.json, textOut(flags, { out, err }));
    await writeReportPage(report, htmlOf(flags), model);
    setExit(report.firstDivergence ? EXIT.fail : EXIT.pass);
  });
}
