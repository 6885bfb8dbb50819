import { Command, Option } from 'commander';
import { parseTolerance } from '../compare/tolerance';
import { BadInputError } from '../errors';
import type { CheckOptions } from '../invariance/check';
import type { BatchFunction } from '../runtime/function';
import { checkOutputPath, isStdout } from '../io/paths';
import { assertReplaceablePage } from '../html/target';
import os = require('os');
import { maxThreads, OPTIMIZATION_LEVELS, OptimizationLevel } from '../runtime/settings';
import { PROVIDERS, ProviderName } from '../runtime/providers';
import { byteSize, collectConst, duration, collectDim, collectOutputTolerance, collectShape, integer, nameList, positiveInteger, sizeList } from './parse';
import { toJson, writeFileAtomic } from './output';

/** Exit codes (a contract for CI): 0 pass, 1 the model failed the check, 2 bad input or usage. */
export const EXIT = { pass: 0, fail: 1, badInput: 2, internal: 3 } as const;

/** What every command gets: where to print, and how to set the exit code. */
export interface CommandContext {
  /** A line to standard output. */
  out: (s: string) => void;
  /** A line to standard error (what is said beside a report written to stdout). */
  err: (s: string) => void;
  setExit: (code: number) => void;
  /** Names the user's code a command is about to run (a batch function's module), for the line said if it ends the process. */
  runsUserCode: (what: string) => void;
  /** Said before the command runs when standard output holds the JSON or the page (--json -, --html -). */
  machineStdout?: () => void;
}

export interface CommonFlags extends SessionFlags, ShapeFlags {
  inputs?: string;
  seed?: number;
  vocab?: number;
  tolerance?: string;
  outputTolerance?: Record<string, string>;
  outputs?: string[];
  json?: string | boolean;
  color?: boolean;
}

/** How the session is made: shared by every command that opens a model. */
export interface SessionFlags {
  provider?: ProviderName;
  threads?: number;
  deterministic?: boolean;
  optimization?: OptimizationLevel;
  maxMemory?: number;
}

/**
 * --threads and compare's --against-threads: the session settings' cap (runtime/settings.ts)
 * checked here too, so the line names the flag the user gave, not the API's `threads`.
 */
export function threadCount(flag: string) {
  const parse = positiveInteger(flag);
  return (value: string): number => {
    const n = parse(value);
    const cap = maxThreads();
    if (n > cap) throw new BadInputError(`${flag} ${value}: more than the ${cap} threads allowed here (4 per core, at least 64; this machine has ${os.availableParallelism()} cores); use at most ${cap}, e.g. ${flag} ${os.availableParallelism()}`);
    return n;
  };
}

export function addSessionFlags(cmd: Command): Command {
  return cmd
    .addOption(new Option('--provider <name>', 'execution provider, pinned (no CPU fallback; default cpu)').choices(PROVIDERS as unknown as string[]))
    .option('--threads <n>', 'intra-op threads (default: onnxruntime picks)', threadCount('--threads'))
    .option('--deterministic', "set onnxruntime's session.use_deterministic_compute")
    .addOption(new Option('--optimization <level>', 'graph optimization level').choices(OPTIMIZATION_LEVELS as unknown as string[]));
}

/** The memory a batch may take: every command that runs a model has it (fingerprint runs none). */
export function addMemoryFlag(cmd: Command): Command {
  return cmd.option('--max-memory <size>', 'refuse a batch whose tensors would take more than this, e.g. 4GB or 2GiB (default: from the memory of this machine)', byteSize('--max-memory'));
}

/** --max-memory as the API's option. */
export function memoryOptions(flags: SessionFlags): { maxBytes?: number } {
  return flags.maxMemory === undefined ? {} : { maxBytes: flags.maxMemory };
}

/** Batch axes, symbolic dims and shared inputs. */
export interface ShapeFlags {
  shape?: Record<string, (number | string)[]>;
  dim?: Record<string, number>;
  const?: Record<string, unknown>;
}

export function addShapeFlags(cmd: Command): Command {
  return cmd
    .option('--shape <name=dims>', 'dims of an input or output, N marks the batch axis (repeatable), e.g. state=2,N,128', collectShape)
    .option('--dim <symbol=n>', 'size of a symbolic dim (repeatable), e.g. seq=16', collectDim)
    .option('--const <name=value>', 'an input shared by the whole batch (repeatable), e.g. sr=16000', collectConst);
}

/** Where the report goes. */
export function addReportFlags(cmd: Command): Command {
  return cmd
    .option('--json [file]', 'print the report as JSON (also --json -), or write it to FILE and print the report for people; FILE is never one of the inputs')
    // Both forms, so the default stays "when stdout is a colour terminal" (a lone --no-color defaults to true).
    .option('--color', 'colours in the report even when piped')
    .option('--no-color', 'no colours in the report');
}

