import { Command, CommanderError } from 'commander';
import { divertStdoutToStderr, writeStderr, writeStdout } from '../io/terminal';
import { BadInputError } from '../errors';
import { tool } from '../version';
import { checkOutputPaths, CommandContext, EXIT } from './common';

export { EXIT };

type Register = (program: Command, ctx: CommandContext) => void;

/* eslint-disable @typescript-eslint/no-require-imports */
/**
 * One register function per command, each in src/cli/commands/, loaded when asked for: a run
 * of one command neither loads nor builds the others (with their imports, about 2 ms).
 */
const COMMANDS: Record<string, () => Register> = {
  check: () => (require('./commands/check') as typeof import('./commands/check')).registerCheck,
  determinism: () => (require('./commands/determinism') as typeof import('./commands/determinism')).registerDeterminism,
  compare: () => (require('./commands/compare') as typeof import('./commands/compare')).registerCompare,
  fingerprint: () => (require('./commands/fingerprint') as typeof import('./commands/fingerprint')).registerFingerprint,
  diff: () => (require('./commands/diff') as typeof import('./commands/diff')).registerDiff,
  stats: () => (require('./commands/stats') as typeof import('./commands/stats')).registerStats,
  locate: () => (require('./commands/locate') as typeof import('./commands/locate')).registerLocate,
  recalibrate: () => (require('./commands/recalibrate') as typeof import('./commands/recalibrate')).registerRecalibrate,
  report: () => (require('./commands/report') as typeof import('./commands/report')).registerReport,
};
/* eslint-enable @typescript-eslint/no-require-imports */

const usageErrors: string[] = [];

/**
 * The program with every command, or with only `only` (the command a run names): help, a
 * version, an unknown command and its suggestions get them all.
 */
export function buildProgram(ctx: CommandContext, only?: string): Command {
  const program = new Command('batchproof')
    .description('Prove an ONNX model gives each sample the same answer whatever the batch size, position, batch-mates, run or provider.')
    .version(tool.version)
    .exitOverride()
    // Commander's usage errors come in pieces ("error: ...", "(Did you mean ...?)"): they are
    // collected and printed as one line, like every other bad input.
    .configureOutput({ writeOut: (s) => ctx.out(s.replace(/\n$/, '')), writeErr: (s) => usageErrors.push(s), outputError: (s) => usageErrors.push(s) });
  const names = only !== undefined && Object.hasOwn(COMMANDS, only) ? [only] : Object.keys(COMMANDS);
  for (const name of names) COMMANDS[name]()(program, ctx);
  // Output paths are checked before any command runs: a bad one costs no work and loses no file.
  program.hook('preAction', (_program, command) => {
    if (checkOutputPaths(command)) ctx.machineStdout?.();
  });
  // Subcommands inherit the exit override so their usage errors also exit 2.
  for (const cmd of program.commands) {
    cmd.exitOverride().configureOutput({ writeOut: (s) => ctx.out(s.replace(/\n$/, '')), writeErr: (s) => usageErrors.push(s), outputError: (s) => usageErrors.push(s) });
    refuseRepeatedFlags(cmd);
  }
  return program;
}

/** Flags documented as repeatable (each adds one item: --dim seq=16 --dim batch=2); parse.ts refuses one item given twice. */
const REPEATABLE = new Set(['--shape', '--dim', '--const', '--output-tolerance']);

/**
 * A flag that takes a value, given twice (`--json a.json --json b.json`, `--tolerance` twice):
 * commander keeps the last and drops the first without a word. One line instead, naming the
 * flag: which one the user meant is theirs to say. (Commander has no setting for it; every
 * occurrence emits `option:NAME`, heard here after commander's own listener has parsed the
 * value, so a bad value is still said first. List flags say so themselves, in parse.ts.)
 */
function refuseRepeatedFlags(cmd: Command): void {
  for (const option of cmd.options) {
    if (!(option.required || option.optional) || REPEATABLE.has(option.long ?? '')) continue;
    const flag = option.short && option.long ? `${option.short} (${option.long})` : (option.long ?? option.short ?? option.name());
    const given: unknown[] = [];
    cmd.on(`option:${option.name()}`, (value: unknown) => {
      given.push(value);
      if (given.length < 2) return;
      const shown = given.map((v) => (v == null ? `${option.long ?? flag} alone` : v === '' ? "''" : String(v)));
      throw new BadInputError(`${flag} given twice (${shown.join(' and ')}); give it once`);
    });
  }
}

