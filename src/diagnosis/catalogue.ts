/**
 * The diagnosis catalogue: what in a graph makes a sample's output depend on its batch-mates or
 * on its padding, how to find it, and what to do about it. One table (CATALOGUE); a new kind is
 * one more entry. graphSuspects says what the graph alone shows; diagnose combines that with
 * what the check saw (its causes, the padding test, locate's first divergence).
 */
import { batchNormTrainingMode } from '../onnx/batchnorm';
import type { GraphFacts, NodeFacts, ValueFacts } from '../onnx/graph';
import { covers, reductionOf, trackAxis, type AxisTrack } from './axes';
import { readConstants, type GraphConstants } from './constants';
import { derivedFrom, maskAppliedTo, producersOf, reachingOutputs } from './flow';

export type DiagnosisKind = 'dynamic-quantization' | 'batchnorm-training' | 'batch-reduction' | 'unmasked-padding';

export interface Diagnosis {
  kind: DiagnosisKind;
  /** The nodes to look at, the one locate's first divergence names first. */
  nodes: string[];
  /** What is wrong, in words. */
  detail: string;
  /** What to do about it. */
  fix: string;
  /** True when what the check saw shows it (leakage for the batch kinds, padding for unmasked-padding). */
  confirmed: boolean;
}

/** What the graph alone shows. */
export interface Suspect {
  kind: DiagnosisKind;
  nodes: string[];
  /** The graph fact, in words. */
  detail: string;
  /**
   * False for a heuristic finding (a reduction over axis 0 of a value whose batch axis could
   * not be followed): reported only when the check saw leakage.
   */
  certain: boolean;
  /** For unmasked-padding: where the mask reaches. */
  mask?: MaskFacts;
}

/** Whether the mask input is applied before each attention Softmax and each pooling reduction. */
export interface MaskFacts {
  mask: string;
  attention: { node: string; op: string; masked: boolean }[];
  pooling: { node: string; op: string; masked: boolean }[];
}

export interface SuspectOptions {
  /** The model's bytes: needed to read constant axes inputs (Reduce from opset 18, Unsqueeze from 13). */
  modelBytes?: Uint8Array;
  /** Each batched input's batch axis (as the check found it); inputs not named have none. Default: see defaultBatchAxes. */
  batchAxes?: Record<string, number>;
  /** The attention-mask input, for unmasked-padding. */
  mask?: string | null;
  /** The mask's sequence axis (default 1 for a rank-2 mask, else its last axis). */
  seqAxis?: number;
  /** The outputs the check compared (default: every graph output): culprits must reach one of them. */
  outputs?: readonly string[];
}

/** What the check saw. */
export interface Seen {
  causes: readonly string[];
  /** idsChange: false where other ids in the pads changed nothing (their number moved it, not their ids). */
  padding?: { tested: boolean; failed: boolean; mask?: string | null; firstNode?: string | null; idsChange?: boolean };
  firstDivergence?: { node: string; op: string } | null;
  batchAxes?: Record<string, number>;
}

/** The facts every entry reads, computed once. */
export interface GraphContext {
  graph: GraphFacts;
  constants: GraphConstants;
  /** Every node, those inside If/Loop/Scan bodies included. */
  allNodes: NodeFacts[];
  /** Where the batch axis is in each value derived from a batched input. */
  batch: Map<string, AxisTrack>;
  /** Values whose contents depend on a batched input. */
  batched: Set<string>;
  producers: Map<string, NodeFacts>;
  /** Values some compared output (options.outputs, else any graph output) depends on. */
  needed: Set<string>;
  options: SuspectOptions;
}

export interface CatalogueEntry {
  kind: DiagnosisKind;
  /** What the graph alone shows. */
  find(ctx: GraphContext): Suspect[];
  /** The diagnoses these suspects make, given what the check saw ([] for none). */
  judge(suspects: Suspect[], seen: Seen, ctx: GraphContext): Diagnosis[];
}