/** The session's, the shapes' and the report's flags as options (undefined ones left out). */
export function sessionAndShapeOptions(flags: SessionFlags & ShapeFlags): Pick<CheckOptions, 'provider' | 'threads' | 'deterministic' | 'optimization' | 'shapes' | 'dims' | 'consts'> {
  return definedOnly({
    provider: flags.provider,
    threads: flags.threads,
    deterministic: flags.deterministic,
    optimization: flags.optimization,
    shapes: flags.shape,
    dims: flags.dim,
    consts: flags.const,
  });
}

/** Undefined keys are dropped: onnxruntime rejects option objects that carry them. */
function definedOnly<T extends object>(options: T): T {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as T;
}

/** Flags that say how to open the model and feed it: shared by every command that runs it. */
export function addModelFlags(cmd: Command): Command {
  return addReportFlags(
    addMemoryFlag(addShapeFlags(addSessionFlags(cmd)))
      .option('--inputs <file>', 'samples: .npy (one batched input), or .npz/.safetensors keyed by input name')
      .option('--seed <n>', 'seed for synthesized samples (default 0)', integer('--seed'))
      .option('--vocab <n>', "synthesized token ids below N (default: the rows of the table the graph shows them indexing, else 100)", positiveInteger('--vocab'))
      .option('--tolerance <tol>', 'exact | default | atol=A,rtol=R | ulp=N | cosine=C')
      .option('--output-tolerance <output:tol>', 'tolerance for one output (repeatable), e.g. logits:ulp=4', collectOutputTolerance)
      .option('--outputs <names>', 'compare only these outputs (comma-separated)', nameList('--outputs')),
  );
}

export function commonOptions(flags: CommonFlags): CheckOptions {
  const options: CheckOptions = {
    ...sessionAndShapeOptions(flags),
    ...memoryOptions(flags),
    inputs: flags.inputs,
    seed: flags.seed,
    vocab: flags.vocab,
    outputs: flags.outputs,
  };
  if (flags.tolerance !== undefined) options.tolerance = parseTolerance(flags.tolerance);
  if (flags.outputTolerance) {
    options.outputTolerances = Object.fromEntries(Object.entries(flags.outputTolerance).map(([k, v]) => [k, parseTolerance(v, `--output-tolerance ${k}:${v}`)]));
  }
  return definedOnly(options);
}

/** Flags naming files a command reads, as messages name them. Every positional argument is one too. */
const INPUT_FLAGS: Record<string, string> = { inputs: 'samples file (--inputs)', data: 'calibration data (--data)', checkpoint: 'checkpoint (--checkpoint)', samples: 'samples file (--samples)' };
const ARGUMENT_NAMES: Record<string, string> = { model: 'input model', a: 'baseline <a>', b: 'file <b>' };
/** Flags naming files a command writes, in the order they are checked. */
const OUTPUT_FLAGS: [key: string, flag: string, what: string][] = [
  ['output', '-o', 'the model'],
  ['json', '--json', 'the JSON report'],
  ['html', '--html', 'the HTML page'],
];

/**
 * Every command's output paths, checked before the command runs (main.ts's preAction hook), so
 * a bad one costs no work and never replaces a file: none may be one of the command's inputs or
 * another of its outputs, a directory, unwritable, or (for --json) a file that is not JSON.
 * `--json -` is stdout, as a bare --json.
 */
