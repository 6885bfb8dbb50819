import { Command, CommanderError } from 'commander';
import { writeStdout } from '../io/terminal';
import { BadInputError } from '../errors';
import { tool } from '../version';
import { checkOutputPaths, CommandContext, EXIT } from './common';
import { registerCheck } from './commands/check';
import { registerDeterminism } from './commands/determinism';
import { registerCompare } from './commands/compare';
import { registerFingerprint } from './commands/fingerprint';
import { registerDiff } from './commands/diff';
import { registerStats } from './commands/stats';
import { registerLocate } from './commands/locate';
import { registerRecalibrate } from './commands/recalibrate';
import { registerReport } from './commands/report';

export { EXIT };

/** One register function per command, each in src/cli/commands/. */
const COMMANDS: ((program: Command, ctx: CommandContext) => void)[] = [registerCheck, registerDeterminism, registerCompare, registerFingerprint, registerDiff, registerStats, registerLocate, registerRecalibrate, registerReport];

const usageErrors: string[] = [];

export function buildProgram(ctx: CommandContext): Command {
  const program = new Command('batchproof')
    .description('Prove an ONNX model gives each sample the same answer whatever the batch size, position, batch-mates, run or provider.')
    .version(tool.version)
    .exitOverride()
    // Commander's usage errors come in pieces ("error: ...", "(Did you mean ...?)"): they are
    // collected and printed as one line, like every other bad input.
    .configureOutput({ writeOut: (s) => ctx.out(s.replace(/\n$/, '')), writeErr: (s) => usageErrors.push(s), outputError: (s) => usageErrors.push(s) });
  for (const register of COMMANDS) register(program, ctx);
  // Output paths are checked before any command runs: a bad one costs no work and loses no file.
  program.hook('preAction', (_program, command) => checkOutputPaths(command));
  // Subcommands inherit the exit override so their usage errors also exit 2.
  for (const cmd of program.commands) {
    cmd.exitOverride().configureOutput({ writeOut: (s) => ctx.out(s.replace(/\n$/, '')), writeErr: (s) => usageErrors.push(s), outputError: (s) => usageErrors.push(s) });
  }
  return program;
}

/** Runs the CLI and returns its exit code; never throws, never prints a stack trace. */
export async function main(argv: string[], out: (s: string) => void = (s) => writeStdout(s + '\n')): Promise<number> {
  let code: number = EXIT.pass;
  usageErrors.length = 0;
  const program = buildProgram({ out, setExit: (c) => (code = c) });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version asked for are not errors; every other commander error is a usage error.
      if (e.exitCode === 0) return EXIT.pass;
      const text = usageErrors.splice(0).join(' ').replace(/\s+/g, ' ').replace(/^error: /, '').trim();
      const help = /^Usage:/.test(text) ? 'a command is required' : text;
      process.stderr.write(`batchproof: ${help.split(' Usage:')[0]} (run batchproof --help for usage)\n`);
      return EXIT.badInput;
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
