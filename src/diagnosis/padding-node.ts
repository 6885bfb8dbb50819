/**
 * firstPaddingNode: the first node, in topological order, whose values at the real tokens
 * change when only the pad tokens change. The model is run with every intermediate value
 * exposed (locate's splicing, onnx/instrument.ts) on two feeds that differ only in the token
 * ids at pad positions (mask 0 there); a model that honours its mask gives equal values at the
 * real positions everywhere, one that does not shows where the pads get in.
 */
import type * as ort from 'onnxruntime-node';
import { compareArrays, type Comparison } from '../compare/metrics';
import { resolveTolerance, type ResolvedTolerance, type Tolerance } from '../compare/tolerance';
import { allocate, type TypedArray } from '../inputs/arrays';
import { openModelBytes, type ModelHandle } from '../runtime/handle';
import type { RunLogBook } from '../runtime/runner';
import { type SessionSettings } from '../runtime/settings';
import { readModel } from '../onnx/graph';
import { instrumentModel } from '../onnx/instrument';
import type { ModelStore } from '../onnx/wire';
import { derivedFrom, reachingOutputs } from './flow';
import { sameTensor } from '../compare/metrics';

export interface PaddingNodeOptions {
  /** Real tokens in each batch row of the feeds (one number: every row). */
  lengths: number | readonly number[];
  /** The feeds' sequence length (real tokens plus pads). */
  paddedLength: number;
  /** Where the pads are (default 'right': real tokens are [0, length)). */
  side?: 'left' | 'right';
  tolerance?: Tolerance;
  /**
   * Per-output tolerances (check's outputTolerances): an output fails under its own; values are
   * searched only where they reach an output that fails, under that output's tolerance.
   */
  outputTolerances?: Record<string, Tolerance>;
  settings?: SessionSettings;
  /**
   * The plain model's session, for the guard (the instrumented model must compute the same final
   * outputs); without it one is opened from `modelBytes`.
   */
  plain?: ModelHandle;
  /** The model, as named in messages. */
  source?: string;
  /** Where external data files live. */
  externalDir?: string;
  /** modelBytes' store, so the instrumented model is appended in place (no copy). */
  store?: ModelStore;
  /** The outputs compared (default: every graph output): only values that reach one are searched. */
  outputs?: readonly string[];
  /** Where the two runs are counted and timed. */
  log?: RunLogBook;
}

export interface PaddingDivergence {
  node: string;
  op: string;
  output: string;
  maxAbs: number;
  /** The value's axes cut to the real positions (those of the padded length); [] when compared whole. */
  axes: number[];
}

export interface PaddingNodeReport {
  /** The first node whose real positions differ beyond the tolerance; null when none does. */
  first: PaddingDivergence | null;
  /** The first node whose real positions are not bitwise equal. */
  firstBitwise: PaddingDivergence | null;
  /** Values compared, and values skipped (not tensors, or shapes that differ between the two runs). */
  compared: number;
  skipped: number;
  /** Each compared node's largest difference at the real positions, in topological order (locate's profile). */
  profile: { node: string; op: string; maxAbs: number }[];
  /**
   * Whether the instrumented model's final outputs equal the plain model's on both feeds, and the
   * optimization level the search ran with ('disabled' when they did not), as locate's guard.
   */
  guard: { equal: boolean; optimization: string; detail: string | null };
  notes: string[];
}

/**
 * Runs the model on `feedsA` and `feedsB` (the same but for the ids at pad positions) with
 * every value derived from the inputs that differ exposed, and compares each value at the real
 * positions. Values with an axis of the padded length are cut to the real positions along every
 * such axis (per row where axis 0 is the batch); values without one (pooled) are compared whole.
 */
