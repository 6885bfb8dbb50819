// Reader and writer for numpy's .npz format: a zip archive of .npy files, as written by
// numpy.savez (stored) and numpy.savez_compressed (deflated).
import { Unzipped, strFromU8, unzipSync, zipSync, Zippable } from 'fflate';
import { BadInputError } from '../errors';
import { NumericArray } from './types';
import { encodeNpy, parseNpy } from './npy';
import { checkArrayToWrite, checkBytes, fail, hasEntry, quote, setEntry } from './internal';

const RESAVE = 're-save it with numpy.savez';
// Deflate cannot expand data by more than about 1032:1, so a larger claim is corruption (or a zip bomb).
const MAX_DEFLATE_RATIO = 1032;

/**
 * Reads a .npz archive into a record keyed by entry name without the ".npy" suffix
 * (numpy.savez(path, x=...) gives key "x"; positional arrays give "arr_0", "arr_1", ...).
 * `source` names the file in error messages. Throws BadInputError on anything malformed.
 */
export function parseNpz(bytes: Uint8Array, source = 'npz data'): Record<string, NumericArray> {
  checkBytes(bytes, source, 'pass the contents of a .npz file');
  if (!(bytes[0] === 0x50 && bytes[1] === 0x4b)) {
    const looksLikeNpy = bytes[0] === 0x93 && bytes[1] === 0x4e;
    throw fail(
      source,
      looksLikeNpy ? 'not a .npz archive (it is a single .npy array)' : 'not a .npz archive (missing the zip "PK" signature)',
      looksLikeNpy ? 'give it a .npy extension' : 'save the arrays with numpy.savez or numpy.savez_compressed',
    );
  }
  const expectedCrcs = readCentralDirectoryCrcs(bytes, source);
  const entries = unzipEntries(bytes, source);

  const result: Record<string, NumericArray> = {};
  for (const [name, data] of Object.entries(entries)) {
    // Folders, and the resource forks macOS's Finder adds when it zips files, hold no arrays.
    if (name.endsWith('/') || name.startsWith('__MACOSX/')) continue;
    const entrySource = `${source} (entry ${quote(name)})`;
    const expectedCrc = expectedCrcs.get(name);
    if (expectedCrc !== undefined && crc32(data) !== expectedCrc) {
      throw fail(entrySource, 'CRC-32 mismatch, the archive is corrupted', RESAVE);
    }
    if (!name.endsWith('.npy')) {
      throw fail(entrySource, 'entry is not a .npy array', `remove it from the archive, or ${RESAVE}`);
    }
    const key = name.slice(0, -'.npy'.length);
    if (hasEntry(result, key)) throw fail(source, `holds two arrays named ${quote(key)}, so it is unclear which is meant`, 're-save it with numpy.savez, one array per name');
    setEntry(result, key, parseNpy(data, entrySource));
  }
  return result;
}

function unzipEntries(bytes: Uint8Array, source: string): Unzipped {
  const claimedSizes = new Map<string, number>();
  // fflate calls the filter just before it extracts each entry, so this names the one that failed.
  let currentSource = source;
  let entries: Unzipped;
  try {
    entries = unzipSync(bytes, {
      // Checked before fflate allocates the output, so a bogus size cannot exhaust memory.
      filter: (file) => {
        const entrySource = `${source} (entry ${quote(file.name)})`;
        currentSource = entrySource;
        if (file.compression !== 0 && file.compression !== 8) {
          throw fail(
            entrySource,
            `unsupported zip compression method ${file.compression} (only stored and deflate are)`,
            're-save it with numpy.savez or numpy.savez_compressed',
          );
        }
        // The compressed size is a claim too, so bound the output by the real file size as well.
        const maxSize = file.compression === 0 ? file.size : file.size * MAX_DEFLATE_RATIO + 1024;
        if (!(file.originalSize <= maxSize) || file.originalSize > bytes.length * MAX_DEFLATE_RATIO + 1024) {
          throw fail(entrySource, 'corrupted zip archive (impossible entry size)', RESAVE);
        }
        claimedSizes.set(file.name, file.originalSize);
        return true;
      },
    });
  } catch (error) {
    if (error instanceof BadInputError) throw error;
    throw fail(currentSource, `corrupted or truncated zip archive (${describeZipError(error)})`, RESAVE);
  }
  for (const [name, data] of Object.entries(entries)) {
    if (data.length !== claimedSizes.get(name)) {
      throw fail(`${source} (entry ${quote(name)})`, 'truncated zip archive (entry is shorter than recorded)', RESAVE);
    }
  }
  return entries;
}