// ---------------------------------------------------------------------------------------

const DQ_ROOTS = new Set(['DynamicQuantizeLinear', 'DynamicQuantizeMatMul', 'DynamicQuantizeLSTM']);
const DQ_CONSUMERS = new Set(['MatMulInteger', 'ConvInteger', 'MatMulIntegerToFloat']);

const leakageSeen = (seen: Seen): boolean => seen.causes.includes('leakage');

/**
 * Nodes in words: `ReduceMean 'a'`, `Softmax 'a', 'b'`, or, for many, how many of each op and
 * the first: `10 DynamicQuantizeLinear and 10 MatMulInteger nodes, the first '/a'`.
 */
function nodeList(nodes: readonly { name: string; opType: string }[]): string {
  const ops = [...new Set(nodes.map((n) => n.opType))];
  if (nodes.length <= 2 || (nodes.length <= 3 && ops.length === 1)) {
    return ops.length === 1 ? `${ops[0]} ${nodes.map((n) => `'${n.name}'`).join(', ')}` : nodes.map((n) => `${n.opType} '${n.name}'`).join(', ');
  }
  const counts = ops.map((op) => `${nodes.filter((n) => n.opType === op).length} ${op}`);
  const joined = counts.length > 1 ? `${counts.slice(0, -1).join(', ')} and ${counts[counts.length - 1]}` : counts[0];
  return `${joined} nodes, the first '${(nodes[0] as { name: string }).name}'`;
}