export async function firstPaddingNode(
  modelBytes: Uint8Array,
  feedsA: Record<string, ort.Tensor>,
  feedsB: Record<string, ort.Tensor>,
  options: PaddingNodeOptions,
): Promise<PaddingNodeReport> {
  const source = options.source ?? '<bytes>';
  const { model, graph } = readModel(modelBytes, source);
  const L = options.paddedLength;
  // A fixed size equal to the padded length (a hidden size, say) makes "the axis of length L" ambiguous.
  const fixedSizes = new Set<number>([
    ...[...graph.inputs, ...graph.outputs].flatMap((v) => (v.shape ?? []).filter((d): d is number => typeof d === 'number')),
    ...(model.graph?.initializer ?? []).flatMap((t) => t.dims.map(Number)),
  ]);
  const changed = Object.keys(feedsA).filter((name) => {
    const b = feedsB[name];
    return !b || !sameTensor(feedsA[name] as ort.Tensor, b);
  });
  const notes: string[] = [];
  const settings = options.settings ?? {};
  let optimization = settings.optimization ?? 'all';
  const empty: PaddingNodeReport = { first: null, firstBitwise: null, compared: 0, skipped: 0, profile: [], guard: { equal: true, optimization, detail: null }, notes };
  if (changed.length === 0) {
    notes.push('the two feeds are equal: nothing can differ');
    return empty;
  }
  // A value no compared output depends on cannot be where the pads reach it.
  const reaching = reachingOutputs(graph, options.outputs);
  const live = new Set([...derivedFrom(graph, changed)].filter((v) => reaching.has(v)));
  const finalOutputs = new Set(graph.outputs.map((o) => o.name));
  const watched = graph.nodes.flatMap((n) => n.outputs.filter((o) => o && live.has(o)).map((o) => ({ node: n.name, op: n.opType, output: o })));
  // The plain session first: with a store, instrumenting appends to the model's own buffer.
  const ownPlain = options.plain ? null : await openModelBytes(modelBytes, settings, { label: source, externalDir: options.externalDir, graphFrom: null });
  const plain = (options.plain ?? ownPlain) as ModelHandle;
  const instrumented = instrumentModel(modelBytes, { outputs: watched.map((w) => w.output).filter((o) => !finalOutputs.has(o)) }, { source, store: options.store });
  let runner: ModelHandle | null = null;
  const guard: PaddingNodeReport['guard'] = { equal: true, optimization, detail: null };
  try {
    // The rewritten bytes change back once onnxruntime has read them: no graph read from them.
    const open = (s: SessionSettings) => openModelBytes(instrumented.bytes, s, { label: source, externalDir: options.externalDir, graphFrom: null });
    runner = await open(settings);
    // The guard: exposing values can change which kernels onnxruntime fuses, and then the
    // search would compare values the plain model never computes.
    const names = [...finalOutputs];
    for (const feeds of [feedsA, feedsB]) {
      const rows = Object.values(feeds)[0]?.dims[0] ?? 1;
      const want = await plain.run(feeds, names, { rows, purpose: 'guard' });
      const got = await runner.run(feeds, names, { rows, purpose: 'guard' });
      const differs = names.filter((n) => !sameTensor(want[n] as ort.Tensor, got[n] as ort.Tensor));
      if (differs.length > 0) {
        guard.equal = false;
        guard.detail = `with every intermediate exposed, the final output${differs.length > 1 ? 's' : ''} ${differs.map((d) => `'${d}'`).join(', ')} ${differs.length > 1 ? 'differ' : 'differs'} from the plain model's on the same inputs (exposing values changes which kernels onnxruntime fuses), so the search ran with graph optimization disabled`;
        break;
      }
    }
    if (!guard.equal && optimization !== 'disabled') {
      await runner.close();
      runner = null;
      optimization = 'disabled';
      guard.optimization = optimization;
      runner = await open({ ...settings, optimization });
      notes.push(guard.detail as string);
    }
  } catch (e) {
    await runner?.close();
    throw e;
  } finally {
    instrumented.release();
    await ownPlain?.close();
  }
  try {
    const isTensor = new Set(runner.outputs.filter((m) => m.dtype !== 'non-tensor').map((m) => m.name));
    const fetch = watched.filter((w) => isTensor.has(w.output));
    const rows = Object.values(feedsA)[0]?.dims[0] ?? 1;
    const run = (feeds: Record<string, ort.Tensor>) =>
      runner.run(feeds, fetch.map((w) => w.output), {
        rows,
        purpose: 'pad-ids',
        log: options.log,
        failure: (reason) => `${source}: onnxruntime failed on the instrumented model (${reason}); check the inputs`,
      });
    const a = await run(feedsA);
    const b = await run(feedsB);
    const lengths = typeof options.lengths === 'number' ? Array.from({ length: rows }, () => options.lengths as number) : [...options.lengths];
    const side = options.side ?? 'right';
    const tolerances = new Map<string, ResolvedTolerance>();
    const toleranceOf = (spec: Tolerance | undefined, dtype: string): ResolvedTolerance => {
      const key = `${JSON.stringify(spec ?? null)} ${dtype}`;
      if (!tolerances.has(key)) tolerances.set(key, resolveTolerance(spec, dtype));
      return tolerances.get(key) as ResolvedTolerance;
    };
    const specOf = (output: string) => options.outputTolerances?.[output] ?? options.tolerance;
    let compared = 0;
    let skipped = 0;
    let first: PaddingDivergence | null = null;
    let firstBitwise: PaddingDivergence | null = null;
    const profile: PaddingNodeReport['profile'] = [];
    type Watched = (typeof fetch)[number];
    /** The value at the real positions in both runs, or null where it cannot be compared. */
    const cutPair = (w: Watched): { a: TypedArray; b: TypedArray; dtype: string; axes: number[] } | null => {
      const ta = a[w.output] as ort.Tensor | undefined;
      const tb = b[w.output] as ort.Tensor | undefined;
      if (!ta || !tb || ta.type !== tb.type || ta.type === 'string' || ta.dims.join() !== tb.dims.join()) return null;
      const dims = ta.dims as readonly number[];
      // Every axis of the padded length is cut (not axis 0 when it holds the batch rows); a
      // second one is usually attention's key axis, but it may be a feature axis of the same
      // size: cutting it too only compares less, it never reports a pad as a real token.
      const axes = dims.map((d, i) => (d === L && !(i === 0 && dims.length > 1 && d === lengths.length) ? i : -1)).filter((i) => i >= 0);
      const perRow = dims.length > 1 && dims[0] === lengths.length && !axes.includes(0);
      const realOf = (len: number) => Array.from({ length: len }, (_, k) => (side === 'right' ? k : L - len + k));
      const keep = (row: number | null): number[][] =>
        dims.map((d, i) => {
          if (axes.includes(i)) return realOf(row === null ? Math.min(...lengths) : (lengths[row] as number));
          if (row !== null && i === 0) return [row];
          return Array.from({ length: d }, (_, k) => k);
        });
      const cut = (t: ort.Tensor): TypedArray => {
        if (axes.length === 0) return t.data as TypedArray;
        const parts = perRow ? lengths.map((_, r) => pick(t.data as TypedArray, dims, keep(r), t.type)) : [pick(t.data as TypedArray, dims, keep(null), t.type)];
        return concat(parts, t.type);
      };
      return { a: cut(ta), b: cut(tb), dtype: ta.type, axes };
    };
    // The compared outputs that fail under their own tolerance (as the check compares them); a
    // value diverges only where it reaches one of them, beyond the tolerance of each it reaches.
    const comparedOutputs = options.outputs ?? [...finalOutputs];
    const failing = fetch.filter((w) => comparedOutputs.includes(w.output)).filter((w) => {
      const x = cutPair(w);
      return x !== null && !compareArrays(x.a, x.b, x.dtype, toleranceOf(specOf(w.output), x.dtype)).pass;
    }).map((w) => w.output);
    const reachesFailing = new Map(failing.map((o) => [o, reachingOutputs(graph, [o])]));
    for (const w of fetch) {
      const x = cutPair(w);
      if (!x) {
        skipped++;
        continue;
      }
      compared++;
      const specs = failing.filter((o) => reachesFailing.get(o)?.has(w.output)).map(specOf);
      const c: Comparison = compareArrays(x.a, x.b, x.dtype, toleranceOf(specs[0] ?? options.tolerance, x.dtype));
      const at = { node: w.node, op: w.op, output: w.output, maxAbs: c.maxAbs, axes: x.axes };
      // A node's outputs are consecutive: one entry per node, their largest.
      const last = profile[profile.length - 1];
      if (last && last.node === w.node) last.maxAbs = Math.max(last.maxAbs, c.maxAbs);
      else profile.push({ node: w.node, op: w.op, maxAbs: c.maxAbs });
      if (!c.bitExact && !firstBitwise) firstBitwise = at;
      if (!first && specs.length > 0 && !c.pass && specs.slice(1).every((spec) => !compareArrays(x.a, x.b, x.dtype, toleranceOf(spec, x.dtype)).pass)) first = at;
    }
    if (fixedSizes.has(L)) {
      notes.push(`the padded length ${L} is also a fixed size in the model (a hidden size, say): every axis of length ${L} was cut to the real positions, so some values were compared on fewer features than they have; pad to another length for a full comparison`);
    }
    return { first, firstBitwise, compared, skipped, profile, guard, notes };
  } finally {
    await (runner as ModelHandle).close();
  }
}

