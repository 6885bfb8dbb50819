import { createHash } from 'crypto';
import fs = require('fs');
import path = require('path');
import { BadInputError, formatValue } from '../errors';
import { writeFileAtomic } from '../io/atomic';
import { assertReadableFile, describeKind } from '../io/paths';
import type { Embeddings } from './embeddings';
import {
  BaselineFileError,
  BaselineHeader,
  BIG_ENDIAN,
  decodeHeader,
  decodePrefix,
  EmbeddingDType,
  encodeHeader,
  ITEM_SIZE,
  PREFIX_LENGTH,
  swapBytes,
} from './format';

/** File extension of embedding baselines. */
export const BASELINE_EXT = '.emb';

/**
 * The file for a key: readable (the key, sanitized) and unique (a hash of the exact key, so
 * keys that sanitize alike, or differ only in case on macOS, never share a file).
 */
export function baselineFileName(key: string): string {
  const readable = key.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+|-+$/g, '').slice(0, 80) || 'embeddings';
  const hash = createHash('sha1').update(key).digest('hex').slice(0, 8);
  return `${readable}.${hash}${BASELINE_EXT}`;
}

/**
 * Writes a baseline atomically (writeFileAtomic: a temporary file in the same folder, flushed,
 * then renamed over the target), so a crash or a parallel worker can never leave half a file.
 * The header and the values go out as two pieces, the values straight from the caller's array
 * (no joined copy of a large set). A folder or file that cannot be written is a BadInputError.
 */
export function writeBaseline(file: string, embeddings: Embeddings, meta: Omit<BaselineHeader, 'format' | 'dtype' | 'shape'> & { format: number }): void {
  const header: BaselineHeader = { ...meta, dtype: embeddings.dtype, shape: [embeddings.rows, embeddings.dim] };
  const dir = path.dirname(file);
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new BadInputError(`${file}: cannot create the folder ${dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); check the path and its permissions`);
  }
  const { data } = embeddings;
  let bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (BIG_ENDIAN) {
    // The file is little-endian: swap a copy, never the caller's array.
    bytes = bytes.slice();
    swapBytes(bytes, ITEM_SIZE[embeddings.dtype]);
  }
  writeFileAtomic(file, [encodeHeader(header), bytes]);
}

/** An open baseline: its header, and its rows read on demand, a chunk at a time. */
export interface BaselineReader {
  file: string;
  header: BaselineHeader;
  dtype: EmbeddingDType;
  rows: number;
  dim: number;
  /** Rows [start, start + count): a view into a buffer reused by the next call. */
  read(start: number, count: number): Float32Array | Float64Array;
  close(): void;
}

/**
 * Opens and checks a baseline; throws BaselineFileError (missing, corrupt, truncated, newer,
 * unreadable). Only a regular file is opened: a directory would surface as EISDIR from the first
 * read, and opening a FIFO blocks until something writes to it (a hang). A link to nowhere is not
 * "missing": writing a new baseline there would replace the link.
 */
