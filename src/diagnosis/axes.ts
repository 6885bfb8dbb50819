/**
 * Following one axis (the batch axis, or the sequence axis) from the graph inputs through the
 * nodes, well enough to tell a reduction over it from one over another axis. Exact shape
 * inference is not the goal: where an op's effect on the axis cannot be read from its
 * attributes and constant inputs, the value stays "derived from the inputs, axis unknown".
 */
import type { GraphFacts, NodeFacts } from '../onnx/graph';
import type { GraphConstants } from './constants';

/** Where the followed axis sits in a value derived from a seeded input. */
export interface AxisTrack {
  /** Its position counted from the front; null when it cannot be told. */
  axis: number | null;
  /** The value's rank, when known. */
  rank: number | null;
  /** The seeded input it comes from. */
  from: string;
}

/** The axes an op reduces (or normalises) over, as its attributes and constant inputs say. */
export type ReducedAxes =
  | { kind: 'list'; axes: number[] }
  /** Every axis from `from` on (LayerNormalization, Softmax before opset 13). */
  | { kind: 'from'; from: number }
  | { kind: 'all' }
  /** Given by a computed input: cannot be told. */
  | { kind: 'unknown' };

export interface Reduction {
  axes: ReducedAxes;
  /** True for ops whose output has the reduced axes removed or kept as 1 (Reduce*, ArgMax). */
  reduces: boolean;
  keepdims: boolean;
  /** The data input's index. */
  input: number;
}

const REDUCE_OPS = new Set([
  'ReduceMean', 'ReduceSum', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2',
  'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare',
]);
/** Ops whose axes moved from an attribute to an input, and the opset that moved them. */
const AXES_INPUT_FROM: Record<string, number> = { ReduceSum: 13 };
const AXES_INPUT_DEFAULT = 18;

/**
 * The reduction a node makes over its data input, or null when it makes none (not a reducing
 * op, or a Reduce with empty axes and noop_with_empty_axes=1).
 */
export function reductionOf(n: NodeFacts, opset: number, k: GraphConstants): Reduction | null {
  if (n.domain !== '' && n.domain !== 'ai.onnx') return null;
  const a = n.attributes;
  const int = (name: string, dflt: number): number => (typeof a[name] === 'number' ? (a[name] as number) : dflt);
  if (REDUCE_OPS.has(n.opType)) {
    const keepdims = int('keepdims', 1) !== 0;
    let axes: ReducedAxes;
    if (Array.isArray(a.axes)) {
      axes = (a.axes as number[]).length > 0 ? { kind: 'list', axes: a.axes as number[] } : { kind: 'all' };
    } else if (opset >= (AXES_INPUT_FROM[n.opType] ?? AXES_INPUT_DEFAULT) && n.inputs[1]) {
      const values = k.ints.get(n.inputs[1]);
      if (!values) axes = { kind: 'unknown' };
      else if (values.length > 0) axes = { kind: 'list', axes: values };
      else if (int('noop_with_empty_axes', 0) === 1) return null;
      else axes = { kind: 'all' };
    } else {
      // No axes at all: every axis, unless noop_with_empty_axes says "do nothing" (opset 18+).
      if (int('noop_with_empty_axes', 0) === 1) return null;
      axes = { kind: 'all' };
    }
    return { axes, reduces: true, keepdims, input: 0 };
  }
  switch (n.opType) {
    case 'ArgMax':
    case 'ArgMin':
      return { axes: { kind: 'list', axes: [int('axis', 0)] }, reduces: true, keepdims: int('keepdims', 1) !== 0, input: 0 };
    case 'Softmax':
    case 'LogSoftmax':
    case 'Hardmax':
      return opset >= 13
        ? { axes: { kind: 'list', axes: [int('axis', -1)] }, reduces: false, keepdims: true, input: 0 }
        : { axes: { kind: 'from', from: int('axis', 1) }, reduces: false, keepdims: true, input: 0 };
    case 'LayerNormalization':
      return { axes: { kind: 'from', from: int('axis', -1) }, reduces: false, keepdims: true, input: 0 };
    case 'LpNormalization':
      return { axes: { kind: 'list', axes: [int('axis', -1)] }, reduces: false, keepdims: true, input: 0 };
    case 'MeanVarianceNormalization':
      return { axes: { kind: 'list', axes: Array.isArray(a.axes) ? (a.axes as number[]) : [0, 2, 3] }, reduces: false, keepdims: true, input: 0 };
    case 'CumSum': {
      const v = n.inputs[1] ? k.ints.get(n.inputs[1]) : undefined;
      return { axes: v && v.length === 1 ? { kind: 'list', axes: v } : { kind: 'unknown' }, reduces: false, keepdims: true, input: 0 };
    }
    default:
      return null;
  }
}

