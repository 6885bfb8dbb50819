/**
 * Which values depend on which: content dependence (a value read only through Shape or Size
 * does not count: its dims are not its contents), the values that reach a graph output, and
 * where a mask is applied to the values it should hide.
 */
import type { GraphFacts, NodeFacts } from '../onnx/graph';
import { outerReads, SHAPE_OPS } from './axes';

/** Values whose contents depend on the contents of `sources`, the sources included. */
export function derivedFrom(graph: GraphFacts, sources: Iterable<string>): Set<string> {
  const live = new Set<string>(sources);
  for (const n of graph.nodes) {
    if (SHAPE_OPS.has(n.opType)) continue;
    if (![...n.inputs, ...outerReads(n)].some((i) => i && live.has(i))) continue;
    for (const o of n.outputs) if (o) live.add(o);
  }
  return live;
}

/**
 * Values some graph output depends on (by content or by shape); with `outputs`, only those
 * outputs count (the ones a check compares: a node feeding only another output cannot explain them).
 */
export function reachingOutputs(graph: GraphFacts, outputs?: readonly string[]): Set<string> {
  const needed = new Set(outputs ?? graph.outputs.map((o) => o.name));
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const n = graph.nodes[i] as NodeFacts;
    if (!n.outputs.some((o) => o && needed.has(o))) continue;
    for (const name of [...n.inputs, ...outerReads(n)]) if (name) needed.add(name);
  }
  return needed;
}

/** Ops a mask is applied through before attention's Softmax or a pooling reduction. */
const LOCAL_OPS = new Set([
  'Add', 'Sub', 'Mul', 'Div', 'Where', 'Cast', 'CastLike', 'Max', 'Min', 'Clip', 'Neg', 'Not', 'Equal',
  'Reshape', 'Transpose', 'Unsqueeze', 'Squeeze', 'Expand', 'Identity', 'Dropout',
]);
/** How far back from the Softmax or the reduction the mask may be applied (nodes). */
const LOCAL_DEPTH = 6;

/**
 * Whether a mask-only value (derived from the mask and from no other input) is combined into
 * `value` within a few pointwise ops before it is used: how a mask is applied (scores + bias,
 * Where(mask, scores, -inf), hidden * mask). Stops at anything that mixes positions
 * (MatMul, reductions, normalisations), so a mask applied in an earlier layer does not count.
 */
export function maskAppliedTo(value: string, producers: Map<string, NodeFacts>, maskOnly: Set<string>): boolean {
  let frontier = [value];
  const seen = new Set<string>();
  for (let depth = 0; depth < LOCAL_DEPTH && frontier.length > 0; depth++) {
    const next: string[] = [];
    for (const v of frontier) {
      const n = producers.get(v);
      if (!n || seen.has(n.name) || !LOCAL_OPS.has(n.opType) || (n.domain !== '' && n.domain !== 'ai.onnx')) continue;
      seen.add(n.name);
      if (n.inputs.some((i) => i && maskOnly.has(i))) return true;
      next.push(...n.inputs.filter((i) => i));
    }
    frontier = next;
  }
  return false;
}

export function producersOf(graph: GraphFacts): Map<string, NodeFacts> {
  const m = new Map<string, NodeFacts>();
  for (const n of graph.nodes) for (const o of n.outputs) if (o) m.set(o, n);
  return m;
}

/** Ops that carry a value on unchanged but for its dims or dtype. */
const CARRY_OPS = new Set(['Cast', 'CastLike', 'Reshape', 'Unsqueeze', 'Squeeze', 'Expand', 'Identity', 'Transpose', 'Flatten']);

/**
 * Whether a float `input` is an additive mask (0 on tokens, a large negative number on pads):
 * every use of it, through casts and reshapes, is an Add. A 1/0 mask is used otherwise:
 * multiplied in, subtracted from 1, compared, selected with.
 */
export function addedAsIs(graph: GraphFacts, input: string): boolean {
  const consumers = new Map<string, NodeFacts[]>();
  for (const n of graph.nodes) for (const i of n.inputs) if (i) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  let added = false;
  const seen = new Set<string>();
  const work = [input];
  while (work.length > 0) {
    const value = work.pop() as string;
    if (seen.has(value)) continue;
    seen.add(value);
    for (const n of consumers.get(value) ?? []) {
      if (SHAPE_OPS.has(n.opType)) continue; // its dims only
      if (n.domain !== '' && n.domain !== 'ai.onnx') return false;
      if (n.opType === 'Add') added = true;
      else if (CARRY_OPS.has(n.opType) && n.inputs[0] === value) work.push(...n.outputs.filter((o) => o));
      else return false;
    }
  }
  return added;
}