/** The catalogue, in the order diagnoses are listed when nothing else orders them. */
export const CATALOGUE: CatalogueEntry[] = [
  {
    kind: 'dynamic-quantization',
    find: dynamicQuantization,
    judge(suspects, seen, ctx) {
      const pads = padsInScale(seen, ctx);
      return suspects.map((s) => {
        const saw = leakageSeen(seen)
          ? 'the check saw this leakage, as expected by design'
          : 'the check saw no leakage from it here, but a batch-mate of larger magnitude than the probe changes the scale';
        return {
          kind: s.kind,
          nodes: s.nodes,
          detail: `${s.detail}; ${saw}${pads ? '; the scale is computed over the pad tokens too, so the padding a text gets changes its output' : ''}`,
          fix: `quantize statically, keep this layer in float, or embed one sample per batch${pads ? ' (alone and unpadded)' : ''}`,
          confirmed: leakageSeen(seen) || pads,
        };
      });
    },
  },
  {
    kind: 'batchnorm-training',
    find(ctx) {
      const found = ctx.allNodes
        // Inside a subgraph its outputs are not the graph's values: kept (reaching unknown).
        .filter((n) => n.opType === 'BatchNormalization' && n.domain === '' && (!ctx.graph.nodes.includes(n) || reaches(n, ctx)))
        .map((n) => ({ n, mode: batchNormTrainingMode(n, ctx.graph.opset) }))
        .filter((x) => x.mode.trainingMode);
      if (found.length === 0) return [];
      const reasons = [...new Set(found.map((x) => x.mode.trainingReason as string))];
      return [{
        kind: 'batchnorm-training',
        nodes: found.map((x) => x.n.name),
        detail: `${found.length === 1 ? 'a BatchNormalization runs' : `${found.length} BatchNormalizations run`} in training mode (${nodeList(found.map((x) => x.n))}; ${reasons.join('; ')}): each sample is normalised with its batch-mates' statistics`,
        certain: true,
      }];
    },
    judge(suspects, seen) {
      return suspects.map((s) => ({
        kind: s.kind,
        nodes: s.nodes,
        detail: `${s.detail}${leakageSeen(seen) ? '' : '; the check saw no leakage from it here'}`,
        fix: 'export the model after model.eval(), so BatchNormalization uses its stored running statistics (then check those with `batchproof stats`, and rewrite stale ones with `batchproof recalibrate`)',
        confirmed: leakageSeen(seen),
      }));
    },
  },
  {
    kind: 'batch-reduction',
    find(ctx) {
      const out: Suspect[] = [];
      for (const n of ctx.graph.nodes) {
        const r = reductionOf(n, ctx.graph.opset, ctx.constants);
        const input = r ? n.inputs[r.input] : undefined;
        const t = input ? ctx.batch.get(input) : undefined;
        // A reduction no output depends on cannot leak into one.
        if (!r || !t || !n.outputs.some((o) => o && ctx.needed.has(o))) continue;
        const verb = r.reduces ? 'reduces' : 'normalises';
        let detail: string | null = null;
        let certain = true;
        if (r.axes.kind === 'all') {
          detail = `${n.opType} '${n.name}' ${verb} over every axis of a value computed from input '${t.from}', the batch axis included`;
        } else if (t.axis !== null) {
          if (covers(r.axes, t.axis, t.rank) === true) {
            detail = `${n.opType} '${n.name}' ${verb} over the batch axis (axis ${t.axis}) of a value computed from input '${t.from}'`;
          }
        } else if (covers(r.axes, 0, t.rank) === true) {
          certain = false;
          detail = `${n.opType} '${n.name}' ${verb} over axis 0 of a value computed from input '${t.from}' (batchproof could not follow the batch axis to it; it starts at axis 0)`;
        }
        if (detail) out.push({ kind: 'batch-reduction', nodes: [n.name], detail: `${detail}: every sample's output depends on its batch-mates, as in embeddings centred by the batch mean`, certain });
      }
      return out;
    },
    judge(suspects, seen) {
      // A heuristic finding without leakage seen is most likely not over the batch: not reported.
      return suspects
        .filter((s) => s.certain || leakageSeen(seen))
        .map((s) => ({
          kind: s.kind,
          nodes: s.nodes,
          detail: `${s.detail}${leakageSeen(seen) ? '' : '; the check saw no leakage from it here'}`,
          fix: "compute the statistic over each sample's own axes, or once on reference data and store it as a constant",
          confirmed: leakageSeen(seen),
        }));
    },
  },
  {
    kind: 'unmasked-padding',
    find(ctx) {
      const mask = ctx.options.mask;
      if (!mask) return [];
      const facts = maskFacts(ctx, mask);
      if (!facts) return [];
      const unmasked = [...facts.attention, ...facts.pooling].filter((x) => !x.masked);
      return [{
        kind: 'unmasked-padding',
        nodes: unmasked.map((x) => x.node),
        detail: describeMask(facts),
        certain: unmasked.length > 0,
        mask: facts,
      }];
    },
    judge(suspects, seen, ctx) {
      const p = seen.padding;
      if (!p || !p.tested || !p.failed) return [];
      const s = suspects[0];
      // The mask is applied, and the pads get in through a dynamic quantization scale: that diagnosis says it.
      if (padsInScale(seen, ctx) && !(s && s.nodes.length > 0)) return [];
      const facts = s?.mask ?? null;
      const first = p.firstNode ? ctx.allNodes.find((n) => n.name === p.firstNode) : undefined;
      const nodes = [...new Set([...(p.firstNode ? [p.firstNode] : []), ...(s?.nodes ?? [])])];
      const counted = p.idsChange === false;
      const parts = [counted ? "pad tokens reach the output by their number, not their ids: a text's output changes with how many pads it gets (other ids in its pads change nothing)" : 'pad tokens reach the output: the outputs at real tokens change with the pad tokens'];
      if (p.firstNode) parts[0] += `, first at node '${p.firstNode}'${first ? ` (${first.opType})` : ''}`;
      if (!p.mask) parts.push('the model has no mask input, so pad tokens cannot be told from real ones');
      else if (facts) parts.push(describeMask(facts));
      const fixes: string[] = [];
      if (!p.mask) fixes.push('export the model with an attention_mask input and apply it in attention and pooling');
      else {
        if (facts?.attention.some((a) => !a.masked)) fixes.push('add the mask to the attention scores before the Softmax (a large negative value where the mask is 0)');
        if (facts?.pooling.some((a) => !a.masked)) fixes.push('pool with the mask (sum(hidden * mask) / sum(mask))');
        // The mask is applied to the values, but something divides or normalizes by the padded length.
        if (counted) fixes.unshift('divide by the number of real tokens (sum(hidden * mask) / sum(mask)), not by the padded length (a mean over every position)');
        if (fixes.length === 0) fixes.push('apply the mask wherever the model mixes positions (attention and pooling)');
      }
      return [{
        kind: 'unmasked-padding',
        nodes,
        detail: parts.join('; '),
        fix: `${fixes.join(', and ')}; until then, embed each text alone, unpadded`,
        confirmed: true,
      }];
    },
  },
];