/** An axis index made non-negative; null when it is negative and the rank is unknown. */
function norm(axis: number, rank: number | null): number | null {
  if (axis >= 0) return axis;
  return rank === null ? null : axis + rank;
}

/**
 * Whether the reduction covers axis `at` of a value of rank `rank`: true, false, or null when
 * it cannot be told (axes from a computed input). A negative axis of a value of unknown rank
 * is taken as not `at` unless it can only be (the last axis of a rank-1 value is rare enough).
 */
export function covers(r: ReducedAxes, at: number, rank: number | null): boolean | null {
  switch (r.kind) {
    case 'all': return true;
    case 'unknown': return null;
    case 'list': return r.axes.some((x) => norm(x, rank) === at);
    case 'from': {
      const f = norm(r.from, rank);
      return f !== null && f <= at;
    }
  }
}

/** Shape values: derived from a value's dims, not its contents. */
export const SHAPE_OPS = new Set(['Shape', 'Size']);
/** Ops whose outputs do not depend on their inputs' contents at all, only on shapes or seeds. */
const CONTENT_FREE = new Set(['Shape', 'Size', 'ConstantOfShape', 'Range', 'EyeLike', 'RandomNormalLike', 'RandomUniformLike', 'Bernoulli']);

/** Ops that keep every axis where it is (elementwise, with numpy broadcasting from the right). */
const ELEMENTWISE = new Set([
  'Abs', 'Acos', 'Acosh', 'Add', 'And', 'Asin', 'Asinh', 'Atan', 'Atanh', 'BitShift', 'BitwiseAnd', 'BitwiseNot',
  'BitwiseOr', 'BitwiseXor', 'Cast', 'CastLike', 'Ceil', 'Celu', 'Clip', 'Cos', 'Cosh', 'DequantizeLinear', 'Div',
  'Dropout', 'Elu', 'Equal', 'Erf', 'Exp', 'Floor', 'Gelu', 'Greater', 'GreaterOrEqual', 'HardSigmoid', 'HardSwish',
  'Identity', 'IsInf', 'IsNaN', 'LeakyRelu', 'Less', 'LessOrEqual', 'Log', 'Max', 'Mean', 'Min', 'Mish', 'Mod', 'Mul',
  'Neg', 'Not', 'Or', 'PRelu', 'Pow', 'QuantizeLinear', 'Reciprocal', 'Relu', 'Round', 'Selu', 'Shrink', 'Sigmoid',
  'Sign', 'Sin', 'Sinh', 'Softplus', 'Softsign', 'Sqrt', 'Sub', 'Sum', 'Tan', 'Tanh', 'ThresholdedRelu', 'Where', 'Xor',
  // Shape-preserving ops that mix along other axes only: the followed axis keeps its place.
  'Softmax', 'LogSoftmax', 'Hardmax', 'LayerNormalization', 'LpNormalization', 'MeanVarianceNormalization',
  'CumSum', 'InstanceNormalization', 'GroupNormalization', 'BatchNormalization', 'RMSNormalization', 'LRN',
  'DynamicQuantizeLinear', 'Slice', 'Pad', 'Tile', 'Resize', 'Upsample', 'ReverseSequence', 'GatherElements',
  'ScatterElements', 'ScatterND', 'Trilu', 'Split', 'Concat', 'Compress',
  // onnxruntime's contrib ops of the same kind.
  'FastGelu', 'BiasGelu', 'QuickGelu', 'BiasAdd', 'SkipLayerNormalization', 'SkipSimplifiedLayerNormalization',
  'SimplifiedLayerNormalization', 'Attention', 'MultiHeadAttention', 'EmbedLayerNormalization', 'RotaryEmbedding',
]);

