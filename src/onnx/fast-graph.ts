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
 * protobufjs, which is the cost this module avoids.
 */
import type { AttributeValue, Dim, GraphAttribute, GraphFacts, NodeFacts, TensorAttribute, ValueFacts } from './graph';
import type { ConstantFacts } from './tables';
import type { Int64, OnnxAttribute, OnnxGraph, OnnxModel, OnnxTensor, OnnxTypeProto, OnnxValueInfo } from './proto';
import { checkModelHead } from './model-file';
import schema from './onnx-schema.json';
import { DataType, dtypeName } from './dtypes';

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
// graph.ts readModel after decodeModel, copied (it cannot be imported without protobufjs).
// Keep in step with graph.ts; test/onnx/fast-graph.test.ts compares the two on many models.

const AttributeType = {
  UNDEFINED: 0, FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7,
  STRINGS: 8, TENSORS: 9, GRAPHS: 10,
} as const;

const utf8 = new TextDecoder();

/** Any failure here means readModel would throw: the caller falls back to it for the words. */
const fail = (): never => {
  throw new Unsupported('readModel refuses this graph');
};

function modelFacts(model: OnnxModel): GraphFacts {
  const graph = model.graph;
  if (!graph || (graph.node.length === 0 && graph.output.length === 0)) return fail();
  const opsets: Record<string, number> = {};
  for (const o of model.opsetImport) opsets[o.domain === 'ai.onnx' ? '' : (o.domain ?? '')] = toNumber(o.version ?? 0);
  if (opsets[''] === undefined) fail();

  const initializers = [
    ...graph.initializer.map((t) => t.name ?? ''),
    ...graph.sparseInitializer.map((t) => t.values?.name ?? ''),
  ];
  const initSet = new Set(initializers);
  const inputs = graph.input.filter((v) => !initSet.has(v.name ?? '')).map(valueFacts);
  const outputs = graph.output.map(valueFacts);
  const { nodes, reordered } = sortNodes(graph, new Set([...inputs.map((v) => v.name), ...initializers]), new Set());
  const produced = new Set([...inputs.map((v) => v.name), ...initializers, ...nodes.flatMap((n) => n.outputs)]);
  for (const out of outputs) if (!produced.has(out.name)) fail();
  return {
    opset: opsets[''] as number,
    opsets,
    irVersion: toNumber(model.irVersion ?? 0),
    inputs,
    outputs,
    initializers,
    nodes,
    reordered,
  };
}

function valueFacts(v: OnnxValueInfo): ValueFacts {
  const { dtype, shape } = typeFacts(v.type);
  return { name: v.name ?? '', dtype, shape };
}

function typeFacts(t: OnnxTypeProto | undefined): { dtype: string; shape: Dim[] | null } {
  const tensor = t?.tensorType;
  if (tensor) {
    const shape = tensor.shape ? tensor.shape.dim.map(dimFacts) : null;
    return { dtype: dtypeName(tensor.elemType), shape };
  }
  if (t?.sequenceType) return { dtype: 'sequence', shape: null };
  if (t?.mapType) return { dtype: 'map', shape: null };
  if (t?.optionalType) return { dtype: 'optional', shape: null };
  if (t?.sparseTensorType) return { dtype: 'sparse_tensor', shape: t.sparseTensorType.shape?.dim.map(dimFacts) ?? null };
  return { dtype: 'unknown', shape: null };
}

function dimFacts(d: { dimValue?: Int64; dimParam?: string }): Dim {
  if (d.dimValue !== undefined) {
    const n = toNumber(d.dimValue);
    return n >= 0 ? n : null;
  }
  if (d.dimParam) return d.dimParam;
  return null;
}

