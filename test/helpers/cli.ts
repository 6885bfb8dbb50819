import { main } from '../../src/cli/main';

/** Runs the CLI in-process as a user would from a shell, capturing stdout, stderr and the exit code. */
export async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string) => (err.push(String(s)), true)) as typeof process.stderr.write;
  try {
    const code = await main(args, (s) => out.push(s), (s) => err.push(`${s}\n`));
    return { code, stdout: out.join('\n'), stderr: err.join('') };
  } finally {
    process.stderr.write = write;
  }
}
