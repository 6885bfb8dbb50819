import fs = require('fs');
import path = require('path');
import { BadInputError } from '../errors';
import { describeKind, resolveWriteTarget } from './paths';
import { isAlive } from './pid';

type Pieces = string | Uint8Array | readonly Uint8Array[];

let counter = 0;

/**
 * Writes a file atomically: the pieces go to a temporary file beside the target, flushed, then a
 * rename replaces the target. A crash or a parallel writer never leaves half a file, and the
 * temporary file never outlives a failure or a SIGINT/SIGTERM/SIGHUP; one left by a process that
 * was killed outright is removed by the next write of the same file. Pieces are written as they
 * are (no joined copy of a large baseline or model).
 *
 * A symbolic link is written through (the link stays, its target is replaced); a device, a FIFO
 * or a name for an open descriptor (/dev/stdout) is written to as it is, never replaced. A path
 * that cannot be written is a BadInputError, not a crash.
 */
export function writeFileAtomic(file: string, pieces: Pieces): void {
  if (typeof file !== 'string' || file === '') throw new BadInputError('the output path is empty; give a file name');
  const target = resolveWriteTarget(file);
  if (target.fd !== undefined) {
    writeInPlace(file, target.fd, pieces);
    return;
  }
  let stat: fs.Stats | null = null;
  try {
    stat = fs.statSync(target.path);
  } catch {
    // A new file.
  }
  if (stat?.isDirectory()) throw new BadInputError(`${file}: is a directory; give a file name inside it`);
  if (stat && !stat.isFile()) {
    if (stat.isSocket() || stat.isBlockDevice()) throw new BadInputError(`${file}: is ${describeKind(stat)}; give a file name`);
    let fd: number;
    try {
      fd = fs.openSync(target.path, 'w');
    } catch (e) {
      throw cannotWrite(file, e);
    }
    try {
      writeInPlace(file, fd, pieces);
    } finally {
      fs.closeSync(fd);
    }
    return;
  }
  const dir = path.dirname(target.path);
  if (!fs.existsSync(dir)) throw new BadInputError(`${file}: the directory ${dir} does not exist; create it first`);
  const base = path.basename(target.path);
  clearStaleTemporaries(dir, base);
  const tmp = path.join(dir, `.${base}.${process.pid}.${++counter}.tmp`);
  track(tmp);
  let fd: number | null = null;
  try {
    fd = fs.openSync(tmp, 'wx');
    // A replaced file keeps its permissions (a private baseline stays private).
    if (stat) fs.fchmodSync(fd, stat.mode & 0o7777);
    writeAll(fd, pieces);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = null;
    fs.renameSync(tmp, target.path);
  } catch (e) {
    try {
      if (fd !== null) fs.closeSync(fd);
      fs.rmSync(tmp, { force: true });
    } catch {
      // Nothing was written where it could be cleaned (an impossible path): report the cause below.
    }
    if (e instanceof BadInputError) throw e;
    throw cannotWrite(file, e);
  } finally {
    untrack(tmp);
  }
}

function cannotWrite(file: string, e: unknown): BadInputError {
  return new BadInputError(`${file}: cannot write it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); check the path and its permissions`);
}

function list(pieces: Pieces): readonly Uint8Array[] {
  return typeof pieces === 'string' ? [Buffer.from(pieces)] : pieces instanceof Uint8Array || ArrayBuffer.isView(pieces) ? [pieces as Uint8Array] : pieces;
}

function writeAll(fd: number, pieces: Pieces): void {
  for (const piece of list(pieces)) {
    for (let offset = 0; offset < piece.byteLength; ) offset += fs.writeSync(fd, piece, offset, piece.byteLength - offset);
  }
}

/** A descriptor, device or FIFO: written as it is (a non-blocking pipe that is full is waited on). */
function writeInPlace(file: string, fd: number, pieces: Pieces): void {
  const wait = new Int32Array(new SharedArrayBuffer(4));
  for (const piece of list(pieces)) {
    for (let offset = 0; offset < piece.byteLength; ) {
      try {
        offset += fs.writeSync(fd, piece, offset, piece.byteLength - offset);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw cannotWrite(file, e);
        Atomics.wait(wait, 0, 0, 5);
      }
    }
  }
}


/** Temporaries of this target left by processes that are gone (killed outright: SIGKILL, a crash, power). */
function clearStaleTemporaries(dir: string, base: string): void {
  const pattern = new RegExp(`^\\.${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(\\d+)\\.\\d+\\.tmp$`);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(pattern.exec(name)?.[1]);
    if (!pid || pid === process.pid || isAlive(pid)) continue;
    try {
      fs.rmSync(path.join(dir, name), { force: true });
    } catch {
      // Another process removed it first, or it cannot be: the write goes on.
    }
  }
}

// Temporaries being written, removed if a signal ends the process. The writes are synchronous,
// so a signal that arrives during one is handled (by Node, on the event loop) once it is done:
// the listeners stay until the loop has had a turn to deliver it, or it would be swallowed.
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const pending = new Set<string>();
let listening = false;
let idle = 0;

function track(tmp: string): void {
  pending.add(tmp);
  idle++;
  if (listening) return;
  listening = true;
  for (const signal of SIGNALS) process.on(signal, onSignal);
}

function untrack(tmp: string): void {
  pending.delete(tmp);
  if (pending.size > 0) return;
  const mine = ++idle;
  // Two turns: the first may run before the poll phase that delivers a signal caught meanwhile.
  setImmediate(() => setImmediate(() => mine === idle && pending.size === 0 && stopListening()));
}

function stopListening(): void {
  if (!listening) return;
  listening = false;
  for (const signal of SIGNALS) process.removeListener(signal, onSignal);
}

function onSignal(signal: NodeJS.Signals): void {
  for (const tmp of pending) {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // Gone already.
    }
  }
  pending.clear();
  stopListening();
  // No listener of the user's: end as the signal would have without ours (exit 128 + signal).
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}
