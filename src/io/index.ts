// Numeric array files in and out: .npy, .npz and .safetensors.
import { readFile } from 'node:fs/promises';
import path = require('node:path');
import { NumericArray } from './types';
import { parseNpy } from './npy';
import { parseNpz } from './npz';
import { parseSafetensors } from './safetensors';
import { fail, setEntry } from './internal';
import { refuseSpecialFile } from './paths';

export type { DType, NumericArray, NumericData } from './types';
export { parseNpy, encodeNpy } from './npy';
export { parseNpz, encodeNpz } from './npz';
export type { EncodeNpzOptions } from './npz';
export { parseSafetensors, encodeSafetensors } from './safetensors';

/** The array files batchproof reads and writes (inputs, calibration data, checkpoints). */
export const ARRAY_FILE_EXTENSIONS = ['.npy', '.npz', '.safetensors'] as const;

/**
 * Reads a .npy, .npz or .safetensors file (chosen by extension, case-insensitively) into a record
 * of named arrays. A .npy file holds one unnamed array, so its key is the file's basename without
 * the extension: "samples/input_ids.npy" gives { input_ids: ... }.
 * Throws BadInputError, naming the file, when it is missing, a pipe or device, unreadable or
 * malformed.
 */
export async function readArrayFile(filePath: string): Promise<Record<string, NumericArray>> {
  refuseSpecialFile(filePath, 'arrays', 'is a directory, not an array file; pass a .npy, .npz or .safetensors file (one inside it)');
  const extension = path.extname(filePath).toLowerCase();
  if (!(ARRAY_FILE_EXTENSIONS as readonly string[]).includes(extension)) {
    throw fail(
      filePath,
      `unsupported file type ${JSON.stringify(extension || '(no extension)')}`,
      `use a ${ARRAY_FILE_EXTENSIONS.join(', ')} file`,
    );
  }
  const bytes = await readBytes(filePath);
  if (extension === '.npz') return parseNpz(bytes, filePath);
  if (extension === '.safetensors') return parseSafetensors(bytes, filePath);
  const result: Record<string, NumericArray> = {};
  setEntry(result, path.basename(filePath, path.extname(filePath)), parseNpy(bytes, filePath));
  return result;
}

async function readBytes(filePath: string): Promise<Uint8Array> {
  let buffer: Buffer;
  try {
    buffer = await readFile(filePath);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    if (code === 'ENOENT') throw fail(filePath, 'file not found', 'check the path');
    if (code === 'EISDIR') throw fail(filePath, 'is a directory, not an array file', 'pass a .npy, .npz or .safetensors file');
    if (code === 'EACCES' || code === 'EPERM') throw fail(filePath, 'permission denied', 'make the file readable');
    throw fail(filePath, `cannot read the file (${error instanceof Error ? error.message : String(error)})`, 'check the path');
  }
  // A plain Uint8Array over the same memory: callers never see Buffer's different slice().
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}