// ---------------------------------------------------------------------------------------

/** Whether a compared output depends on one of the node's outputs. */
function reaches(n: NodeFacts, ctx: GraphContext): boolean {
  return n.outputs.some((o) => o && ctx.needed.has(o));
}

/** Scales computed at run time from a batched value: one scale for the whole batch. */
function dynamicQuantization(ctx: GraphContext): Suspect[] {
  const roots = ctx.graph.nodes.filter((n) => DQ_ROOTS.has(n.opType) && n.inputs[0] && ctx.batched.has(n.inputs[0]) && reaches(n, ctx));
  if (roots.length === 0) return [];
  const downstream = derivedFrom(ctx.graph, roots.flatMap((n) => n.outputs.filter((o) => o)));
  const consumers = ctx.graph.nodes.filter((n) => DQ_CONSUMERS.has(n.opType) && n.inputs.some((i) => i && downstream.has(i)) && reaches(n, ctx));
  const nodes = ctx.graph.nodes.filter((n) => roots.includes(n) || consumers.includes(n));
  return [{
    kind: 'dynamic-quantization',
    nodes: nodes.map((n) => n.name),
    detail: `dynamic quantization (${nodeList(nodes)}): one quantization scale per tensor, over the whole batch: outputs depend on the batch-mates by design`,
    certain: true,
  }];
}

/**
 * Padding failed and a dynamic quantization scale explains it: the first node that changes
 * with the pads is one of its nodes, or (no first node known) the mask is applied before
 * every attention and pooling found.
 */
function padsInScale(seen: Seen, ctx: GraphContext): boolean {
  const p = seen.padding;
  if (!p || !p.tested || !p.failed) return false;
  const dq = dynamicQuantization(ctx)[0];
  if (!dq) return false;
  if (p.firstNode) return dq.nodes.includes(p.firstNode);
  if (!p.mask) return false;
  const facts = maskFacts(ctx, p.mask);
  return !!facts && [...facts.attention, ...facts.pooling].every((x) => x.masked);
}

const BATCH_NAME = /^(n|b|bs|batch|batch_size)$|batch/i;

/**
 * Each input's batch axis when the caller gives none: the first symbolic dim whose name says
 * batch, else the first symbolic dim, else axis 0; scalars have none.
 */
export function defaultBatchAxes(inputs: readonly ValueFacts[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of inputs) {
    if (v.shape && v.shape.length === 0) continue;
    const shape = v.shape ?? [];
    const named = shape.findIndex((d) => typeof d === 'string' && BATCH_NAME.test(d));
    const symbolic = shape.findIndex((d) => typeof d === 'string');
    out[v.name] = named >= 0 ? named : symbolic >= 0 ? symbolic : 0;
  }
  return out;
}

