/**
 * The one-line errors for a model file that cannot be used, in the words `check` uses
 * (src/runtime/handle.ts), so every command says the same for the same file: missing, a directory,
 * empty, not ONNX, truncated. A few formats people pass by mistake (a Git LFS pointer, a PyTorch
 * zip checkpoint, an .ort model, a JSON/HTML page) are named as what they are.
 */
import fs = require('fs');
import { BadInputError } from '../errors';
import { describeKind } from '../io/paths';

export const MODEL_FILE_ERRORS = {
  missing: (file: string) => `${file}: no such file; check the path to the .onnx model`,
  directory: (file: string) => `${file}: is a directory; point at an .onnx file inside it`,
  notRegular: (file: string, kind: string) => `${file}: is ${kind}, not a regular file; save the model to a file and pass its path`,
  empty: (label: string) => `${label}: the file is empty; point at an exported .onnx model`,
  notOnnx: (label: string) => `${label}: not an ONNX model (the bytes are not an ONNX ModelProto); export the model with torch.onnx.export or check the path`,
  truncated: (label: string) => `${label}: not a valid ONNX model (protobuf parsing failed: the file is truncated or not a ModelProto); re-export or re-copy it`,
  noGraph: (label: string) => `${label}: not an ONNX model (no graph found); pass a .onnx file exported by torch.onnx.export, tf2onnx or similar`,
  externalMissing: (label: string, detail: string) => `${label}: ${detail}; keep the external data files beside the model`,
} as const;

/**
 * The model file's stat: a missing path, a directory or anything but a regular file (a FIFO or
 * `<(cat m.onnx)`, which would hang or read as empty; a device) is a BadInputError.
 */
export function statModelFile(file: string): fs.Stats {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new BadInputError(MODEL_FILE_ERRORS.missing(file));
  }
  if (stat.isDirectory()) throw new BadInputError(MODEL_FILE_ERRORS.directory(file));
  if (!stat.isFile()) throw new BadInputError(MODEL_FILE_ERRORS.notRegular(file, describeKind(stat)));
  return stat;
}

const utf8 = new TextDecoder();

/** Opens a model file to read it; a file that cannot be opened is one line naming the cause. */
export function openModelFile(file: string): number {
  try {
    return fs.openSync(file, 'r');
  } catch (e) {
    throw new BadInputError(`${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); check its permissions`);
  }
}

/**
 * Checks the head of a model (its first 64 bytes are enough) before any parsing: empty, a known
 * other format, or bytes that cannot start a ModelProto. Throws one line naming `label`.
 */
export function checkModelHead(bytes: Uint8Array, label: string): void {
  if (bytes.byteLength === 0) throw new BadInputError(MODEL_FILE_ERRORS.empty(label));
  const wrong = wrongFormat(bytes);
  if (wrong) throw new BadInputError(`${label}: ${wrong}`);
  if (!looksLikeOnnx(bytes)) throw new BadInputError(MODEL_FILE_ERRORS.notOnnx(label));
}

/** Formats people pass by mistake, named with the fix; null for anything else. */
function wrongFormat(bytes: Uint8Array): string | null {
  const head = utf8.decode(bytes.subarray(0, 64));
  if (head.startsWith('version https://git-lfs')) return 'this is a Git LFS pointer, not the model; run `git lfs pull` (or download the real file)';
  if (bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04) {
    return 'this is a zip archive (a PyTorch .pt/.pth checkpoint?), not ONNX; export it with torch.onnx.export and pass the .onnx file';
  }
  if (head.slice(4, 8) === 'ORTM') return 'this is an ORT-format (.ort) model, not ONNX; pass the original .onnx file';
  if (/^\s*[{<]/.test(head)) return 'this is a text file (JSON/HTML?), not an ONNX model; check the download; an HTML page usually means a login or error page';
  return null;
}

/**
 * A ModelProto starts with a protobuf field tag (ir_version is field 1, varint: byte 0x08), as
 * src/runtime/handle.ts checks before onnxruntime parses: text and random bytes almost never do.
 */
function looksLikeOnnx(bytes: Uint8Array): boolean {
  const tag = bytes[0] as number;
  const field = tag >> 3;
  const wire = tag & 7;
  return field >= 1 && field <= 20 && (wire === 0 || wire === 2);
}