function sortNodes(graph: OnnxGraph, available: Set<string>, outer: Set<string>): { nodes: NodeFacts[]; reordered: boolean } {
  const visible = new Set([...outer, ...available]);
  const producedBy = new Map<string, number>();
  graph.node.forEach((n, i) => {
    for (const out of n.output) {
      if (!out) continue;
      if (producedBy.has(out) || available.has(out)) fail();
      producedBy.set(out, i);
    }
  });
  const scope = new Set([...visible, ...producedBy.keys()]);
  const nodes = graph.node.map((n, i) => nodeFacts(n, i, scope));
  const deps = graph.node.map((n, i) => {
    const needs = new Set<number>();
    const names = [...n.input, ...subgraphOuterReads(nodes[i] as NodeFacts)];
    for (const name of names) {
      if (!name || visible.has(name)) continue;
      const from = producedBy.get(name);
      if (from === undefined) fail();
      else if (from !== i) needs.add(from);
    }
    return needs;
  });
  const inOrder = deps.every((needs, i) => [...needs].every((from) => from < i));
  if (inOrder) return { nodes, reordered: false };

  const waiting = deps.map((d) => d.size);
  const users: number[][] = nodes.map(() => []);
  deps.forEach((needs, i) => needs.forEach((from) => (users[from] as number[]).push(i)));
  const ready = waiting.flatMap((w, i) => (w === 0 ? [i] : []));
  const order: number[] = [];
  while (ready.length > 0) {
    ready.sort((a, b) => a - b);
    const i = ready.shift() as number;
    order.push(i);
    for (const u of users[i] as number[]) if (--(waiting[u] as number) === 0) ready.push(u);
  }
  if (order.length < nodes.length) fail();
  return { nodes: order.map((i) => nodes[i] as NodeFacts), reordered: true };
}

function subgraphOuterReads(node: NodeFacts): string[] {
  const reads: string[] = [];
  for (const value of Object.values(node.attributes)) {
    const graphs = Array.isArray(value) ? value : [value];
    for (const g of graphs) {
      if (typeof g === 'object' && g !== null && (g as GraphAttribute).kind === 'graph') reads.push(...graphOuterReads(g as GraphAttribute));
    }
  }
  return reads;
}

function graphOuterReads(g: GraphAttribute): string[] {
  const local = new Set([...g.inputs, ...g.initializers]);
  const reads: string[] = [];
  for (const n of g.nodes) {
    for (const name of [...n.inputs, ...subgraphOuterReads(n)]) if (name && !local.has(name)) reads.push(name);
    for (const out of n.outputs) local.add(out);
  }
  return reads;
}

function nodeFacts(n: OnnxGraph['node'][number], index: number, scope: Set<string>): NodeFacts {
  const attributes: Record<string, AttributeValue> = {};
  for (const a of n.attribute) attributes[a.name ?? ''] = attributeValue(a, scope);
  return {
    name: n.name || `${n.opType ?? 'node'}_${index}`,
    opType: n.opType ?? '',
    domain: n.domain === 'ai.onnx' ? '' : (n.domain ?? ''),
    inputs: [...n.input],
    outputs: [...n.output],
    attributes,
  };
}

function attributeValue(a: OnnxAttribute, scope: Set<string>): AttributeValue {
  const T = AttributeType;
  switch (a.type || inferAttributeType(a)) {
    case T.FLOAT: return a.f ?? 0;
    case T.INT: return toNumber(a.i ?? 0);
    case T.STRING: return a.s ? utf8.decode(a.s) : '';
    case T.TENSOR: return tensorAttribute(a.t);
    case T.GRAPH: return graphAttribute(a.g, scope);
    case T.FLOATS: return [...a.floats];
    case T.INTS: return a.ints.map(toNumber);
    case T.STRINGS: return a.strings.map((s) => utf8.decode(s));
    case T.TENSORS: return a.tensors.map(tensorAttribute);
    case T.GRAPHS: return a.graphs.map((g) => graphAttribute(g, scope));
    default: return { kind: 'other', type: a.type ?? 0 };
  }
}

function inferAttributeType(a: OnnxAttribute): number {
  const T = AttributeType;
  if (a.f !== undefined) return T.FLOAT;
  if (a.i !== undefined) return T.INT;
  if (a.s !== undefined) return T.STRING;
  if (a.t !== undefined) return T.TENSOR;
  if (a.g !== undefined) return T.GRAPH;
  if (a.floats.length) return T.FLOATS;
  if (a.ints.length) return T.INTS;
  if (a.strings.length) return T.STRINGS;
  if (a.tensors.length) return T.TENSORS;
  if (a.graphs.length) return T.GRAPHS;
  return T.UNDEFINED;
}

function tensorAttribute(t: OnnxTensor | undefined): TensorAttribute {
  return { kind: 'tensor', dtype: dtypeName(t?.dataType), dims: (t?.dims ?? []).map(toNumber) };
}

