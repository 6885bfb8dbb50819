/**
 * Reading the values of small float tensors (BatchNorm parameters) out of a decoded model:
 * float32, float16, bfloat16 and float64, from raw_data, the typed fields, or an external
 * data file (resolved relative to the model's directory, as onnxruntime does).
 */
import fs = require('fs');
import path = require('path');
import { BadInputError } from '../errors';
import { MODEL_FILE_ERRORS } from './model-file';
import { describeKind } from '../io/paths';
import { floatToHalf, halfToFloat } from '../inputs/arrays';
import { dtypeName } from './graph';
import { DataType, type Int64, type OnnxTensor } from './proto';

export const FLOAT_ITEM_SIZE: Record<string, number> = { float32: 4, float16: 2, bfloat16: 2, float64: 8 };

/** Where a tensor's bytes live when they are not in the model file. */
export interface ExternalData {
  location: string;
  offset: number;
  length: number | null;
}

export interface TensorReadContext {
  /** The model, as named in messages. */
  source: string;
  /** Directory external data locations are relative to. */
  dir: string;
}

const toNumber = (v: Int64): number => (typeof v === 'bigint' ? Number(v) : v);

export function tensorDims(t: OnnxTensor): number[] {
  return t.dims.map(toNumber);
}

export function externalDataOf(t: OnnxTensor): ExternalData | null {
  if (t.dataLocation !== 1) return null;
  const kv = Object.fromEntries(t.externalData.map((e) => [e.key ?? '', e.value ?? '']));
  const offset = kv.offset ? Number(kv.offset) : 0;
  const length = kv.length ? Number(kv.length) : null;
  return { location: kv.location ?? '', offset, length };
}

/**
 * Every external data file the initializers name must exist (relative to `ctx.dir`): one line
 * naming the first missing, the same as reading that tensor would give, before any session or
 * read is attempted. Sizes are checked when a tensor is read.
 */
export function checkExternalFiles(initializers: readonly OnnxTensor[], ctx: TensorReadContext): void {
  for (const t of initializers) {
    const ext = externalDataOf(t);
    if (!ext || !ext.location) continue;
    externalFile(t.name ?? '', ext.location, ctx);
  }
}

/** The external data file's path, refused when missing or not a regular file: opening a FIFO to read it would hang. */
function externalFile(name: string, location: string, ctx: TensorReadContext): string {
  const file = path.resolve(ctx.dir, location);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw missingExternal(name, location, file, ctx);
  }
  if (!stat.isFile()) {
    throw new BadInputError(`${ctx.source}: tensor '${name}' keeps its data in the external file '${location}', which is ${describeKind(stat)}, not a regular file; keep the external data files beside the model as regular files`);
  }
  return file;
}

function missingExternal(name: string, location: string, file: string, ctx: TensorReadContext): BadInputError {
  const detail = `tensor '${name}' keeps its data in the external file '${location}', which is missing (looked for ${file})`;
  // Bytes have no directory: the files are looked for in the working directory.
  return new BadInputError(MODEL_FILE_ERRORS.externalMissing(ctx.source, detail) + (ctx.source === '<bytes>' ? ' (or pass the model by its path)' : ''));
}

/** Reads a float tensor's values as float64. Throws BadInputError (one line) when it cannot. */
export function readFloatTensor(t: OnnxTensor, ctx: TensorReadContext): Float64Array {
  const name = t.name ?? '';
  const dtype = dtypeName(t.dataType);
  const size = FLOAT_ITEM_SIZE[dtype];
  const count = tensorDims(t).reduce((a, b) => a * b, 1);
  if (size === undefined) {
    throw new BadInputError(`${ctx.source}: tensor '${name}' has dtype ${dtype}; BatchNormalization parameters must be float32, float16, bfloat16 or float64`);
  }
  const external = externalDataOf(t);
  if (external) return decodeLittleEndian(readExternal(name, external, count * size, ctx), dtype, count);
  if (t.rawData && t.rawData.byteLength > 0) {
    if (t.rawData.byteLength !== count * size) {
      throw new BadInputError(
        `${ctx.source}: tensor '${name}' holds ${t.rawData.byteLength} bytes of raw_data where its dims [${tensorDims(t).join(', ')}] need ${count * size}; the model is corrupt, re-export it`,
      );
    }
    return decodeLittleEndian(t.rawData, dtype, count);
  }
  const typed: ArrayLike<number> =
    t.dataType === DataType.FLOAT ? t.floatData : t.dataType === DataType.DOUBLE ? t.doubleData : t.int32Data;
  if (typed.length !== count) {
    throw new BadInputError(`${ctx.source}: tensor '${name}' holds ${typed.length} values where its dims [${tensorDims(t).join(', ')}] need ${count}; the model is corrupt, re-export it`);
  }
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const v = typed[i] as number;
    out[i] = dtype === 'float16' ? halfToFloat(v & 0xffff) : dtype === 'bfloat16' ? bf16ToFloat(v & 0xffff) : v;
  }
  return out;
}

function readExternal(name: string, ext: ExternalData, needed: number, ctx: TensorReadContext): Uint8Array {
  if (!ext.location) throw new BadInputError(`${ctx.source}: tensor '${name}' is marked external but names no location; re-export the model`);
  const file = externalFile(name, ext.location, ctx);
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    throw missingExternal(name, ext.location, file, ctx);
  }
  try {
    const length = ext.length ?? needed;
    const size = fs.fstatSync(fd).size;
    if (length !== needed || ext.offset + length > size) {
      throw new BadInputError(
        `${ctx.source}: tensor '${name}' wants bytes ${ext.offset}..${ext.offset + length} of '${ext.location}' (${needed} needed), but the file has ${size}; the external data file does not belong to this model or is truncated`,
      );
    }
    const buf = Buffer.alloc(length);
    fs.readSync(fd, buf, 0, length, ext.offset);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } finally {
    fs.closeSync(fd);
  }
}

function bf16ToFloat(bits: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, bits << 16, true);
  return view.getFloat32(0, true);
}

/** Little-endian bytes (possibly unaligned) to float64 values. */
export function decodeLittleEndian(bytes: Uint8Array, dtype: string, count: number): Float64Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    switch (dtype) {
      case 'float32': out[i] = view.getFloat32(i * 4, true); break;
      case 'float64': out[i] = view.getFloat64(i * 8, true); break;
      case 'float16': out[i] = halfToFloat(view.getUint16(i * 2, true)); break;
      case 'bfloat16': out[i] = bf16ToFloat(view.getUint16(i * 2, true)); break;
    }
  }
  return out;
}

/** float64 values to little-endian bytes of `dtype` (rounding to nearest). */
export function encodeLittleEndian(values: ArrayLike<number>, dtype: string): Uint8Array {
  const size = FLOAT_ITEM_SIZE[dtype];
  if (size === undefined) throw new BadInputError(`cannot write ${dtype} values; expected a float dtype`);
  const out = new Uint8Array(values.length * size);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    switch (dtype) {
      case 'float32': view.setFloat32(i * 4, v, true); break;
      case 'float64': view.setFloat64(i * 8, v, true); break;
      case 'float16': view.setUint16(i * 2, floatToHalf(v), true); break;
      case 'bfloat16': view.setUint16(i * 2, floatToBf16Bits(v), true); break;
    }
  }
  return out;
}

function floatToBf16Bits(v: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setFloat32(0, v, true);
  const bits = view.getUint32(0, true);
  if (Number.isNaN(v)) return 0x7fc0;
  // Round to nearest even on the dropped 16 bits.
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}