/** Conv-like: [N, C, spatial...] in and out; the channel axis is contracted. */
const CONV_LIKE = new Set(['Conv', 'ConvTranspose', 'ConvInteger', 'MaxPool', 'AveragePool', 'LpPool', 'QLinearConv']);
const MATMUL_LIKE = new Set(['MatMul', 'MatMulInteger', 'DynamicQuantizeMatMul', 'MatMulIntegerToFloat', 'QLinearMatMul']);

/**
 * Follows the seeded axes through the graph. Returns, for every value derived from a seeded
 * input's contents, where the axis sits. A reduction over the followed axis ends it (the
 * result is a statistic over that axis, not a value along it).
 */
export function trackAxis(graph: GraphFacts, seeds: Map<string, { axis: number; rank: number | null }>, k: GraphConstants): Map<string, AxisTrack> {
  const tracks = new Map<string, AxisTrack>();
  for (const [name, s] of seeds) tracks.set(name, { axis: s.axis, rank: s.rank, from: name });
  const declared = new Map(graph.inputs.map((v) => [v.name, v.shape ? v.shape.length : null]));
  const rankOf = (name: string): number | null => tracks.get(name)?.rank ?? k.ranks.get(name) ?? declared.get(name) ?? null;

  for (const n of graph.nodes) {
    const tracked = n.inputs.map((i) => (i ? tracks.get(i) : undefined));
    const first = tracked.find((t): t is AxisTrack => t !== undefined);
    const outer = subgraphReadsTracked(n, tracks);
    if (!first && !outer) continue;
    const from = first?.from ?? (outer as AxisTrack).from;
    if (CONTENT_FREE.has(n.opType)) continue;
    const set = (i: number, axis: number | null, rank: number | null) => {
      const o = n.outputs[i];
      if (o) tracks.set(o, { axis, rank, from });
    };
    const setAll = (axis: number | null, rank: number | null) => n.outputs.forEach((_, i) => set(i, axis, rank));
    if (!first) {
      setAll(null, null);
      continue;
    }
    const r = reductionOf(n, graph.opset, k);
    const t0 = tracked[r?.input ?? 0];
    if (r && r.reduces && t0) {
      const rank = t0.rank;
      const outRank = rank === null ? null : r.keepdims ? rank : r.axes.kind === 'list' ? rank - new Set(r.axes.axes.map((x) => norm(x, rank))).size : r.axes.kind === 'all' ? 0 : null;
      if (t0.axis === null) {
        set(0, null, outRank);
        continue;
      }
      const c = covers(r.axes, t0.axis, rank);
      if (c === true) continue; // a statistic over the followed axis
      if (c === null) {
        set(0, null, outRank);
        continue;
      }
      if (r.keepdims) set(0, t0.axis, outRank);
      else if (r.axes.kind === 'list') {
        const removed = r.axes.axes.map((x) => norm(x, rank));
        set(0, removed.some((x) => x === null) ? null : t0.axis - removed.filter((x) => (x as number) < (t0.axis as number)).length, outRank);
      } else set(0, null, outRank);
      continue;
    }
    const op = n.opType;
    if (ELEMENTWISE.has(op)) {
      const { axis, rank } = broadcastAxis(n, tracks, rankOf);
      // DynamicQuantizeLinear's scale and zero point are statistics over the whole tensor.
      if (op === 'DynamicQuantizeLinear') set(0, axis, rank);
      else setAll(axis, rank);
      continue;
    }
    if (op === 'Transpose') {
      const t = tracked[0];
      const perm = n.attributes.perm;
      if (!t || t.axis === null) set(0, null, t?.rank ?? null);
      else if (Array.isArray(perm)) set(0, (perm as number[]).indexOf(t.axis), perm.length);
      else set(0, t.rank !== null ? t.rank - 1 - t.axis : null, t.rank);
      continue;
    }
    if (op === 'Unsqueeze' || op === 'Squeeze') {
      const t = tracked[0];
      const axesList = Array.isArray(n.attributes.axes) ? (n.attributes.axes as number[]) : n.inputs[1] ? k.ints.get(n.inputs[1]) : undefined;
      if (!t || t.axis === null || !axesList) {
        set(0, null, null);
        continue;
      }
      if (op === 'Unsqueeze') {
        const outRank = t.rank === null ? null : t.rank + axesList.length;
        const inserted = axesList.map((x) => norm(x, outRank));
        if (inserted.some((x) => x === null)) set(0, null, outRank);
        else {
          const ins = new Set(inserted as number[]);
          let seen = -1;
          let pos = 0;
          for (; ; pos++) if (!ins.has(pos) && ++seen === t.axis) break;
          set(0, pos, outRank);
        }
      } else {
        const removed = axesList.map((x) => norm(x, t.rank));
        if (removed.some((x) => x === null) || removed.includes(t.axis)) set(0, null, null);
        else set(0, t.axis - removed.filter((x) => (x as number) < (t.axis as number)).length, t.rank === null ? null : t.rank - axesList.length);
      }
      continue;
    }
    if (op === 'Reshape' || op === 'Flatten') {
      const t = tracked[0];
      if (!t || t.axis === null) {
        set(0, null, null);
        continue;
      }
      if (op === 'Flatten') {
        const at = norm(typeof n.attributes.axis === 'number' ? n.attributes.axis : 1, t.rank);
        set(0, at !== null && t.axis < at ? t.axis : null, 2);
        continue;
      }
      const shape = n.inputs[1] ? k.ints.get(n.inputs[1]) : undefined;
      // Reshape never reorders data: an outermost axis stays outermost unless a leading 1 is added.
      if (!shape) set(0, t.axis === 0 ? 0 : null, null);
      else if (t.axis === 0) set(0, shape[0] === 1 ? null : 0, shape.length);
      else set(0, shape.slice(0, t.axis + 1).every((d) => d === 0) ? t.axis : null, shape.length);
      continue;
    }
    if (op === 'Expand') {
      const t = tracked[0];
      const shape = n.inputs[1] ? k.ints.get(n.inputs[1]) : undefined;
      if (!t || t.axis === null) set(0, null, null);
      else if (shape && t.rank !== null) set(0, t.axis + Math.max(0, shape.length - t.rank), Math.max(shape.length, t.rank));
      else set(0, t.axis, t.rank);
      continue;
    }
    if (MATMUL_LIKE.has(op)) {
      set(0, matmulAxis(n, tracks, rankOf), null);
      continue;
    }
    if (op === 'Gemm') {
      const ta = n.attributes.transA === 1;
      const tb = n.attributes.transB === 1;
      const a = tracked[0];
      const b = tracked[1];
      let axis: number | null = null;
      if (a && a.axis !== null) axis = a.axis === (ta ? 1 : 0) ? 0 : null;
      else if (b && b.axis !== null) axis = b.axis === (tb ? 0 : 1) ? 1 : null;
      set(0, axis, 2);
      continue;
    }
    if (CONV_LIKE.has(op)) {
      const t = tracked[0];
      set(0, t && t.axis !== null && t.axis !== 1 ? t.axis : null, t?.rank ?? null);
      continue;
    }
    if (op === 'GlobalAveragePool' || op === 'GlobalMaxPool' || op === 'GlobalLpPool') {
      const t = tracked[0];
      set(0, t && t.axis !== null && t.axis <= 1 ? t.axis : null, t?.rank ?? null);
      continue;
    }
    if (op === 'Gather') {
      set(0, gatherAxis(n, tracks, rankOf), null);
      continue;
    }
    if (op === 'LSTM' || op === 'GRU' || op === 'RNN') {
      const t = tracked[0];
      const layout = n.attributes.layout === 1 ? 1 : 0;
      const batchAt = layout === 1 ? 0 : 1;
      const seqAt = layout === 1 ? 1 : 0;
      if (!t || t.axis === null) setAll(null, null);
      else if (t.axis === batchAt) {
        set(0, layout === 1 ? 0 : 2, 4); // Y: [seq, dirs, batch, hidden] or [batch, seq, dirs, hidden]
        set(1, layout === 1 ? 0 : 1, 3); // Y_h, Y_c: [dirs, batch, hidden] or [batch, dirs, hidden]
        set(2, layout === 1 ? 0 : 1, 3);
      } else if (t.axis === seqAt) {
        set(0, layout === 1 ? 1 : 0, 4); // the final states summarise every step
      } else setAll(null, null);
      continue;
    }
    setAll(null, null);
  }
  return tracks;
}