function describeZipError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.length > 0 ? message : 'unreadable data';
}

/**
 * fflate does not check CRCs, so read them from the zip's central directory ourselves.
 * Mirrors how fflate finds the directory (including zip64) so both agree on names.
 */
function readCentralDirectoryCrcs(bytes: Uint8Array, source: string): Map<string, number> {
  const truncated = () => fail(source, 'truncated zip archive (no central directory found)', RESAVE);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (at: number) => view.getUint16(at, true);
  const u32 = (at: number) => view.getUint32(at, true);

  // The end-of-central-directory record is 22 bytes plus a comment of up to 64 KiB; search the
  // same window as fflate does.
  let end = bytes.length - 22;
  const lowest = Math.max(0, bytes.length - 65558);
  while (end >= lowest && u32Safe(view, end) !== 0x06054b50) end--;
  if (end < lowest) throw truncated();

  let count = u16(end + 10);
  let offset = u32(end + 16);
  if (end >= 20 && u32(end - 20) === 0x07064b50) {
    const zip64End = Number(view.getBigUint64(end - 12, true));
    if (zip64End + 56 <= bytes.length && u32(zip64End) === 0x06064b50) {
      count = Number(view.getBigUint64(zip64End + 32, true));
      offset = Number(view.getBigUint64(zip64End + 48, true));
    }
  }

  const crcs = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    if (!(offset + 46 <= bytes.length) || u32(offset) !== 0x02014b50) {
      throw fail(source, 'corrupted zip archive (bad central directory)', RESAVE);
    }
    const nameLength = u16(offset + 28);
    const nameEnd = offset + 46 + nameLength;
    if (nameEnd > bytes.length) throw truncated();
    const utf8Name = (u16(offset + 8) & 0x800) !== 0;
    const name = strFromU8(bytes.subarray(offset + 46, nameEnd), !utf8Name);
    // fflate (like Python's zipfile) keeps the last entry of a name: the other copy would be
    // dropped without a word, and which one a reader takes differs between readers.
    if (crcs.has(name)) {
      throw fail(source, `holds two entries named ${quote(name)}, so it is unclear which array is meant`, 're-save it with numpy.savez, one array per name');
    }
    crcs.set(name, u32(offset + 16));
    offset = nameEnd + u16(offset + 30) + u16(offset + 32);
  }
  return crcs;
}

function u32Safe(view: DataView, at: number): number {
  return at >= 0 && at + 4 <= view.byteLength ? view.getUint32(at, true) : -1;
}

let crcTable: Uint32Array | undefined;

function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = crcTable[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** Options of encodeNpz. */
export interface EncodeNpzOptions {
  /** Deflate each entry, as numpy.savez_compressed does. Default false, as numpy.savez. */
  compress?: boolean;
}

/**
 * Writes arrays as a .npz archive that numpy.load reads back; keys become "<key>.npy" entries.
 * Output is deterministic (fixed timestamps), so the same arrays give the same bytes.
 */
export function encodeNpz(record: Record<string, NumericArray>, options: EncodeNpzOptions = {}): Uint8Array {
  const files: Zippable = {};
  for (const [key, arr] of Object.entries(record)) {
    checkArrayToWrite(arr, `encodeNpz (key ${quote(key)})`, 'pass NumericArrays whose data matches their dtype and dims');
    if (key.length === 0) throw fail('encodeNpz', 'array key is empty', 'give every array a non-empty name');
    setEntry(files, `${key}.npy`, [encodeNpy(arr), { level: options.compress ? 6 : 0 }]);
  }
  // 1980-01-01 is the earliest time a zip can record, as numpy's zipfile writes when it has none.
  return zipSync(files, { mtime: new Date(1980, 0, 1) });
}
