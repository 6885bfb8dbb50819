import * as fs from 'fs';
import * as path from 'path';
import { BadInputError } from '../errors';

let counter = 0;

/**
 * Writes a file atomically: the pieces go to a temporary file beside the target, flushed, then a
 * rename replaces the target. A crash or a parallel writer never leaves half a file, and the
 * temporary file never outlives a failure. Pieces are written as they are (no joined copy of a
 * large baseline or model). A path that cannot be written is a BadInputError, not a crash.
 */
export function writeFileAtomic(file: string, pieces: string | Uint8Array | readonly Uint8Array[]): void {
  const target = path.resolve(file);
  const dir = path.dirname(target);
  if (fs.existsSync(target) && fs.statSync(target).isDirectory()) {
    throw new BadInputError(`${file}: is a directory; give a file name inside it`);
  }
  if (!fs.existsSync(dir)) throw new BadInputError(`${file}: the directory ${dir} does not exist; create it first`);
  const tmp = path.join(dir, `.${path.basename(target)}.${process.pid}.${++counter}.tmp`);
  let fd: number | null = null;
  try {
    fd = fs.openSync(tmp, 'w');
    const list = typeof pieces === 'string' ? [Buffer.from(pieces)] : pieces instanceof Uint8Array || ArrayBuffer.isView(pieces) ? [pieces as Uint8Array] : pieces;
    for (const piece of list) {
      for (let offset = 0; offset < piece.byteLength; ) offset += fs.writeSync(fd, piece, offset, piece.byteLength - offset);
    }
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = null;
    fs.renameSync(tmp, target);
  } catch (e) {
    try {
      if (fd !== null) fs.closeSync(fd);
      fs.rmSync(tmp, { force: true });
    } catch {
      // Nothing was written where it could be cleaned (an impossible path): report the cause below.
    }
    if (e instanceof BadInputError) throw e;
    throw new BadInputError(`${file}: cannot write it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); check the path and its permissions`);
  }
}
