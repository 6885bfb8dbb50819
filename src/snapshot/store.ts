import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { BadInputError } from '../errors';
import { writeFileAtomic } from '../io/atomic';
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

/** Opens and checks a baseline; throws BaselineFileError (missing, corrupt, truncated, newer). */
export function openBaseline(file: string, label = file): BaselineReader {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new BaselineFileError(`${label}: ${code === 'ENOENT' ? 'no such baseline file' : `cannot open (${code})`}`, label, 'missing');
  }
  try {
    const size = fs.fstatSync(fd).size;
    const prefix = new Uint8Array(Math.min(size, PREFIX_LENGTH));
    readExactly(fd, prefix, 0);
    const dataOffset = decodePrefix(prefix, size, label);
    const json = new Uint8Array(dataOffset - PREFIX_LENGTH);
    readExactly(fd, json, PREFIX_LENGTH);
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
        readExactly(fd, view, dataOffset + start * dim * itemSize);
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

function readExactly(fd: number, into: Uint8Array, position: number): void {
  for (let off = 0; off < into.length; ) {
    const n = fs.readSync(fd, into, off, into.length - off, position + off);
    if (n === 0) throw new Error(`unexpected end of file at byte ${position + off}`);
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
