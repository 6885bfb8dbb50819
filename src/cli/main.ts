import { Command, CommanderError, Option } from 'commander';
import { parseTolerance } from '../compare/tolerance';
import { BadInputError } from '../errors';
import { checkBatchInvariance, CheckOptions } from '../invariance/check';
import { checkDeterminism } from '../invariance/determinism';
import { OPTIMIZATION_LEVELS, PROVIDERS, ProviderName, OptimizationLevel } from '../model/open';
import { formatDeterminism } from '../report/determinism-text';
import { formatReport } from '../report/text';
import { tool } from '../version';
import { collectConst, collectDim, collectOutputTolerance, collectShape, duration, integer, nameList, positiveInteger, sizeList } from './parse';
import { progressBar, toJson, writeFileAtomic } from './output';

/** Exit codes (a contract for CI): 0 pass, 1 the model failed the check, 2 bad input or usage. */
export const EXIT = { pass: 0, fail: 1, badInput: 2, internal: 3 } as const;

interface CommonFlags {
  provider?: ProviderName;
  threads?: number;
  deterministic?: boolean;
  optimization?: OptimizationLevel;
  shape?: Record<string, (number | string)[]>;
  dim?: Record<string, number>;
  const?: Record<string, unknown>;
  inputs?: string;
  seed?: number;
  tolerance?: string;
  outputTolerance?: Record<string, string>;
  outputs?: string[];
  json?: string | boolean;
  color?: boolean;
}

/** Flags that say how to open the model and feed it: shared by every command that runs it. */
function addModelFlags(cmd: Command): Command {
  return cmd
    .addOption(new Option('--provider <name>', 'execution provider, pinned (no CPU fallback)').choices(PROVIDERS as unknown as string[]).default('cpu'))
    .option('--threads <n>', 'intra-op threads (default: onnxruntime picks)', positiveInteger('--threads'))
    .option('--deterministic', "set onnxruntime's session.use_deterministic_compute")
    .addOption(new Option('--optimization <level>', 'graph optimization level').choices(OPTIMIZATION_LEVELS as unknown as string[]))
    .option('--shape <name=dims>', 'dims of an input or output, N marks the batch axis (repeatable), e.g. state=2,N,128', collectShape)
    .option('--dim <symbol=n>', 'size of a symbolic dim (repeatable), e.g. seq=16', collectDim)
    .option('--const <name=value>', 'an input shared by the whole batch (repeatable), e.g. sr=16000', collectConst)
    .option('--inputs <file>', 'samples: .npy (one batched input) or .npz keyed by input name')
    .option('--seed <n>', 'seed for synthesized samples (default 0)', integer('--seed'))
    .option('--tolerance <tol>', 'exact | default | atol=A,rtol=R | ulp=N | cosine=C')
    .option('--output-tolerance <output:tol>', 'tolerance for one output (repeatable), e.g. logits:ulp=4', collectOutputTolerance)
    .option('--outputs <names>', 'compare only these outputs (comma-separated)', nameList)
    .option('--json [file]', 'print the report as JSON, or write it to FILE (and print the report for people)')
    .option('--no-color', 'no colours in the report');
}

function commonOptions(flags: CommonFlags): CheckOptions {
  const options: CheckOptions = {
    provider: flags.provider,
    threads: flags.threads,
    deterministic: flags.deterministic,
    optimization: flags.optimization,
    shapes: flags.shape,
    dims: flags.dim,
    consts: flags.const,
    inputs: flags.inputs,
    seed: flags.seed,
    outputs: flags.outputs,
  };
  if (flags.tolerance !== undefined) options.tolerance = parseTolerance(flags.tolerance);
  if (flags.outputTolerance) {
    options.outputTolerances = Object.fromEntries(Object.entries(flags.outputTolerance).map(([k, v]) => [k, parseTolerance(v)]));
  }
  // Undefined keys are dropped: onnxruntime rejects option objects that carry them.
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as CheckOptions;
}

