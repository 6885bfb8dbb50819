/**
 * Standard output and the terminal without Node's stream objects. Creating process.stdout or
 * process.stderr on a pipe or a terminal loads Node's net and tty modules, about 3 ms of every
 * CLI run, for output written once at the end: so the report goes out with plain writes to
 * the descriptor, and a stream is made only where a terminal needs one (progress, colours).
 */
import * as fs from 'fs';

/** Is descriptor 1 or 2 a terminal? Only a character device can be; only then is the stream asked. */
export function isTerminal(fd: 1 | 2): boolean {
  try {
    if (!fs.fstatSync(fd).isCharacterDevice()) return false;
  } catch {
    return false;
  }
  return Boolean((fd === 1 ? process.stdout : process.stderr).isTTY);
}

let stdoutClosed = false;
/** Set once output went to process.stdout: later writes follow it there, so none overtakes it. */
let viaStream = false;

/**
 * Writes all of `text` to standard output, synchronously. A reader that went away (`| head`)
 * ends the output quietly (EPIPE); a descriptor that would block (a non-blocking pipe that is
 * full) hands the rest, and every later write, to process.stdout, which waits for it.
 */
export function writeStdout(text: string): void {
  if (stdoutClosed) return;
  if (viaStream) {
    process.stdout.write(text);
    return;
  }
  const bytes = Buffer.from(text);
  let at = 0;
  try {
    while (at < bytes.length) at += fs.writeSync(1, bytes, at, bytes.length - at);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EPIPE') {
      stdoutClosed = true;
      return;
    }
    if (code !== 'EAGAIN') throw e;
    viaStream = true;
    process.stdout.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
    });
    process.stdout.write(bytes.subarray(at));
  }
}
