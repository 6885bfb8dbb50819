import { BadInputError, formatValue } from '../errors';
import type { ResolvedTolerance } from '../compare/tolerance';
import { fingerprintFromJson, type Fingerprint } from '../runtime/fingerprint';

/**
 * The embedding baseline file:
 *
 *   offset 0   8 bytes   magic 89 'B' 'P' 'E' 'M' 'B' 0D 0A
 *   offset 8   u32 LE    H, the byte length of the header that follows (padding included)
 *   offset 12  H bytes   the header: UTF-8 JSON, padded with spaces so the values start on a
 *                        64-byte boundary (a typed array can view them in place)
 *   12 + H     rows*dim values, little-endian float32 or float64, row-major
 *
 * Like PNG's signature, the 0x89 and the CR LF pair catch 7-bit and line-ending conversions
 * (a `git` text filter) at once. Everything else a reader needs is in the JSON header, so a new
 * field never changes the layout; `format` rises only when old readers would misread a file.
 */
export const MAGIC = Uint8Array.from([0x89, 0x42, 0x50, 0x45, 0x4d, 0x42, 0x0d, 0x0a]);
/** The baseline file format this version writes and reads (root: EMBEDDING_FORMAT_VERSION). */
export const FORMAT_VERSION = 1;
/** Where the values start is a multiple of this. */
export const ALIGNMENT = 64;
/** A header longer than this is not one of ours (a safety cap when reading). */
export const MAX_HEADER_BYTES = 1 << 20;
const PREFIX_BYTES = MAGIC.length + 4;

/** The dtypes an embedding baseline stores. */
export type EmbeddingDType = 'float32' | 'float64';

export const ITEM_SIZE: Record<EmbeddingDType, number> = { float32: 4, float64: 8 };

/** What a baseline records besides its values. */
export interface BaselineHeader {
  /** File format version; a reader refuses a higher one. */
  format: number;
  dtype: EmbeddingDType;
  /** [rows, dim]. */
  shape: [number, number];
  /** The tolerance the matcher used when it wrote the file (what `batchproof diff` uses by default). */
  tolerance: ResolvedTolerance | null;
  /** What produced the values, when known. */
  fingerprint: Fingerprint | null;
  /** ISO time of writing. */
  created: string;
  /** The snapshot key (test name and counter, or the `name` option). */
  key?: string;
  /** The full name of the test that wrote it: keeps a skipped test's baselines from looking obsolete. */
  test?: string;
  /**
   * The name of the test file whose folder it was written to (`embed.test.ts`). Only a file
   * whose header names its folder's test file and whose name is the one its key gives is ever
   * reported obsolete or removed; anything else under a baseline folder (CI artifacts, copies,
   * other tools' files) is left alone. Added after format 1 shipped: an optional field old
   * readers ignore, so `format` stays 1 (a higher format would make older batchproof refuse the
   * file). Headers without it (written before) are matched by their folder and name alone.
   */
  testFile?: string;
  /** The batchproof version that wrote it. */
  writer?: string;
}

/** A baseline that cannot be used: `reason` picks the cure the message names. */
export class BaselineFileError extends BadInputError {
  constructor(
    message: string,
    readonly file: string,
    /** unreadable: not a regular file (a directory, a FIFO), or not readable: never written over, even by -u. */
    readonly reason: 'missing' | 'corrupt' | 'truncated' | 'newer' | 'unreadable',
  ) {
    super(message);
    this.name = 'BaselineFileError';
  }
}

/** The bytes before the values: magic, length, padded JSON. */
export function encodeHeader(header: BaselineHeader): Uint8Array {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const total = Math.ceil((PREFIX_BYTES + json.length) / ALIGNMENT) * ALIGNMENT;
  const out = Buffer.alloc(total, 0x20);
  out.set(MAGIC, 0);
  out.writeUInt32LE(total - PREFIX_BYTES, MAGIC.length);
  json.copy(out, PREFIX_BYTES);
  return out;
}

/** Bytes needed from the start of a file to know the header's length. */
export const PREFIX_LENGTH = PREFIX_BYTES;

/**
 * Reads the prefix: checks the magic and returns where the values start. `label` names the file
 * in errors, which always say the cure.
 */
export function decodePrefix(prefix: Uint8Array, fileSize: number, label: string): number {
  // What the bytes are, before how many there are: `{}` is a JSON file, not a short baseline.
  for (let i = 0; i < Math.min(MAGIC.length, prefix.length); i++) {
    if (prefix[i] !== MAGIC[i]) {
      const filtered = rewrittenAsText(Buffer.from(prefix).toString('latin1'));
      if (filtered) {
        throw new BaselineFileError(
          `${label} is an embedding baseline that a text filter rewrote (${filtered}: git's autocrlf or eol, a .gitattributes text rule?), so its values cannot be trusted; mark baselines binary (*.emb binary in .gitattributes), then restore it from version control or rewrite it with -u (jest -u)`,
          label,
          'corrupt',
        );
      }
      throw new BaselineFileError(
        `${label} is not a usable embedding baseline: ${foreign(Buffer.from(prefix).toString('latin1'))}; give a .emb file that toMatchEmbeddingSnapshot wrote (check the path), or rewrite it with -u (jest -u) or restore it from version control`,
        label,
        'corrupt',
      );
    }
  }
  if (fileSize < PREFIX_BYTES || prefix.length < PREFIX_BYTES) {
    throw corrupt(label, `only ${fileSize} bytes, shorter than any baseline header`, 'truncated');
  }
  const headerBytes = Buffer.from(prefix.buffer, prefix.byteOffset, prefix.length).readUInt32LE(MAGIC.length);
  if (headerBytes > MAX_HEADER_BYTES) throw corrupt(label, `header length ${headerBytes} is implausible`, 'corrupt');
  if (PREFIX_BYTES + headerBytes > fileSize) throw corrupt(label, `the header needs ${PREFIX_BYTES + headerBytes} bytes but the file has ${fileSize}`, 'truncated');
  return PREFIX_BYTES + headerBytes;
}