/** Elementwise with broadcasting: positions align from the right, so a rank change shifts the front index. */
function broadcastAxis(n: NodeFacts, tracks: Map<string, AxisTrack>, rankOf: (name: string) => number | null): { axis: number | null; rank: number | null } {
  const data = n.opType === 'Split' || n.opType === 'Slice' || n.opType === 'Pad' || n.opType === 'Tile' || n.opType === 'Resize' || n.opType === 'Upsample' || n.opType === 'Compress' ? n.inputs.slice(0, 1) : n.inputs;
  const ranks = data.filter((i) => i).map(rankOf);
  const outRank = ranks.every((r) => r !== null) && ranks.length > 0 ? Math.max(...(ranks as number[])) : null;
  let axis: number | null | undefined;
  for (const name of data) {
    const t = name ? tracks.get(name) : undefined;
    if (!t || t.axis === null) continue;
    const at = outRank !== null && t.rank !== null ? t.axis + (outRank - t.rank) : t.axis;
    if (axis === undefined) axis = at;
    else if (axis !== at) return { axis: null, rank: outRank };
  }
  return { axis: axis ?? null, rank: outRank };
}

function matmulAxis(n: NodeFacts, tracks: Map<string, AxisTrack>, rankOf: (name: string) => number | null): number | null {
  const [an, bn] = n.inputs;
  const a = an ? tracks.get(an) : undefined;
  const b = bn ? tracks.get(bn) : undefined;
  const ra = an ? rankOf(an) : null;
  const rb = bn ? rankOf(bn) : null;
  const outRank = ra !== null && rb !== null ? Math.max(ra, rb) : null;
  let fromA: number | null | undefined;
  if (a) {
    // Axis 0 of A stays axis 0 unless A is a vector (rare for batched values): assumed when the rank is unknown.
    if (a.axis === 0 && ra === null) fromA = 0;
    else if (a.axis === null || ra === null || ra < 2 || a.axis === ra - 1) fromA = null;
    else fromA = outRank !== null ? a.axis + (outRank - ra) : a.axis;
  }
  let fromB: number | null | undefined;
  if (b) {
    if (b.axis === null || rb === null || rb < 2 || b.axis === rb - 2) fromB = null;
    else if (b.axis === rb - 1) fromB = outRank !== null ? outRank - 1 : null;
    else fromB = outRank !== null ? b.axis + (outRank - rb) : null;
  }
  // Both operands batched (q·kᵀ): the batch axes must agree, else both output axes scale.
  if (fromA !== undefined && fromB !== undefined) return fromA !== null && (fromB === null || fromB === fromA) ? fromA : null;
  return fromA ?? fromB ?? null;
}

