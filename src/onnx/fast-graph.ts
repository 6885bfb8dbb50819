/**
 * readModel + constantFacts without protobufjs: `batchproof check` reads a text model's graph
 * facts (table bounds for synthesized ids) on every run, and loading protobufjs and building it
 * from the schema costs more than the check may (tens of ms). This decoder walks the wire format
 * driven by the same vendored schema (onnx-schema.json), builds the plain objects decodeModel
 * would (the fields the facts read), and derives the facts with a copy of graph.ts's and
 * tables.ts's logic. Anything it does not read exactly as protobufjs would (malformed bytes,
 * a wire type that does not match the schema, groups, invalid UTF-8, a graph readModel refuses)
 * falls back to readModel itself, so the answer is always readModel's.
 *
 * Only types are imported from graph.ts/tables.ts/proto.ts: importing their values would load
 * protobufjs, which is the cost this module avoids; the facts themselves come from facts.ts,
 * which readModel uses too.
 */
import type { GraphFacts } from './graph';
import type { ConstantFacts } from './facts';
import type { Int64, OnnxModel } from './proto';
import { checkModelHead } from './model-file';
import schema from './onnx-schema.json';
import { buildGraphFacts, constantFacts } from './facts';

/** The facts readHandleGraph keeps: readModel's graph and constantFacts of its model. */
export interface FastFacts {
  graph: GraphFacts;
  constants: Record<string, ConstantFacts>;
}

/**
 * readModel(bytes, source).graph and constantFacts(model), read without protobufjs when the
 * bytes are plain well-formed ONNX; otherwise (or on any doubt) by readModel, whose errors
 * (BadInputError) it throws.
 */
export function readModelFacts(bytes: Uint8Array, source = '<bytes>'): FastFacts {
  let facts: FastFacts | null = null;
  try {
    facts = readModelFactsStrict(bytes);
  } catch {
    facts = null;
  }
  if (facts) return facts;
  // The slow exact path: the same facts, or readModel's one-line error.
  const { readModel } = require('./graph') as typeof import('./graph');
  const { constantFacts } = require('./tables') as typeof import('./tables');
  const { model, graph } = readModel(bytes, source);
  return { graph, constants: constantFacts(model) };
}

class Unsupported extends Error {}

/** The fast path alone: throws (any error) where readModelFacts would fall back. Exported for tests. */
export function readModelFactsStrict(bytes: Uint8Array): FastFacts {
  checkModelHead(bytes, '<bytes>');
  const model = decodeMessage(bytes, 0, bytes.length, typeOf('ModelProto')) as unknown as OnnxModel;
  return { graph: modelFacts(model), constants: constantFacts(model) };
}

// ---------------------------------------------------------------------------------------------
// The schema-driven decoder (protobufjs' decode + toObject({ arrays: true, enums: Number }) +
// proto.ts convertLongs, for well-formed bytes).

interface FieldDef { name: string; type: string; repeated: boolean; kind: Kind; message: MessageDef | null }
interface MessageDef { name: string; fields: Map<number, FieldDef>; repeated: string[] }
type Kind = 'message' | 'enum' | 'string' | 'bytes' | 'float' | 'double' | 'int32' | 'uint32' | 'int64' | 'uint64' | 'bool';

interface SchemaNode { fields?: Record<string, { type: string; id: number; rule?: string }>; values?: unknown; nested?: Record<string, SchemaNode> }

const ROOT = (schema as { nested: { onnx: SchemaNode } }).nested.onnx;
const messages = new Map<SchemaNode, MessageDef>();
const SCALARS = new Set<string>(['string', 'bytes', 'float', 'double', 'int32', 'uint32', 'int64', 'uint64', 'bool']);

function typeOf(name: string): MessageDef {
  const node = ROOT.nested?.[name];
  if (!node) throw new Unsupported(name);
  return messageDef(node, name, [ROOT]);
}

function messageDef(node: SchemaNode, name: string, scopes: SchemaNode[]): MessageDef {
  const hit = messages.get(node);
  if (hit) return hit;
  const def: MessageDef = { name, fields: new Map(), repeated: [] };
  messages.set(node, def);
  const inner = [node, ...scopes];
  for (const [fieldName, f] of Object.entries(node.fields ?? {})) {
    const repeated = f.rule === 'repeated';
    let kind: Kind;
    let message: MessageDef | null = null;
    if (SCALARS.has(f.type)) {
      kind = f.type as Kind;
    } else {
      const target = inner.map((s) => s.nested?.[f.type]).find((n) => n !== undefined);
      if (!target) throw new Unsupported(`type ${f.type}`);
      if (target.values) {
        kind = 'enum';
      } else {
        kind = 'message';
        message = messageDef(target, f.type, inner);
      }
    }
    def.fields.set(f.id, { name: fieldName, type: f.type, repeated, kind, message });
    if (repeated) def.repeated.push(fieldName);
  }
  return def;
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

// The decoder's cursor: one module-level position and the last varint's halves, so reading a
// field allocates nothing (the first read runs in V8's interpreter, where that is what costs).
let B: Uint8Array = new Uint8Array(0);
let V: DataView = new DataView(new ArrayBuffer(0));
let P = 0;
let LO = 0;
let HI = 0;

/** Reads a varint at P (as protobufjs' LongBits: low and high 32 bits into LO/HI). */
function varint(end: number): void {
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < 10; i++) {
    if (P >= end) throw new Unsupported('varint past end');
    const b = B[P++] as number;
    const bits = b & 0x7f;
    if (i < 4) lo |= bits << (7 * i);
    else if (i === 4) {
      lo |= (bits & 0x0f) << 28;
      hi |= bits >> 4;
    } else hi |= bits << (7 * i - 32);
    if ((b & 0x80) === 0) {
      LO = lo >>> 0;
      HI = hi >>> 0;
      return;
    }
  }
  throw new Unsupported('varint over 10 bytes');
}