/** Parses and checks the JSON header (the bytes between the prefix and the values). */
export function decodeHeader(json: Uint8Array, dataOffset: number, fileSize: number, label: string): BaselineHeader {
  let header: BaselineHeader;
  try {
    header = JSON.parse(Buffer.from(json.buffer, json.byteOffset, json.length).toString('utf8'));
  } catch {
    throw corrupt(label, 'its header is not valid JSON', 'corrupt');
  }
  if (typeof header !== 'object' || header === null) throw corrupt(label, 'its header is not an object', 'corrupt');
  if (typeof header.format !== 'number' || !Number.isInteger(header.format) || header.format < 1) {
    throw corrupt(label, `format version ${formatValue(header.format)} is not valid`, 'corrupt');
  }
  if (header.format > FORMAT_VERSION) {
    throw new BaselineFileError(
      `${label} was written in embedding baseline format ${header.format} by a newer batchproof${header.writer ? ` (${header.writer})` : ''}; this one reads format ${FORMAT_VERSION}: upgrade batchproof (or rewrite the baseline with -u)`,
      label,
      'newer',
    );
  }
  if (header.dtype !== 'float32' && header.dtype !== 'float64') throw corrupt(label, `dtype ${formatValue(header.dtype)} is not float32 or float64`, 'corrupt');
  const shape = header.shape;
  if (!Array.isArray(shape) || shape.length !== 2 || !shape.every((d) => Number.isSafeInteger(d) && d > 0)) {
    throw corrupt(label, `shape ${formatValue(shape)} is not [rows, dim]`, 'corrupt');
  }
  const expected = dataOffset + shape[0] * shape[1] * ITEM_SIZE[header.dtype];
  if (fileSize < expected) {
    throw corrupt(label, `truncated: ${shape[0]} x ${shape[1]} ${header.dtype} needs ${expected} bytes but the file has ${fileSize}`, 'truncated');
  }
  if (fileSize > expected) throw corrupt(label, `${fileSize - expected} unexpected bytes after the values`, 'corrupt');
  // The fingerprint only describes the file: a hand-edited one (cpu.flags a string) is read as
  // partly unknown, never a crash later when a message describes it.
  return { ...header, tolerance: header.tolerance ?? null, fingerprint: fingerprintFromJson(header.fingerprint) };
}

/**
 * How a text filter changed a baseline's signature, or null: the 0x89 and CR LF are there to
 * catch exactly this, and "not a baseline" would send the user to check a path that is right.
 */
function rewrittenAsText(head: string): string | null {
  if (/^\x89BPEMB\n/.test(head)) return 'its line endings were converted, CR LF to LF';
  if (/^\x09BPEMB\r\n/.test(head)) return 'its eighth bits were stripped';
  if (/^(\xc2\x89|\xef\xbf\xbd)BPEMB/.test(head)) return 'it was re-encoded as UTF-8 text';
  return null;
}

/** What a file that is not a baseline looks like, by its first bytes: the files people pass by mistake. */
function foreign(head: string): string {
  if (/^(version |<<<<<<<)/.test(head)) return 'a text file (a Git LFS pointer or a merge conflict?), not an embedding baseline';
  if (/^\s*[{[]/.test(head)) return 'a JSON file (a --json report?), not an embedding baseline';
  if (head.startsWith('\x93NUMPY')) return 'a .npy array, not an embedding baseline';
  if (head.startsWith('PK')) return 'a zip archive (an .npz?), not an embedding baseline';
  return 'not an embedding baseline (wrong magic bytes)';
}

function corrupt(label: string, problem: string, reason: 'corrupt' | 'truncated'): BaselineFileError {
  return new BaselineFileError(`${label} is not a usable embedding baseline: ${problem}; rewrite it with -u (jest -u) or restore it from version control`, label, reason);
}

/** True on the (rare) big-endian platforms, where values are swapped on the way in and out. */
export const BIG_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 0;

/** Reverses the bytes of each item in place (little-endian file <-> big-endian memory). */
export function swapBytes(bytes: Uint8Array, itemSize: number): void {
  for (let i = 0; i < bytes.length; i += itemSize) {
    for (let a = i, b = i + itemSize - 1; a < b; a++, b--) {
      const t = bytes[a];
      bytes[a] = bytes[b];
      bytes[b] = t;
    }
  }
}