function gatherAxis(n: NodeFacts, tracks: Map<string, AxisTrack>, rankOf: (name: string) => number | null): number | null {
  const [dn, ixn] = n.inputs;
  const d = dn ? tracks.get(dn) : undefined;
  const ix = ixn ? tracks.get(ixn) : undefined;
  const rd = dn ? rankOf(dn) : null;
  const ri = ixn ? rankOf(ixn) : null;
  const g = norm(typeof n.attributes.axis === 'number' ? n.attributes.axis : 0, rd);
  if (d && ix) return null;
  if (d) {
    if (d.axis === null || g === null || g === d.axis) return null;
    if (g > d.axis) return d.axis;
    return ri !== null ? d.axis + ri - 1 : null;
  }
  if (ix) return ix.axis !== null && g !== null ? g + ix.axis : null;
  return null;
}

/** A subgraph node (If/Loop/Scan) reading a followed value from the enclosing scope. */
function subgraphReadsTracked(n: NodeFacts, tracks: Map<string, AxisTrack>): AxisTrack | undefined {
  for (const name of outerReads(n)) {
    const t = tracks.get(name);
    if (t) return t;
  }
  return undefined;
}

/** Names a node's subgraphs read from enclosing scopes. */
export function outerReads(n: NodeFacts): string[] {
  const reads: string[] = [];
  for (const value of Object.values(n.attributes)) {
    for (const g of Array.isArray(value) ? value : [value]) {
      if (typeof g !== 'object' || g === null || (g as { kind?: string }).kind !== 'graph') continue;
      const body = g as { inputs: string[]; initializers: string[]; nodes: NodeFacts[] };
      const local = new Set([...body.inputs, ...body.initializers]);
      for (const inner of body.nodes) {
        for (const name of [...inner.inputs, ...outerReads(inner)]) if (name && !local.has(name)) reads.push(name);
        for (const o of inner.outputs) local.add(o);
      }
    }
  }
  return reads;
}
