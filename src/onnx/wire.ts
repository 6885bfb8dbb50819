/**
 * The protobuf wire format, read and spliced directly: how batchproof changes a model without
 * decoding, copying or re-encoding its weights.
 *
 * A ModelProto is a sequence of fields; the graph is field 7, a length-delimited GraphProto
 * whose fields are nodes (1), initializers (5), inputs (11), outputs (12), ... Repeated fields
 * keep the order in which they appear, so appending a field at the end of the graph's bytes
 * appends one entry to that list. An edit is therefore:
 *
 *   [model bytes before the graph] [tag 7] [new length] [the graph's bytes, untouched or with
 *   a few small ranges replaced] [the new fields] [model bytes after the graph]
 *
 * Scanning visits only the top-level fields of the model and of the graph (a length-delimited
 * field is skipped by its length, never read), so its cost depends on the number of fields,
 * not on the size of the weights. A `Splice` is the list of those pieces, most of them views
 * of the original bytes; `toBytes()` copies them once into one buffer (onnxruntime needs one
 * contiguous buffer), which is the only step that grows with the model's size, at memcpy speed.
 */
import { BadInputError } from '../errors';
import { MODEL_FILE_ERRORS } from './model-file';

export const WIRE = { VARINT: 0, I64: 1, LEN: 2, SGROUP: 3, EGROUP: 4, I32: 5 } as const;

/** Field numbers batchproof touches (onnx.proto). */
export const FIELD = {
  model: { graph: 7 },
  graph: { node: 1, name: 2, initializer: 5, docString: 10, input: 11, output: 12, valueInfo: 13, sparseInitializer: 15 },
  tensor: {
    dims: 1, dataType: 2, segment: 3, floatData: 4, int32Data: 5, stringData: 6, int64Data: 7, name: 8,
    rawData: 9, doubleData: 10, uint64Data: 11, docString: 12, externalData: 13, dataLocation: 14,
  },
} as const;

/** One field as it lies in the bytes. */
export interface WireField {
  field: number;
  wireType: number;
  /** Offset of the tag. */
  start: number;
  /** Offset of the value (after the length prefix for length-delimited fields). */
  valueStart: number;
  /** Offset just past the value. */
  end: number;
}

export class WireError extends Error {}

/** Reads a varint at `pos`; returns the value (exact up to 2^53) and the next offset. */
export function readVarint(bytes: Uint8Array, pos: number, limit = bytes.length): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= limit) throw new WireError('a varint runs past the end of the data');
    const b = bytes[pos++] as number;
    value += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) return [value, pos];
    scale *= 128;
  }
  throw new WireError('a varint is longer than 10 bytes');
}

