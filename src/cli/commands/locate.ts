import type { Command } from 'commander';
import type { LocateOptions } from '../../locate/locate';
import { addModelFlags, CommandContext, CommonFlags, commonOptions, emit, EXIT } from '../common';
import { positiveInteger, sizeList } from '../parse';

interface LocateFlags extends CommonFlags {
  batchSizes?: number[];
  maxBatch?: number;
  reference?: number;
  probes?: number;
}

/** `batchproof locate <model>`: exit 0 nothing diverges, 1 a node is found, 2 bad input. */
export function registerLocate(program: Command, { out, setExit }: CommandContext): void {
  addModelFlags(
    program
      .command('locate')
      .description('name the first node whose output for a sample changes with the batch (or, for leakage, with the batch-mates); exit 0 none, 1 found, 2 bad input')
      .argument('<model>', 'path to an .onnx model')
      .option('--batch-sizes <list>', 'batch sizes to sweep, e.g. 1,2,8,64', sizeList('--batch-sizes'))
      .option('--max-batch <n>', 'cap of the default sweep (default 64)', positiveInteger('--max-batch'))
      .option('--reference <n>', 'reference batch size (default 1)', positiveInteger('--reference'))
      .option('--probes <n>', 'probe samples (default 3)', positiveInteger('--probes')),
  ).action(async (model: string, flags: LocateFlags) => {
    const options: LocateOptions = {
      ...commonOptions(flags),
      ...(flags.batchSizes && { batchSizes: flags.batchSizes }),
      ...(flags.maxBatch && { maxBatch: flags.maxBatch }),
      ...(flags.reference && { reference: flags.reference }),
      ...(flags.probes && { probes: flags.probes }),
    };
    const { locateDivergence } = await import('../../locate/locate');
    const { formatLocateReport } = await import('../../locate/text');
    const report = await locateDivergence(model, options);
    emit(report, () => formatLocateReport(report, { color: flags.color }), flags.json, out);
    setExit(report.firstDivergence ? EXIT.fail : EXIT.pass);
  });
}