/** A tag or length: small, at most 5 bytes. */
function smallVarint(end: number): number {
  const at = P;
  varint(end);
  if (HI !== 0 || LO > 0x7fffffff || P - at > 5) throw new Unsupported('large tag or length');
  return LO;
}

function toInt64(lo: number, hi: number, unsigned: boolean): Int64 {
  if (hi === 0) return lo;
  const bits = (BigInt(hi) << 32n) | BigInt(lo);
  const big = unsigned ? BigInt.asUintN(64, bits) : BigInt.asIntN(64, bits);
  const n = Number(big);
  return Number.isSafeInteger(n) ? n : big;
}

const WIRE_OF: Record<Kind, number> = { message: 2, string: 2, bytes: 2, float: 5, double: 1, int32: 0, uint32: 0, int64: 0, uint64: 0, bool: 0, enum: 0 };

function readScalar(kind: Kind, end: number): unknown {
  if (kind === 'float') {
    if (P + 4 > end) throw new Unsupported('float past end');
    P += 4;
    return V.getFloat32(P - 4, true);
  }
  if (kind === 'double') {
    if (P + 8 > end) throw new Unsupported('double past end');
    P += 8;
    return V.getFloat64(P - 8, true);
  }
  varint(end);
  switch (kind) {
    case 'int32': case 'enum': return LO | 0;
    case 'uint32': return LO;
    case 'bool': return LO !== 0;
    case 'int64': return toInt64(LO, HI, false);
    case 'uint64': return toInt64(LO, HI, true);
    default: throw new Unsupported(kind);
  }
}

/** UTF-8 as protobufjs reads it, for valid UTF-8 (invalid bytes: the caller falls back). */
function readString(start: number, end: number): string {
  let ascii = true;
  for (let i = start; i < end; i++) {
    if ((B[i] as number) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii && end - start <= 1024) return String.fromCharCode.apply(null, B.subarray(start, end) as unknown as number[]);
  return utf8Strict.decode(B.subarray(start, end));
}

function decodeMessage(bytes: Uint8Array, start: number, end: number, def: MessageDef): Record<string, unknown> {
  B = bytes;
  V = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  P = start;
  try {
    return decodeWith(end, def, 0);
  } finally {
    // Hold no reference to the model's bytes after the read.
    B = new Uint8Array(0);
    V = new DataView(new ArrayBuffer(0));
  }
}

/** Deeper nesting is left to protobufjs (its own recursion limit decides). */
const MAX_DEPTH = 32;

function decodeWith(end: number, def: MessageDef, depth: number): Record<string, unknown> {
  if (depth > MAX_DEPTH) throw new Unsupported('deep nesting');
  const out: Record<string, unknown> = {};
  for (const name of def.repeated) out[name] = [];
  while (P < end) {
    const tag = smallVarint(end);
    const id = tag >>> 3;
    const wire = tag & 7;
    if (id === 0) throw new Unsupported('field 0');
    const f = def.fields.get(id);
    if (!f) {
      // Unknown fields are skipped, as protobufjs does.
      skip(wire, end);
      continue;
    }
    const packable = f.repeated && f.kind !== 'message' && f.kind !== 'string' && f.kind !== 'bytes';
    if (packable && wire === 2) {
      const len = smallVarint(end);
      const stop = P + len;
      if (stop > end) throw new Unsupported('packed past end');
      const list = out[f.name] as unknown[];
      while (P < stop) list.push(readScalar(f.kind, stop));
      continue;
    }
    if (wire !== WIRE_OF[f.kind]) throw new Unsupported(`wire type ${wire} for ${def.name}.${f.name}`);
    let value: unknown;
    if (wire === 2) {
      const len = smallVarint(end);
      const at = P;
      const stop = at + len;
      if (stop > end) throw new Unsupported('field past end');
      if (f.kind === 'message') value = decodeWith(stop, f.message as MessageDef, depth + 1);
      else if (f.kind === 'string') value = readString(at, stop);
      else value = B.subarray(at, stop);
      P = stop;
    } else {
      value = readScalar(f.kind, end);
    }
    if (f.repeated) (out[f.name] as unknown[]).push(value);
    else out[f.name] = value; // protobufjs replaces a repeated singular field (messages too)
  }
  if (P !== end) throw new Unsupported('message overrun');
  return out;
}

function skip(wire: number, end: number): void {
  switch (wire) {
    case 0: varint(end); break;
    case 1: P += 8; break;
    case 5: P += 4; break;
    case 2: {
      const len = smallVarint(end);
      P += len;
      break;
    }
    default: throw new Unsupported(`wire type ${wire}`);
  }
  if (P > end) throw new Unsupported('skip past end');
}

// ---------------------------------------------------------------------------------------------
// After decoding: the same graph facts as readModel (facts.ts, shared, protobufjs-free).

/** Any failure here means readModel would throw: the caller falls back to it for the words. */
const fail = (): never => {
  throw new Unsupported('readModel refuses this graph');
};

function modelFacts(model: OnnxModel): GraphFacts {
  const graph = model.graph;
  // readModel's "no graph" refusal, before the facts (it checks this itself).
  if (!graph || (graph.node.length === 0 && graph.output.length === 0)) return fail();
  return buildGraphFacts(model, fail);
}
