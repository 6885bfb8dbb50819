/**
 * What a path given by the user is, before anything reads it: a FIFO or a process substitution
 * (`<(cat m.onnx)`) would hang or read as empty, a directory would surface as EISDIR from deep
 * inside a reader. One line naming the path, what it is and the fix.
 */
import * as fs from 'fs';
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
  if (!stat.isFile()) throw new BadInputError(`${file}: is ${describeKind(stat)}, not a regular file; save the ${what} to a file and pass its path`);
  return stat;
}