/** The elements at the given indices along every axis (a cartesian selection), in row-major order. */
function pick(data: TypedArray, dims: readonly number[], keep: number[][], dtype: string): TypedArray {
  const strides = dims.map((_, i) => dims.slice(i + 1).reduce((p, d) => p * d, 1));
  const count = keep.reduce((p, k) => p * k.length, 1);
  const out = allocate(dtype, count) as unknown as { [i: number]: number | bigint };
  const src = data as unknown as { [i: number]: number | bigint };
  let o = 0;
  const walk = (axis: number, offset: number) => {
    if (axis === dims.length) {
      out[o++] = src[offset] as number;
      return;
    }
    const stride = strides[axis] as number;
    for (const k of keep[axis] as number[]) walk(axis + 1, offset + k * stride);
  };
  walk(0, 0);
  return out as unknown as TypedArray;
}

function concat(parts: TypedArray[], dtype: string): TypedArray {
  if (parts.length === 1) return parts[0] as TypedArray;
  const out = allocate(dtype, parts.reduce((n, p) => n + p.length, 0)) as unknown as { set(a: ArrayLike<unknown>, at: number): void };
  let at = 0;
  for (const p of parts) {
    out.set(p as unknown as ArrayLike<unknown>, at);
    at += p.length;
  }
  return out as unknown as TypedArray;
}
