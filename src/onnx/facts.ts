/**
 * Graph facts from a decoded ModelProto: plain functions over the decoded objects, shared by
 * readModel (protobufjs) and fast-graph.ts (its own decoder), so both give the same facts.
 * Only types and protobufjs-free modules are imported here.
 */
import type { AttributeValue, Dim, GraphAttribute, GraphFacts, NodeFacts, TensorAttribute, ValueFacts } from './graph';
import type { Int64, OnnxAttribute, OnnxGraph, OnnxModel, OnnxTensor, OnnxTypeProto, OnnxValueInfo } from './proto';
import { AttributeType, DataType, dtypeName } from './dtypes';

const utf8 = new TextDecoder();

/**
 * The graph facts of a decoded model (after protobufjs or fast-graph.ts decoded it): opsets,
 * inputs that are feeds, outputs, initializers, nodes in topological order. `fail` throws the
 * caller's error: readModel's one line, or fast-graph's signal to fall back to readModel.
 */
export function buildGraphFacts(model: OnnxModel, fail: Fail): GraphFacts {
  const graph = model.graph as OnnxGraph;
  const opsets: Record<string, number> = {};
  for (const o of model.opsetImport) opsets[o.domain === 'ai.onnx' ? '' : (o.domain ?? '')] = toNumber(o.version ?? 0);
  if (opsets[''] === undefined) {
    fail('the model imports no ai.onnx opset (opset_import is missing)', 're-export it with an explicit opset version (or re-download it if the file is truncated)');
  }

  const initializers = [
    ...graph.initializer.map((t) => t.name ?? ''),
    ...graph.sparseInitializer.map((t) => t.values?.name ?? ''),
  ];
  const initSet = new Set(initializers);
  // IR < 4 lists initializers among the inputs too; those are not feeds.
  const inputs = graph.input.filter((v) => !initSet.has(v.name ?? '')).map(valueFacts);
  const outputs = graph.output.map(valueFacts);

  const { nodes, reordered } = sortNodes(
    graph,
    new Set([...inputs.map((v) => v.name), ...initializers]),
    new Set(),
    fail,
  );

  const produced = new Set([...inputs.map((v) => v.name), ...initializers, ...nodes.flatMap((n) => n.outputs)]);
  for (const out of outputs) {
    if (!produced.has(out.name)) fail(`graph output '${out.name}' is not produced by any node, input or initializer`, 're-export the model');
  }

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

export type Fail = (problem: string, fix: string) => never;

/** Catches files that are plainly something else, to give a precise fix. */
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
    return n >= 0 ? n : null; // some exporters write -1 for "dynamic"
  }
  if (d.dimParam) return d.dimParam;
  return null;
}

/**
 * Nodes in topological order. ONNX requires files to be sorted; we check, and sort (Kahn,
 * keeping file order among ready nodes) only when they are not. `outer` holds names visible
 * from enclosing graphs, which subgraph nodes may read.
 */