function graphAttribute(g: OnnxGraph | undefined, scope: Set<string>): GraphAttribute {
  if (!g) return { kind: 'graph', inputs: [], outputs: [], initializers: [], nodes: [] };
  const initializers = g.initializer.map((t) => t.name ?? '');
  const locals = new Set([...g.input.map((v) => v.name ?? ''), ...initializers]);
  const { nodes } = sortNodes(g, locals, scope);
  return {
    kind: 'graph',
    inputs: g.input.map((v) => v.name ?? ''),
    outputs: g.output.map((v) => v.name ?? ''),
    initializers,
    nodes,
  };
}

function toNumber(v: Int64): number {
  return typeof v === 'bigint' ? Number(v) : v;
}

// ---------------------------------------------------------------------------------------------
// tables.ts constantFacts, copied for the same reason.

const SMALL_CONSTANT = 64;

function constantFacts(model: OnnxModel): Record<string, ConstantFacts> {
  const out: Record<string, ConstantFacts> = {};
  const graph = model.graph;
  if (!graph) return out;
  for (const t of graph.initializer) if (t.name) out[t.name] = tensorFacts(t);
  for (const s of graph.sparseInitializer) {
    const name = s.values?.name;
    if (name) out[name] = { dtype: dtypeName(s.values?.dataType), dims: s.dims.map(toNumber), values: null };
  }
  for (const n of graph.node) {
    if ((n.opType ?? '') !== 'Constant' || (n.domain ?? '') !== '' || !n.output[0]) continue;
    const a = n.attribute[0];
    if (!a) continue;
    let facts: ConstantFacts | null = null;
    if (a.t) facts = tensorFacts(a.t);
    else if (a.name === 'value_int' && a.i !== undefined) facts = { dtype: 'int64', dims: [], values: [toNumber(a.i)] };
    else if (a.name === 'value_ints') facts = { dtype: 'int64', dims: [a.ints.length], values: a.ints.length <= SMALL_CONSTANT ? a.ints.map(toNumber) : null };
    else if (a.name === 'value_float' && a.f !== undefined) facts = { dtype: 'float32', dims: [], values: [a.f] };
    else if (a.name === 'value_floats') facts = { dtype: 'float32', dims: [a.floats.length], values: a.floats.length <= SMALL_CONSTANT ? [...a.floats] : null };
    if (facts) out[n.output[0]] = facts;
  }
  return out;
}

function tensorFacts(t: OnnxTensor): ConstantFacts {
  const dims = t.dims.map(toNumber);
  const dtype = dtypeName(t.dataType);
  const count = dims.reduce((a, b) => a * b, 1);
  return { dtype, dims, values: count <= SMALL_CONSTANT && t.dataLocation !== 1 ? smallValues(t, dtype, count) : null };
}

const ITEM: Record<string, number> = { int8: 1, uint8: 1, bool: 1, int16: 2, uint16: 2, int32: 4, uint32: 4, float32: 4, int64: 8, uint64: 8, float64: 8 };

function smallValues(t: OnnxTensor, dtype: string, count: number): number[] | null {
  const size = ITEM[dtype];
  if (size === undefined) return null;
  if (t.rawData && t.rawData.byteLength > 0) {
    if (t.rawData.byteLength !== count * size) return null;
    const v = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
    const read = (i: number): number => {
      switch (dtype) {
        case 'int8': return v.getInt8(i);
        case 'uint8': case 'bool': return v.getUint8(i);
        case 'int16': return v.getInt16(i * 2, true);
        case 'uint16': return v.getUint16(i * 2, true);
        case 'int32': return v.getInt32(i * 4, true);
        case 'uint32': return v.getUint32(i * 4, true);
        case 'float32': return v.getFloat32(i * 4, true);
        case 'float64': return v.getFloat64(i * 8, true);
        case 'int64': return Number(v.getBigInt64(i * 8, true));
        default: return Number(v.getBigUint64(i * 8, true));
      }
    };
    return Array.from({ length: count }, (_, i) => read(i));
  }
  const typed: ArrayLike<Int64> =
    t.dataType === DataType.INT64 ? t.int64Data
      : t.dataType === DataType.UINT64 || t.dataType === DataType.UINT32 ? t.uint64Data
        : t.dataType === DataType.FLOAT ? t.floatData
          : t.dataType === DataType.DOUBLE ? t.doubleData
            : t.int32Data;
  if (typed.length !== count) return null;
  return Array.from(typed, toNumber);
}