/** Runs the CLI and returns its exit code; never throws, never prints a stack trace. */
export async function main(argv: string[], out: (s: string) => void = (s) => writeStdout(s + '\n'), err: (s: string) => void = (s) => writeStderr(s + '\n')): Promise<number> {
  let code: number = EXIT.pass;
  usageErrors.length = 0;
  let userCode: string | null = null;
  // The user's code may end the process (process.exit) while a command runs: with its exit code
  // (0, say) and no report, a silent pass. Nothing of batchproof's exits before main returns, so
  // an exit seen now is that: said in one line, exit 2. ('exit' listeners run synchronously:
  // err writes synchronously, io/terminal.ts.)
  const who = () => (userCode === null ? 'the code the command ran' : `${userCode} (its batch function or its top-level code)`);
  const ended = (given: number) => {
    err(`batchproof: ${who()} ended the process (exit code ${given}, as process.exit does) before ${argv[0]} finished, so nothing was checked and no report written; return the batch's outputs (or throw to fail) instead of exiting`);
    process.exitCode = EXIT.badInput;
  };
  // An error the user's code throws outside a call (a timer, an event, a promise no one awaits)
  // would end the process with Node's stack trace: one line and exit 2 instead.
  const crashed = (e: unknown) => {
    process.off('exit', ended);
    err(`batchproof: ${who()} threw outside a call of the function (a timer, an event, a promise no one awaited) before ${argv[0]} finished: ${String((e as Error)?.message ?? e).split('\n')[0]}; nothing was checked; make the function throw or reject within its call`);
    process.exit(EXIT.badInput);
  };
  process.on('exit', ended);
  // Only once the user's code is in: batchproof's own errors (and a test runner's) crash as they would.
  // Where standard output holds the JSON or the page, the user's code prints to stderr.
  let machineStdout = false;
  let undivert: (() => void) | null = null;
  const runsUserCode = (what: string) => {
    userCode = what;
    if (!process.listeners('uncaughtException').includes(crashed)) process.on('uncaughtException', crashed);
    if (machineStdout && undivert === null) undivert = divertStdoutToStderr();
  };
  const program = buildProgram({ out, err, setExit: (c) => (code = c), runsUserCode, machineStdout: () => (machineStdout = true) }, argv[0]);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version asked for are not errors; every other commander error is a usage error.
      if (e.exitCode === 0) return EXIT.pass;
      const text = usageErrors.splice(0).join(' ').replace(/\s+/g, ' ').replace(/^error: /, '').trim();
      const help = /^Usage:/.test(text) ? 'a command is required' : text;
      const fn = e.code === 'commander.unknownOption' ? functionFlagOnModelCommand(argv, text) : null;
      err(fn ? `batchproof: ${fn}` : `batchproof: ${help.split(' Usage:')[0]} (run batchproof --help for usage)`);
      return EXIT.badInput;
    }
    if (e instanceof BadInputError) {
      err(`batchproof: ${e.message.replace(API_CALLER, '')}`);
      return EXIT.badInput;
    }
    const failure = e as Error;
    err(`batchproof: internal error: ${String(failure?.message ?? failure).split('\n')[0]} (set BATCHPROOF_DEBUG=1 for details; please report it)`);
    if (process.env.BATCHPROOF_DEBUG) err(`${failure?.stack}`);
    return EXIT.internal;
  } finally {
    process.off('exit', ended);
    process.off('uncaughtException', crashed);
    (undivert as (() => void) | null)?.();
  }
}

/**
 * The API's lines start with the function that refused the input (`checkBatchInvariance: ...`,
 * `diffBaselines: ...`); a CLI user ran a command, not that function, so its name is left off.
 */
const API_CALLER = /^(?:checkBatchInvariance|checkDeterminism|compareProviders|locateDivergence|checkRunningStats|recalibrate|diffBaselines|compareEmbeddings): /;

/** The commands that need an ONNX model and refuse a batch function's module (their own line says so). */
const MODEL_ONLY_COMMANDS = ['compare', 'locate', 'stats', 'recalibrate'];

/**
 * `batchproof compare ./embed.mjs --samples texts.json`: a function's flags on a command that
 * needs a model would read as a misspelt flag; the line says what is wrong instead. (The regex is
 * runtime/function.ts's FUNCTION_MODULE, which this file cannot import: it loads onnxruntime.)
 */
function functionFlagOnModelCommand(argv: readonly string[], text: string): string | null {
  const flag = /'(--[a-z-]+)/.exec(text)?.[1];
  if (!MODEL_ONLY_COMMANDS.includes(argv[0]) || (flag !== '--samples' && flag !== '--call-timeout')) return null;
  const module = argv.slice(1).find((a, i, rest) => !a.startsWith('-') && rest[i - 1] !== flag && /\.(mjs|cjs|js|mts|cts|ts)$/i.test(a));
  if (module === undefined) return null;
  const at = argv.indexOf('--samples');
  const samples = at >= 0 && argv[at + 1] !== undefined ? argv[at + 1] : 'texts.json';
  return `${module}: ${argv[0]} needs an ONNX model, and this is a batch function's module (${flag} is for check and determinism); check the function itself with batchproof check ${module} --samples ${samples}, or give the ONNX model it runs`;
}
