/**
 * Standard output and the terminal without Node's stream objects. Creating process.stdout or
 * process.stderr on a pipe or a terminal loads Node's net and tty modules, about 3 ms of every
 * CLI run, for output written once at the end: so the report goes out with plain writes to
 * the descriptor, and a stream is made only where a terminal needs one (progress, colours).
 */
import fs = require('fs');

/**
 * Is descriptor 1 or 2 a terminal? Only a character device can be, and /dev/null (CI's
 * `> /dev/null 2>&1`) is one that is not: told apart by a stat, where asking the stream would
 * make it (Node's stdio stream with net and tty: about 2.5 ms).
 */
export function isTerminal(fd: 1 | 2): boolean {
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isCharacterDevice() || stat.rdev === nullDevice()) return false;
  } catch {
    return false;
  }
  return Boolean((fd === 1 ? process.stdout : process.stderr).isTTY);
}

let nullRdev: number | null | undefined;
function nullDevice(): number | null {
  if (nullRdev === undefined) {
    try {
      nullRdev = fs.statSync('/dev/null').rdev;
    } catch {
      nullRdev = null; // no /dev/null (Windows): the stream is asked
    }
  }
  return nullRdev;
}

/** Per descriptor: a reader went away; output went to the stream (later writes follow it there, so none overtakes it). */
const state = { 1: { closed: false, viaStream: false }, 2: { closed: false, viaStream: false } };

const streamOf = (fd: 1 | 2): NodeJS.WriteStream => (fd === 1 ? process.stdout : process.stderr);

/** process.stdout's own write while the user's code has it diverted to stderr (divertStdoutToStderr). */
let stdoutWrite: ((text: string | Uint8Array) => boolean) | null = null;
const streamWrite = (fd: 1 | 2, text: string | Uint8Array): boolean => (fd === 1 && stdoutWrite ? stdoutWrite(text) : streamOf(fd).write(text));

/**
 * While standard output holds the JSON or the page (--json -, --html -), what the user's code
 * prints there (console.log in a batch function's module, a library's progress) goes to standard
 * error instead: mixed into the JSON it would make the report unreadable. batchproof's own
 * output still goes to descriptor 1. The stream is patched when the user's code first asks for
 * it (console.log does, on its first call): making it here would load Node's net and tty
 * modules (about 3 ms) in every run, printing or not. Returns the undo.
 */
export function divertStdoutToStderr(): () => void {
  const own = Object.getOwnPropertyDescriptor(process, 'stdout');
  if (!own?.get || !own.configurable) return divertMadeStream(process.stdout);
  let undo: (() => void) | null = null;
  Object.defineProperty(process, 'stdout', {
    configurable: true,
    enumerable: own.enumerable,
    get() {
      const stream = (own.get as () => NodeJS.WriteStream).call(process);
      undo ??= divertMadeStream(stream);
      return stream;
    },
  });
  return () => {
    Object.defineProperty(process, 'stdout', own);
    undo?.();
  };
}

function divertMadeStream(stdout: NodeJS.WriteStream): () => void {
  const own = Object.getOwnPropertyDescriptor(stdout, 'write');
  stdoutWrite = stdout.write.bind(stdout) as (text: string | Uint8Array) => boolean;
  stdout.write = ((...args: unknown[]) => (process.stderr.write as (...a: unknown[]) => boolean)(...args)) as typeof stdout.write;
  return () => {
    if (own) Object.defineProperty(stdout, 'write', own);
    else delete (stdout as { write?: unknown }).write;
    stdoutWrite = null;
  };
}

/**
 * Writes all of `text` to descriptor 1 or 2, synchronously. A reader that went away (`| head`)
 * ends the output quietly (EPIPE); a descriptor that would block (a non-blocking pipe that is
 * full) hands the rest, and every later write, to process.stdout or process.stderr, which wait
 * for it (outputFlushed says when they are done).
 */
function writeFd(fd: 1 | 2, text: string): void {
  const s = state[fd];
  if (s.closed) return;
  if (s.viaStream) {
    streamWrite(fd, text);
    return;
  }
  const bytes = Buffer.from(text);
  let at = 0;
  try {
    while (at < bytes.length) at += fs.writeSync(fd, bytes, at, bytes.length - at);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EPIPE') {
      s.closed = true;
      return;
    }
    if (code !== 'EAGAIN') throw e;
    s.viaStream = true;
    streamOf(fd).on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
    });
    streamWrite(fd, bytes.subarray(at));
  }
}

/** All of `text` to standard output (the report), synchronously; see writeFd. */
export function writeStdout(text: string): void {
  writeFd(1, text);
}

/** All of `text` to standard error (the one-line errors), synchronously; see writeFd. */
export function writeStderr(text: string): void {
  writeFd(2, text);
}

/**
 * Resolves once everything written has left the process: at once, unless a full pipe handed
 * some to a stream that still holds it (then when it drains, closes or fails).
 */
export function outputFlushed(): Promise<void> {
  const waiting = ([1, 2] as const).filter((fd) => state[fd].viaStream && streamOf(fd).writableLength > 0);
  return Promise.all(
    waiting.map((fd) => new Promise<void>((resolve) => {
      const stream = streamOf(fd);
      stream.once('drain', resolve);
      stream.once('error', () => resolve());
      stream.once('close', resolve);
    })),
  ).then(() => undefined);
}
