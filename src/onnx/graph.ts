/**
 * readGraph: the plain facts batchproof needs about a model's graph (inputs, outputs,
 * initializers, nodes in topological order), read from ONNX bytes without a session.
 */
import { BadInputError } from '../errors';
import {
  AttributeType,
  decodeModel,
  type Int64,
  type OnnxAttribute,
  type OnnxGraph,
  type OnnxModel,
  type OnnxTensor,
  type OnnxTypeProto,
  type OnnxValueInfo,
} from './proto';
import { checkModelHead, MODEL_FILE_ERRORS } from './model-file';
import { dtypeName } from './dtypes';

export { dtypeName };

/** A dimension: a fixed size, a symbolic name ('N', 'batch'), or null when unnamed. */
export type Dim = number | string | null;

export interface ValueFacts {
  name: string;
  /**
   * onnxruntime-node's name for the element type ('float32', 'int64', 'bool', ...).
   * Non-tensor values get 'sequence', 'map', 'optional' or 'sparse_tensor'; 'unknown' when
   * the type is not declared.
   */
  dtype: string;
  /** Declared dims; [] is a scalar; null when the rank is not declared. */
  shape: Dim[] | null;
}

/** A tensor-valued attribute (e.g. Constant's value): its type and dims, not its data. */
export interface TensorAttribute { kind: 'tensor'; dtype: string; dims: number[] }

/** A graph-valued attribute (If/Loop/Scan bodies). */
export interface GraphAttribute {
  kind: 'graph';
  inputs: string[];
  outputs: string[];
  initializers: string[];
  nodes: NodeFacts[];
}

/** Attribute kinds batchproof does not look into (sparse tensors, type protos). */
export interface OtherAttribute { kind: 'other'; type: number }

/**
 * ints become numbers (int64 values beyond 2^53 are rounded; these are facts, not for
 * re-encoding); strings are decoded as UTF-8.
 */
export type AttributeValue =
  | number
  | string
  | number[]
  | string[]
  | TensorAttribute
  | TensorAttribute[]
  | GraphAttribute
  | GraphAttribute[]
  | OtherAttribute;

export interface NodeFacts {
  name: string;
  opType: string;
  /** '' for the default ONNX domain (ai.onnx). */
  domain: string;
  /** '' marks an omitted optional input/output, as in ONNX. */
  inputs: string[];
  outputs: string[];
  attributes: Record<string, AttributeValue>;
}

export interface GraphFacts {
  /** The default-domain (ai.onnx) opset version. */
  opset: number;
  /** Every imported opset by domain ('' for ai.onnx, 'com.microsoft', ...). */
  opsets: Record<string, number>;
  irVersion: number;
  /** Feeds the model needs: graph inputs that are not initializers. */
  inputs: ValueFacts[];
  outputs: ValueFacts[];
  /** Names of initializers (dense and sparse). */
  initializers: string[];
  /** In topological order. */
  nodes: NodeFacts[];
  /** True when the file's node order was not topological and readGraph sorted it. */
  reordered: boolean;
}

const utf8 = new TextDecoder();

/**
 * Reads the graph facts of an ONNX model. `source` names the file in error messages.
 * Throws BadInputError (one line: file, problem, fix) for bytes that are not a usable model.
 */
export function readGraph(bytes: Uint8Array, source = '<bytes>'): GraphFacts {
  return readModel(bytes, source).graph;
}

/**
 * readGraph's facts together with the decoded model they come from (tensor bytes are views
 * into `bytes`, not copies), for callers that also need initializer values.
 */
export function readModel(bytes: Uint8Array, source = '<bytes>'): { model: OnnxModel; graph: GraphFacts } {
  const fail: Fail = (problem, fix) => {
    throw new BadInputError(oneLine(`${source}: ${problem}; ${fix}`));
  };
  // The same words as `check` for the same file (onnx/model-file.ts).
  checkModelHead(bytes, source);

  let model: OnnxModel;
  try {
    model = decodeModel(bytes);
  } catch {
    throw new BadInputError(MODEL_FILE_ERRORS.truncated(source));
  }
  const graph = model.graph;
  if (!graph || (graph.node.length === 0 && graph.output.length === 0)) throw new BadInputError(MODEL_FILE_ERRORS.noGraph(source));

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

  const facts: GraphFacts = {
    opset: opsets[''] as number,
    opsets,
    irVersion: toNumber(model.irVersion ?? 0),
    inputs,
    outputs,
    initializers,
    nodes,
    reordered,
  };
  return { model, graph: facts };
}

type Fail = (problem: string, fix: string) => never;

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

function oneLine(s: string): string {
  return s.replace(/\s*[\r\n]+\s*/g, ' ');
}