/** Every node of the graph and of its subgraphs. */
function allNodesOf(nodes: readonly NodeFacts[]): NodeFacts[] {
  const out: NodeFacts[] = [];
  for (const n of nodes) {
    out.push(n);
    for (const value of Object.values(n.attributes)) {
      for (const g of Array.isArray(value) ? value : [value]) {
        if (typeof g === 'object' && g !== null && (g as { kind?: string }).kind === 'graph') out.push(...allNodesOf((g as { nodes: NodeFacts[] }).nodes));
      }
    }
  }
  return out;
}

export function graphContext(graph: GraphFacts, options: SuspectOptions = {}): GraphContext {
  const constants = readConstants(graph, options.modelBytes);
  const axes = options.batchAxes ?? defaultBatchAxes(graph.inputs);
  const seeds = new Map<string, { axis: number; rank: number | null }>();
  for (const v of graph.inputs) {
    const axis = axes[v.name];
    if (typeof axis === 'number' && axis >= 0) seeds.set(v.name, { axis, rank: v.shape ? v.shape.length : null });
  }
  return {
    graph,
    constants,
    allNodes: allNodesOf(graph.nodes),
    batch: trackAxis(graph, seeds, constants),
    batched: derivedFrom(graph, seeds.keys()),
    producers: producersOf(graph),
    needed: reachingOutputs(graph, options.outputs),
    options,
  };
}

/** What the graph alone shows, every catalogue entry in turn (unmasked-padding needs `options.mask`). */
export function graphSuspects(graph: GraphFacts, options: SuspectOptions = {}): Suspect[] {
  const ctx = graphContext(graph, options);
  return CATALOGUE.flatMap((e) => e.find(ctx)).filter((s) => s.certain);
}

/**
 * The diagnoses: graph suspects confirmed (or not) by what the check saw. When locate's first
 * divergence (else padding's first node) names one of a diagnosis' nodes, that node comes
 * first and that diagnosis leads. `options.modelBytes` lets constant axes inputs be read
 * (Reduce from opset 18, Unsqueeze from 13): pass it when you have it.
 */
export function diagnose(graph: GraphFacts, seen: Seen, options: Omit<SuspectOptions, 'batchAxes' | 'mask'> = {}): Diagnosis[] {
  const ctx = graphContext(graph, { ...options, batchAxes: seen.batchAxes, mask: seen.padding?.mask ?? null });
  const found = CATALOGUE.flatMap((e) => e.judge(e.find(ctx), seen, ctx));
  // Locate's first divergence orders the list; without one, the first node padding changes.
  const anchor = seen.firstDivergence?.node ?? (seen.padding?.failed ? seen.padding.firstNode : null);
  if (!anchor) return found;
  const named = found.filter((d) => d.nodes.includes(anchor));
  for (const d of named) d.nodes = [anchor, ...d.nodes.filter((x) => x !== anchor)];
  return [...named, ...found.filter((d) => !named.includes(d))];
}

// ---------------------------------------------------------------------------------------
// unmasked-padding's graph part

const ATTENTION_CONTRIB = new Set(['Attention', 'MultiHeadAttention', 'GroupQueryAttention', 'PackedAttention']);

/**
 * Where the mask is applied: every attention Softmax (and fused attention node) over the
 * tokens' values, and every pooling reduction over the sequence axis that a graph output
 * depends on. Null when the mask is not a graph input.
 */