/** Prints a report: JSON on stdout, or JSON to a file and the text on stdout. */
function emit(report: object, text: () => string, json: string | boolean | undefined, out: (s: string) => void): void {
  if (json === true) {
    out(toJson(report));
    return;
  }
  if (typeof json === 'string') writeFileAtomic(json, toJson(report) + '\n');
  out(text());
}

export function buildProgram(out: (s: string) => void, setExit: (code: number) => void): Command {
  const program = new Command('batchproof')
    .description('Prove an ONNX model gives each sample the same answer whatever the batch size, position, batch-mates, run or provider.')
    .version(tool.version)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => out(s.replace(/\n$/, '')), writeErr: (s) => process.stderr.write(s) });

  addModelFlags(
    program
      .command('check')
      .description('batch invariance: sweep batch sizes, positions and batch-mates; exit 0 invariant or within tolerance, 1 violated, 2 bad input')
      .argument('<model>', 'path to an .onnx model')
      .option('--batch-sizes <list>', 'batch sizes to sweep, e.g. 1,2,8,64', sizeList('--batch-sizes'))
      .option('--max-batch <n>', 'cap of the default sweep (default 64)', positiveInteger('--max-batch'))
      .option('--reference <n>', 'reference batch size (default 1)', positiveInteger('--reference'))
      .option('--probes <n>', 'probe samples, placed first, middle and last (default 3)', positiveInteger('--probes'))
      .option('--budget <duration>', 'trim the sweep to fit, e.g. 30s', duration),
  ).action(async (model: string, flags: CommonFlags & { batchSizes?: number[]; maxBatch?: number; reference?: number; probes?: number; budget?: { seconds: number } }) => {
    const bar = progressBar('checking');
    const options: CheckOptions = {
      ...commonOptions(flags),
      ...(flags.batchSizes && { batchSizes: flags.batchSizes }),
      ...(flags.maxBatch && { maxBatch: flags.maxBatch }),
      ...(flags.reference && { reference: flags.reference }),
      ...(flags.probes && { probes: flags.probes }),
      ...(flags.budget && { budget: flags.budget }),
      onProgress: (done, total) => bar.update(done, total),
    };
    try {
      const report = await checkBatchInvariance(model, options);
      bar.stop();
      emit(report, () => formatReport(report, { color: flags.color }), flags.json, out);
      setExit(report.verdict === 'violated' ? EXIT.fail : EXIT.pass);
    } finally {
      bar.stop();
    }
  });

  addModelFlags(
    program
      .command('determinism')
      .description('run the same batch several times; exit 0 when every run is bitwise equal (or within --tolerance), 1 otherwise')
      .argument('<model>', 'path to an .onnx model')
      .option('--repeats <n>', 'how many runs (default 5)', positiveInteger('--repeats'))
      .option('--batch-size <n>', 'batch size (default 16)', positiveInteger('--batch-size')),
  ).action(async (model: string, flags: CommonFlags & { repeats?: number; batchSize?: number }) => {
    const report = await checkDeterminism(model, {
      ...commonOptions(flags),
      ...(flags.repeats && { repeats: flags.repeats }),
      ...(flags.batchSize && { batchSize: flags.batchSize }),
    });
    emit(report, () => formatDeterminism(report, { color: flags.color }), flags.json, out);
    setExit(report.verdict === 'nondeterministic' ? EXIT.fail : EXIT.pass);
  });
  return program;
}

/** Runs the CLI and returns its exit code; never throws, never prints a stack trace. */
export async function main(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s + '\n')): Promise<number> {
  let code: number = EXIT.pass;
  const program = buildProgram(out, (c) => (code = c));
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version are not errors; every other commander error is a usage error.
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help' ? EXIT.pass : EXIT.badInput;
    }
    if (e instanceof BadInputError) {
      process.stderr.write(`batchproof: ${e.message}\n`);
      return EXIT.badInput;
    }
    const err = e as Error;
    process.stderr.write(`batchproof: internal error: ${String(err?.message ?? err).split('\n')[0]} (set BATCHPROOF_DEBUG=1 for details; please report it)\n`);
    if (process.env.BATCHPROOF_DEBUG) process.stderr.write(`${err?.stack}\n`);
    return EXIT.internal;
  }
}
