/**
 * What a path given by the user is, before anything reads or writes it: a FIFO or a process
 * substitution (`<(cat m.onnx)`) read as input would hang or read as empty, a directory would
 * surface as EISDIR from deep inside a reader; an output path that is an input, a directory or
 * unwritable would lose a file or the run. One line naming the path, what it is and the fix.
 */
import fs = require('fs');
import path = require('path');
import { BadInputError } from '../errors';

/** Words for a stat that is not a regular file. */
export function describeKind(stat: fs.Stats): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'a pipe (a FIFO or a process substitution such as <(...))';
  if (stat.isSocket()) return 'a socket';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

/**
 * Stats an input file (following links) and refuses anything but a regular file.
 * `what` names the role ("model", "baseline", "calibration data") for the message.
 */
export function assertReadableFile(file: string, what: string): fs.Stats {
  if (typeof file !== 'string' || file === '') throw new BadInputError(`the ${what} path is empty; give the path to a file`);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EACCES') throw new BadInputError(`${file}: permission denied; make the ${what} readable`);
    throw new BadInputError(`${file}: no such file; check the path to the ${what}`);
  }
  if (stat.isDirectory()) throw new BadInputError(`${file}: is a directory, not a ${what} file; point at a file inside it`);
  if (!stat.isFile()) throw notRegular(file, stat, what);
  return stat;
}

function notRegular(file: string, stat: fs.Stats, what: string): BadInputError {
  return new BadInputError(`${file}: is ${describeKind(stat)}, not a regular file; save the ${what} to a file and pass its path`);
}

/**
 * Refuses a path that exists and is a pipe, socket or device: reading one hangs (a FIFO nobody
 * writes to) or never ends (/dev/zero). Checked before the file's extension, which a process
 * substitution (/dev/fd/63) lacks. So is a directory, named as one (`--data .` had read as a file
 * with no extension), `directory` saying what to give instead. A missing file is left to the
 * reader's own message.
 */
export function refuseSpecialFile(file: string, what: string, directory = `is a directory, not a ${what} file; point at a file inside it`): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    return;
  }
  if (stat.isDirectory()) throw new BadInputError(`${file}: ${directory}`);
  if (!stat.isFile()) throw notRegular(file, stat, what);
}

/**
 * Where a write to `file` lands. A symbolic link is followed to the file it names (even a
 * dangling one: the link stays a link and its target gets the content); a name for one of this
 * process's descriptors (/dev/stdout, /dev/fd/3, /proc/self/fd/1) is that descriptor, written to,
 * never replaced: replacing the file behind `> out.txt` would lose what is printed after.
 */
export type WriteTarget = { fd: number; path: string } | { fd?: undefined; path: string };

const DESCRIPTOR = /^\/(?:dev\/(?:fd\/(\d+)|(stdout)|(stderr))|proc\/(?:self|(\d+))\/fd\/(\d+))$/;

export function resolveWriteTarget(file: string): WriteTarget {
  let current = path.resolve(file);
  for (let hop = 0; hop < 40; hop++) {
    const m = DESCRIPTOR.exec(current);
    if (m && (m[4] === undefined || Number(m[4]) === process.pid)) {
      return { fd: m[2] ? 1 : m[3] ? 2 : Number(m[1] ?? m[5]), path: current };
    }
    let link: string;
    try {
      if (!fs.lstatSync(current).isSymbolicLink()) return { path: current };
      link = fs.readlinkSync(current);
    } catch {
      // Missing (a new file) or not reachable: the caller's stat says which.
      return { path: current };
    }
    current = path.resolve(path.dirname(current), link);
  }
  throw new BadInputError(`${file}: too many symbolic links (a loop?); give the path of a file`);
}

/** Whether a write to `file` lands on this process's standard output: `-`, /dev/stdout, /dev/fd/1, /proc/self/fd/1 (or a link to one). */
export function isStdout(file: string): boolean {
  return file === '-' || resolveWriteTarget(file).fd === 1;
}

/** A file as the same-file test sees it: device and inode when it exists, else its resolved path. */
function identity(file: string): { dev: number; ino: number } | { path: string } {
  try {
    const stat = fs.statSync(file);
    return { dev: stat.dev, ino: stat.ino };
  } catch {
    const target = resolveWriteTarget(file).path;
    let dir = path.dirname(target);
    try {
      dir = fs.realpathSync(dir);
    } catch {
      // A missing directory: the path as written, resolved, is all there is.
    }
    return { path: path.join(dir, path.basename(target)) };
  }
}

function sameFile(a: ReturnType<typeof identity>, b: ReturnType<typeof identity>): boolean {
  if ('path' in a || 'path' in b) return 'path' in a && 'path' in b && a.path === b.path;
  return a.dev === b.dev && a.ino === b.ino;
}

