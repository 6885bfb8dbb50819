import type { Command } from 'commander';
import { BadInputError } from '../../errors';
import { CommandContext, emit, EXIT } from '../common';
import { addStatsFlags, statsOptions, type StatsFlags } from './stats';

interface RecalibrateFlags extends StatsFlags {
  output?: string;
  force?: boolean;
}

/** `batchproof recalibrate <model> --data FILE -o OUT.onnx`: exit 0 written, 2 bad input. */
export function registerRecalibrate(program: Command, { out, setExit }: CommandContext): void {
  addStatsFlags(
    program
      .command('recalibrate')
      .description('write a copy of the model whose BatchNorm running statistics are those of the calibration data (the input model is never changed)')
      .argument('<model>', 'path to an .onnx model')
      .requiredOption('--data <file>', 'calibration samples: .npy (one input) or .npz/.safetensors keyed by input name')
      .requiredOption('-o, --output <file>', 'where to write the recalibrated model')
      .option('--force', 'replace OUT when it exists'),
  ).action(async (model: string, flags: RecalibrateFlags) => {
    const output = flags.output as string;
    if (!/\.onnx$/i.test(output)) throw new BadInputError(`-o ${output}: the output must be an .onnx file name`);
    const { readModel } = await import('../../onnx/graph');
    const { hasExternalData, modelBytes } = await import('../../runtime/model-bytes');
    const { checkOutputPath, recalibrate, writeModelFile } = await import('../../stats/recalibrate');
    const { formatRecalibration } = await import('../../stats/text');
    // Refuse before the work: same file as the input, or an existing file without --force.
    const mb = modelBytes(model, 'recalibration');
    const external = hasExternalData(readModel(mb.bytes, mb.source).model.graph?.initializer ?? []);
    checkOutputPath(output, { input: model, force: flags.force, externalData: external });
    const result = await recalibrate(model, flags.data as string, await statsOptions(flags));
    writeModelFile(output, result.bytes, { input: model, force: flags.force, externalData: external });
    emit({ ...result.report, output }, () => formatRecalibration(result.report, output, { color: flags.color }), flags.json, out);
    setExit(EXIT.pass);
  });
}