function sortNodes(
  graph: OnnxGraph,
  available: Set<string>,
  outer: Set<string>,
  fail: Fail,
): { nodes: NodeFacts[]; reordered: boolean } {
  const visible = new Set([...outer, ...available]);
  const producedBy = new Map<string, number>();
  graph.node.forEach((n, i) => {
    for (const out of n.output) {
      if (!out) continue;
      if (producedBy.has(out) || available.has(out)) {
        fail(`the value '${out}' is produced twice (node ${nodeLabel(n, i)})`, 'the graph is invalid; re-export the model');
      }
      producedBy.set(out, i);
    }
  });
  const scope = new Set([...visible, ...producedBy.keys()]);
  const nodes = graph.node.map((n, i) => nodeFacts(n, i, scope, fail));

  // Each node's dependencies: explicit inputs plus names its subgraphs read from this scope.
  const deps = graph.node.map((n, i) => {
    const needs = new Set<number>();
    const names = [...n.input, ...subgraphOuterReads(nodes[i] as NodeFacts)];
    for (const name of names) {
      if (!name || visible.has(name)) continue;
      const from = producedBy.get(name);
      if (from === undefined) {
        fail(`node ${nodeLabel(n, i)} reads '${name}', which no input, initializer or node produces`, 'the graph is invalid; re-export the model');
      } else if (from !== i) {
        needs.add(from);
      }
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
  if (order.length < nodes.length) {
    const stuck = waiting.findIndex((w) => w > 0);
    fail(`the graph has a cycle through node ${nodeLabel(graph.node[stuck], stuck)}`, 'the graph is invalid; re-export the model');
  }
  return { nodes: order.map((i) => nodes[i] as NodeFacts), reordered: true };
}

/** Names a node's subgraphs read from enclosing scopes (their implicit inputs). */
function subgraphOuterReads(node: NodeFacts): string[] {
  const reads: string[] = [];
  for (const value of Object.values(node.attributes)) {
    const graphs = Array.isArray(value) ? value : [value];
    for (const g of graphs) {
      if (typeof g === 'object' && g !== null && (g as GraphAttribute).kind === 'graph') {
        reads.push(...graphOuterReads(g as GraphAttribute));
      }
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

function nodeFacts(
  n: OnnxGraph['node'][number],
  index: number,
  scope: Set<string>,
  fail: Fail,
): NodeFacts {
  const attributes: Record<string, AttributeValue> = {};
  for (const a of n.attribute) attributes[a.name ?? ''] = attributeValue(a, scope, fail);
  return {
    name: n.name || `${n.opType ?? 'node'}_${index}`,
    opType: n.opType ?? '',
    domain: n.domain === 'ai.onnx' ? '' : (n.domain ?? ''),
    inputs: [...n.input],
    outputs: [...n.output],
    attributes,
  };
}

function attributeValue(a: OnnxAttribute, scope: Set<string>, fail: Fail): AttributeValue {
  const T = AttributeType;
  switch (a.type || inferAttributeType(a)) {
    case T.FLOAT: return a.f ?? 0;
    case T.INT: return toNumber(a.i ?? 0);
    case T.STRING: return a.s ? utf8.decode(a.s) : '';
    case T.TENSOR: return tensorAttribute(a.t);
    case T.GRAPH: return graphAttribute(a.g, scope, fail);
    case T.FLOATS: return [...a.floats];
    case T.INTS: return a.ints.map(toNumber);
    case T.STRINGS: return a.strings.map((s) => utf8.decode(s));
    case T.TENSORS: return a.tensors.map(tensorAttribute);
    case T.GRAPHS: return a.graphs.map((g) => graphAttribute(g, scope, fail));
    default: return { kind: 'other', type: a.type ?? 0 };
  }
}

/** Very old models leave AttributeProto.type unset; the filled field tells. */
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

function graphAttribute(g: OnnxGraph | undefined, scope: Set<string>, fail: Fail): GraphAttribute {
  if (!g) return { kind: 'graph', inputs: [], outputs: [], initializers: [], nodes: [] };
  const initializers = g.initializer.map((t) => t.name ?? '');
  const locals = new Set([...g.input.map((v) => v.name ?? ''), ...initializers]);
  const { nodes } = sortNodes(g, locals, scope, fail);
  return {
    kind: 'graph',
    inputs: g.input.map((v) => v.name ?? ''),
    outputs: g.output.map((v) => v.name ?? ''),
    initializers,
    nodes,
  };
}

function nodeLabel(n: OnnxGraph['node'][number] | undefined, index: number): string {
  return n?.name ? `'${n.name}' (${n.opType})` : `#${index} (${n?.opType ?? '?'})`;
}

function toNumber(v: Int64): number {
  return typeof v === 'bigint' ? Number(v) : v;
}

/** An initializer's or Constant node's type and dims, and its values when it is small. */
export interface ConstantFacts {
  dtype: string;
  dims: number[];
  /** The values (as numbers) of tensors of up to SMALL_CONSTANT elements held inline; else null. */
  values: number[] | null;
}

/** Constants with at most this many elements keep their values (shifts, axes, shapes). */
export const SMALL_CONSTANT = 64;


/** Dtypes, dims and small values of every top-level initializer and Constant node output. */
export function constantFacts(model: OnnxModel): Record<string, ConstantFacts> {
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

/** Values of a small inline tensor, or null when its type or storage is not one read here. */
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