export function varintLength(n: number): number {
  let len = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

export function encodeVarint(n: number): Uint8Array {
  if (!(Number.isSafeInteger(n) && n >= 0)) throw new WireError(`cannot encode ${n} as a varint`);
  const out = new Uint8Array(varintLength(n));
  let i = 0;
  while (n >= 128) {
    out[i++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  out[i] = n;
  return out;
}

/** The tag and length prefix of a length-delimited field of `length` bytes. */
export function lenPrefix(field: number, length: number): Uint8Array {
  const tag = encodeVarint(field * 8 + WIRE.LEN);
  const len = encodeVarint(length);
  const out = new Uint8Array(tag.length + len.length);
  out.set(tag, 0);
  out.set(len, tag.length);
  return out;
}

/** The fields of one message that spans [start, end) of `bytes`, in order. */
export function scanFields(bytes: Uint8Array, start = 0, end = bytes.length): WireField[] {
  const fields: WireField[] = [];
  let pos = start;
  while (pos < end) {
    const fieldStart = pos;
    const [tag, afterTag] = readVarint(bytes, pos, end);
    const field = Math.floor(tag / 8);
    const wireType = tag % 8;
    if (field === 0) throw new WireError(`field number 0 at byte ${fieldStart}`);
    const [valueStart, valueEnd] = valueRange(bytes, afterTag, end, wireType, field, fieldStart);
    if (valueEnd > end) throw new WireError(`field ${field} at byte ${fieldStart} runs past the end of its message`);
    fields.push({ field, wireType, start: fieldStart, valueStart, end: valueEnd });
    pos = valueEnd;
  }
  return fields;
}

/** Where a field's value lies, given the offset right after its tag. */
function valueRange(bytes: Uint8Array, afterTag: number, end: number, wireType: number, field: number, at: number): [number, number] {
  switch (wireType) {
    case WIRE.VARINT:
      return [afterTag, readVarint(bytes, afterTag, end)[1]];
    case WIRE.I64:
      return [afterTag, afterTag + 8];
    case WIRE.I32:
      return [afterTag, afterTag + 4];
    case WIRE.LEN: {
      const [length, afterLength] = readVarint(bytes, afterTag, end);
      return [afterLength, afterLength + length];
    }
    case WIRE.SGROUP: {
      // Deprecated groups never occur in ONNX files, but are skipped correctly all the same.
      let pos = afterTag;
      while (pos < end) {
        const [tag, next] = readVarint(bytes, pos, end);
        if (tag % 8 === WIRE.EGROUP) {
          if (Math.floor(tag / 8) === field) return [afterTag, next];
          throw new WireError(`a mismatched group end at byte ${pos}`);
        }
        pos = valueRange(bytes, next, end, tag % 8, Math.floor(tag / 8), pos)[1];
      }
      throw new WireError(`an unterminated group at byte ${at}`);
    }
    default:
      throw new WireError(`unknown wire type ${wireType} at byte ${at}`);
  }
}

/** A string field's value (UTF-8). */
export function fieldString(bytes: Uint8Array, f: WireField): string {
  return new TextDecoder().decode(bytes.subarray(f.valueStart, f.end));
}

/** Where the graph lies in a ModelProto. */
export interface GraphLocation {
  /** The graph field (tag, length, body). */
  field: WireField;
  /** The top-level fields of the model. */
  modelFields: WireField[];
}

/**
 * Finds the graph field of a ModelProto. `source` names the model in the one-line error.
 * A model with several graph fields (legal protobuf, merged by parsers) uses the last.
 */
export function locateGraph(bytes: Uint8Array, source = '<bytes>'): GraphLocation {
  let modelFields: WireField[];
  try {
    modelFields = scanFields(bytes);
  } catch (e) {
    throw new BadInputError(MODEL_FILE_ERRORS.truncated(source));
  }
  const graphs = modelFields.filter((f) => f.field === FIELD.model.graph && f.wireType === WIRE.LEN);
  const field = graphs[graphs.length - 1];
  if (!field) throw new BadInputError(MODEL_FILE_ERRORS.noGraph(source));
  return { field, modelFields };
}

/** The graph's own fields (nodes, initializers, inputs, ...), each skipped by its length. */
export function graphFields(bytes: Uint8Array, location: GraphLocation, source = '<bytes>'): WireField[] {
  try {
    return scanFields(bytes, location.field.valueStart, location.field.end);
  } catch (e) {
    throw new BadInputError(`${source}: the graph is malformed (${(e as Error).message}); re-export the model`);
  }
}

/** A replacement of the bytes [start, end) of the model (inside the graph's body). */
export interface ByteEdit {
  start: number;
  end: number;
  /** The new bytes, as pieces (views are fine). */
  bytes: Uint8Array[];
}

/** A model assembled from pieces: mostly views of the original bytes. */
export interface Splice {
  chunks: Uint8Array[];
  byteLength: number;
  /** Copies the pieces into one new buffer (the only step that grows with the model). */
  toBytes(): Uint8Array;
}

function totalLength(chunks: readonly Uint8Array[]): number {
  return chunks.reduce((n, c) => n + c.byteLength, 0);
}

/**
 * Splices a model: replaces ranges inside the graph body and appends fields at its end.
 * `append` holds complete encoded fields (tag, length, value), e.g. from `lenField`.
 */
export function spliceGraph(bytes: Uint8Array, location: GraphLocation, edits: readonly ByteEdit[], append: readonly Uint8Array[]): Splice {
  const g = location.field;
  const sorted = [...edits].sort((a, b) => a.start - b.start);
  const body: Uint8Array[] = [];
  let pos = g.valueStart;
  for (const e of sorted) {
    if (e.start < pos || e.end > g.end || e.start > e.end) throw new WireError('overlapping or out-of-graph edits');
    if (e.start > pos) body.push(bytes.subarray(pos, e.start));
    body.push(...e.bytes);
    pos = e.end;
  }
  if (g.end > pos) body.push(bytes.subarray(pos, g.end));
  body.push(...append);
  const bodyLength = totalLength(body);
  const chunks = [bytes.subarray(0, g.start), lenPrefix(FIELD.model.graph, bodyLength), ...body, bytes.subarray(g.end)].filter(
    (c) => c.byteLength > 0,
  );
  const byteLength = totalLength(chunks);
  return {
    chunks,
    byteLength,
    toBytes() {
      const out = new Uint8Array(byteLength);
      let at = 0;
      for (const c of chunks) {
        out.set(c, at);
        at += c.byteLength;
      }
      return out;
    },
  };
}

/** A complete length-delimited field: tag, length, payload. */
export function lenField(field: number, payload: Uint8Array): Uint8Array {
  const prefix = lenPrefix(field, payload.byteLength);
  const out = new Uint8Array(prefix.length + payload.byteLength);
  out.set(prefix, 0);
  out.set(payload, prefix.length);
  return out;
}

/**
 * Model bytes inside a larger buffer: `storage[start, end)` is the model, with spare room
 * before and after it, so fields can be appended to the graph in place (appendInPlace): no
 * copy of the weights at all, not even one.
 */
export interface ModelStore {
  storage: Uint8Array;
  start: number;
  end: number;
}

/** A store for `size` bytes of model with room to grow (untouched room costs no memory). */
export function allocateStore(size: number, head = 16, tail = Math.max(1 << 20, Math.ceil(size / 16))): ModelStore {
  const buf = Buffer.allocUnsafe(head + size + tail);
  return { storage: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), start: head, end: head + size };
}

/**
 * Appends fields to the graph of the model held in `store` without moving its weights: the
 * few bytes before the graph shift left when the graph's length prefix grows, the few after
 * it shift right past the new fields. Returns the changed model (a view) and `restore()`,
 * which puts the original back (call it once onnxruntime has read the model; until then the
 * original bytes are not valid). Returns null when the store lacks room: copy instead.
 * Cost: the bytes before and after the graph (model metadata, opset imports) and the new
 * fields, whatever the size of the weights.
 */
export function appendInPlace(store: ModelStore, location: GraphLocation, append: readonly Uint8Array[]): { bytes: Uint8Array; restore(): void } | null {
  const { storage, start, end } = store;
  const g = location.field;
  const added = totalLength(append);
  const tagWidth = varintLength(FIELD.model.graph * 8 + WIRE.LEN);
  const lenAt = start + g.start + tagWidth;
  const oldWidth = start + g.valueStart - lenAt;
  const newLen = encodeVarint(g.end - g.valueStart + added);
  const shift = newLen.length - oldWidth;
  const graphEnd = start + g.end;
  if (shift < 0 || start < shift || storage.length - end < added) return null;
  const savedHead = storage.slice(start - shift, lenAt + oldWidth);
  const suffix = storage.slice(graphEnd, end);
  // Before the graph: move the prefix and the tag left, write the new length.
  storage.copyWithin(start - shift, start, lenAt);
  storage.set(newLen, lenAt - shift);
  // After the graph's old end: the new fields, then the suffix.
  let at = graphEnd;
  for (const a of append) {
    storage.set(a, at);
    at += a.byteLength;
  }
  storage.set(suffix, at);
  let restored = false;
  return {
    bytes: storage.subarray(start - shift, end + added),
    restore() {
      if (restored) return;
      restored = true;
      storage.set(savedHead, start - shift);
      storage.set(suffix, graphEnd);
    },
  };
}