export interface OutputPathOptions {
  /** The flag that names the path, for messages: '--json', '-o'. */
  flag: string;
  /** What is written there, for messages: 'the JSON report'. */
  what?: string;
  /** Files the command reads (undefined ones are skipped): the output must be none of them. */
  inputs?: readonly { file: string | undefined; what: string }[];
  /** Other paths the same command writes: the output must be none of them either. */
  outputs?: readonly { file: string; flag: string }[];
  /** Replace an existing regular file only if it holds JSON (or nothing): a report's path that names a model or weights is a slip. */
  jsonOnly?: boolean;
}

/** How an output path will be written: `stdout` (`-`), `in-place` (a device, a FIFO, a descriptor) or `file` (atomically replaced). */
export type OutputKind = 'stdout' | 'in-place' | 'file';

/**
 * Checks an output path before any work, so a bad one costs nothing and never replaces a user's
 * file: refused (BadInputError, one line) when it is empty, a directory, a socket or block
 * device, in a directory that is missing or not writable, read-only, one of the command's inputs
 * or outputs (same device and inode, so any spelling, `..`, hard or symbolic link is caught), or,
 * with `jsonOnly`, an existing file that is not JSON.
 */
export function checkOutputPath(file: string, options: OutputPathOptions): OutputKind {
  const { flag } = options;
  const what = options.what ?? 'the output';
  if (typeof file !== 'string' || file === '') throw new BadInputError(`the ${flag} path is empty; give a file name`);
  if (file === '-') return 'stdout';
  const named = `${flag} ${file}`;
  const target = resolveWriteTarget(file);
  const mine = identity(file);
  for (const input of options.inputs ?? []) {
    if (input.file === undefined || input.file === '') continue;
    if (sameFile(mine, identity(input.file))) {
      throw new BadInputError(`${named}: is the ${input.what} (${input.file}); write ${what} to another file, batchproof never replaces what it reads`);
    }
  }
  for (const other of options.outputs ?? []) {
    if (other.file !== '-' && sameFile(mine, identity(other.file))) throw new BadInputError(`${named}: is also the ${other.flag} file; give each output its own file`);
  }
  if (target.fd !== undefined) {
    try {
      fs.fstatSync(target.fd);
    } catch {
      throw new BadInputError(`${named}: descriptor ${target.fd} is not open; give a file name`);
    }
    return 'in-place';
  }
  let stat: fs.Stats | null = null;
  try {
    stat = fs.statSync(target.path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EACCES') throw new BadInputError(`${named}: permission denied on a directory of the path; choose a path you can write`);
    if (code === 'ENOTDIR') throw new BadInputError(`${named}: a part of the path is a file, not a directory; choose another path`);
    if (code === 'ENAMETOOLONG') throw new BadInputError(`${named}: the file name is too long; choose a shorter one`);
    if (code === 'ELOOP') throw new BadInputError(`${named}: too many symbolic links (a loop?); give the path of a file`);
    if (code !== 'ENOENT') throw new BadInputError(`${named}: cannot use this path (${code}); choose another`);
  }
  if (stat?.isDirectory()) throw new BadInputError(`${named}: is a directory; give a file name inside it`);
  if (stat && (stat.isSocket() || stat.isBlockDevice())) throw new BadInputError(`${named}: is ${describeKind(stat)}; give a file name, a FIFO, or - for stdout`);
  if (stat && !stat.isFile()) {
    // A character device (/dev/null, a terminal) or a FIFO: written to as it is, never replaced.
    if (!writable(target.path)) throw new BadInputError(`${named}: is ${describeKind(stat)} that cannot be written (permission denied); choose another output`);
    return 'in-place';
  }
  const dir = path.dirname(target.path);
  let dirStat: fs.Stats;
  try {
    dirStat = fs.statSync(dir);
  } catch {
    throw new BadInputError(`${named}: the directory ${dir} does not exist; create it first`);
  }
  if (!dirStat.isDirectory()) throw new BadInputError(`${named}: ${dir} is not a directory; choose another path`);
  // The file is replaced by a rename: what must be writable is its directory.
  if (!writable(dir)) throw new BadInputError(`${named}: cannot create files in ${dir} (permission denied or a read-only file system); choose a writable directory`);
  if (stat) {
    if (!writable(target.path)) throw new BadInputError(`${named}: the file is read-only; make it writable or choose another name`);
    if (options.jsonOnly && !holdsJson(target.path)) {
      throw new BadInputError(`${named}: the file exists and is not JSON, so it is not a report to replace; remove it or choose another name`);
    }
  }
  return 'file';
}

function writable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** An empty file, or one whose first character (after white space) opens a JSON value. */
function holdsJson(file: string): boolean {
  let fd: number | null = null;
  try {
    fd = fs.openSync(file, 'r');
    const head = Buffer.alloc(4096);
    const n = fs.readSync(fd, head, 0, head.length, 0);
    const text = head.subarray(0, n).toString('utf8').trimStart();
    return text === '' || text.startsWith('{') || text.startsWith('[');
  } catch {
    return false;
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}