export function openBaseline(file: string, label = file): BaselineReader {
  if (typeof file !== 'string' || file === '') throw new BadInputError(`the embedding baseline path must be a non-empty string, got ${formatValue(file)}`);
  let missing = false;
  try {
    fs.statSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') missing = !isLink(file);
  }
  if (missing) throw new BaselineFileError(`${label}: no such baseline file`, label, 'missing');
  try {
    assertReadableFile(file, 'baseline');
  } catch (e) {
    if (!(e instanceof BadInputError)) throw e;
    // assertReadableFile names the path as given; messages name it as the user knows it.
    const message = e.message.startsWith(`${file}: `) ? `${label}: ${e.message.slice(file.length + 2)}` : e.message;
    throw new BaselineFileError(message, label, 'unreadable');
  }
  let fd: number;
  try {
    // Non-blocking, so a file swapped for a FIFO after the check still cannot hang the open.
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new BaselineFileError(`${label}: no such baseline file`, label, 'missing');
    throw new BaselineFileError(`${label}: cannot open the embedding baseline (${code ?? (e as Error).message}); check its permissions`, label, 'unreadable');
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw new BaselineFileError(`${label}: is ${describeKind(stat)}, not an embedding baseline file; point at a .emb file`, label, 'unreadable');
    const size = stat.size;
    const prefix = new Uint8Array(Math.min(size, PREFIX_LENGTH));
    readExactly(fd, prefix, 0, label);
    const dataOffset = decodePrefix(prefix, size, label);
    const json = new Uint8Array(dataOffset - PREFIX_LENGTH);
    readExactly(fd, json, PREFIX_LENGTH, label);
    const header = decodeHeader(json, dataOffset, size, label);
    const [rows, dim] = header.shape;
    const itemSize = ITEM_SIZE[header.dtype];
    let buffer = new ArrayBuffer(0);
    let closed = false;
    return {
      file,
      header,
      dtype: header.dtype,
      rows,
      dim,
      read(start, count) {
        const bytes = count * dim * itemSize;
        if (buffer.byteLength < bytes) buffer = new ArrayBuffer(bytes);
        const view = new Uint8Array(buffer, 0, bytes);
        readExactly(fd, view, dataOffset + start * dim * itemSize, label);
        if (BIG_ENDIAN) swapBytes(view, itemSize);
        return header.dtype === 'float32' ? new Float32Array(buffer, 0, count * dim) : new Float64Array(buffer, 0, count * dim);
      },
      close() {
        if (!closed) fs.closeSync(fd);
        closed = true;
      },
    };
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

function isLink(file: string): boolean {
  try {
    return fs.lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Reads all of `into`; a file that shrank under us (another writer) is a truncated baseline, not a crash. */
function readExactly(fd: number, into: Uint8Array, position: number, label: string): void {
  for (let off = 0; off < into.length; ) {
    let n: number;
    try {
      n = fs.readSync(fd, into, off, into.length - off, position + off);
    } catch (e) {
      throw new BaselineFileError(`${label}: cannot read the embedding baseline (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); check the file`, label, 'unreadable');
    }
    if (n === 0) throw new BaselineFileError(`${label} is not a usable embedding baseline: it ended at byte ${position + off} while being read (changed by another process?); rewrite it with -u (jest -u) or restore it from version control`, label, 'truncated');
    off += n;
  }
}

/** The header alone (for listing and obsolete detection); null when the file is not usable. */
export function readBaselineHeader(file: string): BaselineHeader | null {
  try {
    const reader = openBaseline(file);
    reader.close();
    return reader.header;
  } catch {
    return null;
  }
}

/** The whole baseline in memory (for neighbour checks and small diffs). */
export function readBaseline(file: string, label = file): { header: BaselineHeader; embeddings: Embeddings } {
  const reader = openBaseline(file, label);
  try {
    const view = reader.read(0, reader.rows);
    return { header: reader.header, embeddings: { dtype: reader.dtype, rows: reader.rows, dim: reader.dim, data: view } };
  } finally {
    reader.close();
  }
}

/** What a batchproof writer puts in `writer`: "batchproof 0.1.0". */
const WRITER = /^batchproof /;

/**
 * Whether `file` is a baseline batchproof wrote for the test file named `testFile`: a usable
 * file whose header names that test file, a key, batchproof as its writer, and whose file name
 * is the one that key gives (baselineFileName). Only such files may be reported obsolete or
 * removed. `legacy` also accepts a header from before `testFile` was recorded, where the folder
 * itself says which test file it belongs to (the test file's own folder, never an orphan's).
 */
export function isOwnBaseline(file: string, header: BaselineHeader | null, testFile: string, legacy: boolean): boolean {
  if (!header || typeof header.key !== 'string' || typeof header.writer !== 'string' || !WRITER.test(header.writer)) return false;
  if (baselineFileName(header.key) !== path.basename(file)) return false;
  return header.testFile === undefined ? legacy : header.testFile === testFile;
}

/** Baseline files in a folder (not temporaries), sorted; none when the folder does not exist. */
export function listBaselineFiles(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir)
      .filter((f) => f.endsWith(BASELINE_EXT) && !f.startsWith('.'))
      .sort()
      .map((f) => path.join(dir, f));
  } catch {
    return [];
  }
}

/** Removes a baseline, then its folder and the folder above when they are left empty. */
export function removeBaseline(file: string, levels = 2): void {
  fs.rmSync(file, { force: true });
  let dir = path.dirname(file);
  for (let i = 0; i < levels; i++) {
    try {
      fs.rmdirSync(dir); // fails (as wanted) when not empty
    } catch {
      return;
    }
    dir = path.dirname(dir);
  }
}