export function maskFacts(ctx: GraphContext, mask: string): MaskFacts | null {
  const { graph } = ctx;
  const maskInput = graph.inputs.find((v) => v.name === mask);
  if (!maskInput) return null;
  const fromMask = derivedFrom(graph, [mask]);
  const tokens = derivedFrom(graph, graph.inputs.filter((v) => v.name !== mask).map((v) => v.name));
  const maskOnly = new Set([...fromMask].filter((v) => !tokens.has(v)));
  const applied = (value: string | undefined) => !!value && maskAppliedTo(value, ctx.producers, maskOnly);
  const needed = ctx.needed;

  const attention: MaskFacts['attention'] = [];
  for (const n of graph.nodes) {
    if (!n.outputs.some((o) => o && needed.has(o))) continue;
    if (n.opType === 'Softmax' && n.domain === '' && n.inputs[0] && tokens.has(n.inputs[0])) {
      attention.push({ node: n.name, op: n.opType, masked: applied(n.inputs[0]) });
    } else if ((n.opType === 'Attention' && (n.domain === '' || n.domain === 'ai.onnx')) || (ATTENTION_CONTRIB.has(n.opType) && n.domain === 'com.microsoft')) {
      // Fused attention takes the mask as an input (mask_index, key_padding_mask, attn_mask).
      attention.push({ node: n.name, op: n.opType, masked: n.inputs.slice(3).some((i) => i && fromMask.has(i)) });
    }
  }

  // The sequence axis, followed from every input that shares the mask's sequence dim.
  const rank = maskInput.shape ? maskInput.shape.length : 2;
  const seqAxis = ctx.options.seqAxis ?? (rank >= 2 ? 1 : Math.max(0, rank - 1));
  const symbol = maskInput.shape?.[seqAxis];
  const seeds = new Map<string, { axis: number; rank: number | null }>();
  for (const v of graph.inputs) {
    const at = typeof symbol === 'string' ? (v.shape ?? []).indexOf(symbol) : v.shape?.length === rank ? seqAxis : -1;
    if (at >= 0) seeds.set(v.name, { axis: at, rank: v.shape ? v.shape.length : null });
  }
  const seq = trackAxis(graph, seeds, ctx.constants);
  const pooling: MaskFacts['pooling'] = [];
  for (const n of graph.nodes) {
    const r = reductionOf(n, graph.opset, ctx.constants);
    const input = r ? n.inputs[r.input] : undefined;
    if (!r || !r.reduces || !input || !tokens.has(input) || r.axes.kind === 'all' || !n.outputs.some((o) => o && needed.has(o))) continue;
    // Not followed from the sequence inputs (after pooling, say): not a reduction over the sequence.
    const t = seq.get(input);
    if (!t) continue;
    const overSeq = t.axis !== null
      ? covers(r.axes, t.axis, t.rank) === true
      // The sequence axis was lost on the way: axis 1 (as in [batch, sequence, dim]), not the last.
      : covers(r.axes, 1, t.rank) === true && (t.rank === null ? !(r.axes.kind === 'list' && r.axes.axes.includes(-1)) : covers(r.axes, t.rank - 1, t.rank) === false);
    if (overSeq) pooling.push({ node: n.name, op: n.opType, masked: applied(input) });
  }
  return { mask, attention, pooling };
}

function describeMask(f: MaskFacts): string {
  const parts: string[] = [];
  const unmaskedAttn = f.attention.filter((a) => !a.masked);
  if (f.attention.length === 0) parts.push(`no attention Softmax over the tokens was found`);
  else if (unmaskedAttn.length === 0) parts.push(`the mask '${f.mask}' reaches ${f.attention.length === 1 ? 'the attention' : `every attention (${f.attention.length})`}`);
  else parts.push(`the mask '${f.mask}' does not reach attention at ${nodeList(unmaskedAttn.map((a) => ({ name: a.node, opType: a.op })))}${unmaskedAttn.length < f.attention.length ? ` (it reaches ${f.attention.length - unmaskedAttn.length} other)` : ''}`);
  const unmaskedPool = f.pooling.filter((p) => !p.masked);
  const it = f.attention.length === 0 ? `the mask '${f.mask}'` : 'it';
  if (f.pooling.length === 0) parts.push('no pooling reduction over the sequence was found');
  else if (unmaskedPool.length === 0) parts.push(`the pooling ${nodeList(f.pooling.map((p) => ({ name: p.node, opType: p.op })))} applies ${it}`);
  else parts.push(`the pooling ${nodeList(unmaskedPool.map((p) => ({ name: p.node, opType: p.op })))} ignores ${it}`);
  return parts.join(', and ');
}