export function checkOutputPaths(command: Command): boolean {
  const opts = command.opts() as Record<string, unknown>;
  const inputs = [
    ...command.registeredArguments.map((arg, i) => ({ file: command.processedArgs[i] as unknown, what: ARGUMENT_NAMES[arg.name()] ?? `input <${arg.name()}>` })),
    ...Object.entries(INPUT_FLAGS).map(([key, what]) => ({ file: opts[key], what })),
  ].filter((input): input is { file: string; what: string } => typeof input.file === 'string');
  const outputs: { file: string; flag: string }[] = [];
  // Standard output takes one thing: the JSON, the page or the report for people, never two run together.
  let stdout: string | null = opts.json === true ? '--json' : null;
  for (const [key, flag, what] of OUTPUT_FLAGS) {
    const file = opts[key];
    if (typeof file !== 'string') continue;
    checkOutputPath(file, { flag, what, inputs, outputs, jsonOnly: key === 'json' });
    if (key === 'html') assertReplaceablePage(file, flag);
    if (isStdout(file)) {
      if (stdout !== null) throw new BadInputError(`${flag} ${file}: ${stdout === '--json' ? 'the JSON report (--json)' : `${stdout}'s output`} is printed on standard output already, and the two would run together; write one of them to a file, e.g. ${flag} ${key === 'html' ? 'report.html' : 'report.json'}`);
      stdout = flag;
      // /dev/stdout as `-`: the JSON alone (the report for people is not printed after it), the page alone (the report for people goes to stderr).
      if (key === 'json') command.setOptionValue('json', true);
      if (key === 'html') command.setOptionValue('html', '-');
    }
    outputs.push({ file, flag });
  }
  return stdout !== null;
}

/** Prints a report: JSON on stdout, or JSON to a file and the text on stdout. */
export function emit(report: object, text: () => string, json: string | boolean | undefined, out: (s: string) => void): void {
  if (json === true) {
    out(toJson(report));
    return;
  }
  if (typeof json === 'string') writeFileAtomic(json, toJson(report) + '\n');
  out(text());
}

/** The sweep's flags, shared by `check` and `locate` (which reruns check's plan). */
export interface PlanFlags {
  batchSizes?: number[];
  maxBatch?: number;
  reference?: number;
  probes?: number;
  /** Sequence padding (pad tokens): --padding auto|off, --pad-axis, --mask, --pad-id, --pad-side. */
  padding?: 'auto' | 'off';
  padAxis?: string;
  mask?: string;
  padId?: number;
  padSide?: 'left' | 'right';
}

export function addPlanFlags(cmd: Command): Command {
  return cmd
    .option('--batch-sizes <list>', 'batch sizes to sweep, e.g. 1,2,8,64', sizeList('--batch-sizes'))
    .option('--max-batch <n>', 'cap of the default sweep (default 64)', positiveInteger('--max-batch'))
    .option('--reference <n>', 'reference batch size (default 1)', positiveInteger('--reference'))
    .option('--probes <n>', 'probe samples, placed first, middle and last (default 3)', positiveInteger('--probes'))
    .addOption(new Option('--padding <mode>', 'sequence padding (pad tokens): test it when a token input shares a sequence axis with a mask (auto), or not (off)').choices(['auto', 'off']))
    .option('--pad-axis <name>', 'the sequence axis to pad (a symbolic dim, e.g. sequence)')
    .option('--mask <name>', 'the mask input (1 on tokens, 0 on pads)')
    .option('--pad-id <n>', 'the token id in pad positions (default 0)', padId)
    .addOption(new Option('--pad-side <side>', 'where pad tokens go (default right)').choices(['left', 'right']));
}

/** The plan's flags as options; the padding flags as one `padding` option. */
export function planOptions(flags: PlanFlags): Pick<CheckOptions, 'batchSizes' | 'maxBatch' | 'reference' | 'probes' | 'padding'> {
  const picked = Object.fromEntries(Object.entries({ batchSizes: flags.batchSizes, maxBatch: flags.maxBatch, reference: flags.reference, probes: flags.probes }).filter(([, v]) => v !== undefined));
  const details = definedOnly({ axis: flags.padAxis, mask: flags.mask, padId: flags.padId, side: flags.padSide });
  if (flags.padding === 'off') {
    if (Object.keys(details).length > 0) throw new BadInputError(`--padding off with ${Object.keys(details).map((k) => PADDING_FLAGS[k]).join(', ')}: those flags say how to pad; drop them or --padding off`);
    return { ...picked, padding: false };
  }
  return Object.keys(details).length > 0 ? { ...picked, padding: details } : picked;
}

/** --pad-id: a token id, 0 or more, refused here in the flag's words (the API's line names padding.padId). */
function padId(value: string): number {
  const n = integer('--pad-id')(value);
  if (n < 0) throw new BadInputError(`--pad-id ${value}: a token id is 0 or more; give the id your tokenizer pads with, e.g. --pad-id 0`);
  return n;
}

const PADDING_FLAGS: Record<string, string> = { axis: '--pad-axis', mask: '--mask', padId: '--pad-id', side: '--pad-side' };

/** The flags of the commands that take a batch function's module (check, determinism). */
export interface FunctionFlags {
  samples?: string;
  callTimeout?: { seconds: number };
}

export function addFunctionFlags(cmd: Command): Command {
  return cmd
    .option('--samples <file>', 'samples for a batch function module: a JSON array, or a text file of one sample a line')
    .option('--call-timeout <duration>', "a batch function module's longest call (and its loading), e.g. 5m, 1h or none (default 2m)", duration('--call-timeout', { none: true }));
}

/**
 * A .js/.mjs/.cjs (or .ts) model argument is the user's batch function, its samples from --samples and
 * its call timeout from --call-timeout (set on `options`); null for a model, which takes neither.
 */
export async function batchFunctionOf(model: string, flags: FunctionFlags, options: { samples?: unknown; callTimeoutMs?: number }, ctx: Pick<CommandContext, 'runsUserCode'>): Promise<BatchFunction | null> {
  const { FUNCTION_MODULE, loadBatchFunction, readSamplesFile } = await import('../runtime/function');
  const { samples } = flags;
  if (!FUNCTION_MODULE.test(model)) {
    if (samples !== undefined) throw new BadInputError(`--samples is for a batch function module (.js, .mjs, .cjs, .ts); for a model give samples with --inputs FILE.npz`);
    // The check refuses callTimeoutMs for a model too, in the API's words.
    if (flags.callTimeout) throw new BadInputError(`--call-timeout limits a batch function's calls, and ${model} is a model, run by onnxruntime; leave it out`);
    return null;
  }
  if (flags.callTimeout) options.callTimeoutMs = flags.callTimeout.seconds * 1000;
  if (samples === undefined) throw new BadInputError(`${model}: a batch function needs samples: add --samples texts.json (a JSON array) or --samples texts.txt (one a line)`);
  options.samples = await readSamplesFile(samples);
  ctx.runsUserCode(model);
  return loadBatchFunction(model, options.callTimeoutMs);
}
