/**
 * locateDivergence: the first node, in topological order, whose output for a probe sample
 * differs between two runs that should agree: the reference (the probe alone) and a batch, or,
 * for leakage, two batches of the same size that differ only in the batch-mates (or, where
 * those agree within the tolerance, another pair that fails in the check: see failingChoice).
 *
 * Every intermediate value is exposed as a graph output by splicing the model's bytes (the
 * weights are not decoded or copied, see onnx/instrument.ts). Runs are made one at a time and
 * only the probe's rows of each value are kept. A guard checks that the instrumented model's
 * final outputs equal the plain model's on the same inputs: exposing values can change which
 * fusions onnxruntime applies, and then the search runs with graph optimization disabled.
 */
import type * as ort from 'onnxruntime-node';
import { compareArrays, sameTensor } from '../compare/metrics';
import { describeTolerance, resolveTolerance, type ResolvedTolerance } from '../compare/tolerance';
import { BadInputError } from '../errors';
import { fingerprintFor, type Fingerprint } from '../runtime/fingerprint';
import { takeRows, type TypedArray } from '../inputs/arrays';
import { checkBatchInvariance, padIdFeeds, prepareCheck, resolveTolerances, selectOutputs, wrongSide, type CheckOptions } from '../invariance/check';
import type { Tolerance } from '../compare/tolerance';
import { OUTLIER_SCALE } from '../invariance/outlier';
import { reachingOutputs } from '../diagnosis/flow';
import { outerReads } from '../diagnosis/axes';
import type { Plan, PlannedRun, RunPurpose } from '../invariance/plan';
import type { Cause, InvarianceReport } from '../invariance/report';
import { feedsFor } from '../invariance/run';
import { openModelBytes, type ModelHandle, type ModelSource } from '../runtime/handle';
import { RunLogBook } from '../runtime/runner';
import type { SessionSettings } from '../runtime/settings';
import { readModel, type GraphFacts } from '../onnx/graph';
import { instrumentModel } from '../onnx/instrument';
import { hasExternalData, modelBytes } from '../runtime/model-bytes';
import { checkExternalFiles } from '../onnx/tensor';
import { INPUT_OPTION_KEYS, PLAN_OPTION_KEYS, validateOptions, SESSION_OPTION_KEYS, TOLERANCE_OPTION_KEYS } from '../options';
import { num } from '../report/format';
import { assertExposedFits } from '../inputs/memory';
import { sessionSettings } from '../stats/check';
import { tool } from '../version';
import type { ReportEnvelope, ReportTiming } from '../report/envelope';
import { now } from '../runtime/clock';

/** Options of locateDivergence: those of checkBatchInvariance, plus a report from it to skip running the check again. */
export interface LocateOptions extends CheckOptions {
  /**
   * A batch-invariance report of this model with these options: where it failed tells which
   * runs to compare, so the sweep is not run again (toBeBatchInvariant passes its own).
   */
  report?: InvarianceReport;
}

/** Every option locateDivergence takes (CheckOptions and `report`); any other key is a BadInputError. */
export const LOCATE_OPTION_KEYS = [
  ...SESSION_OPTION_KEYS,
  ...INPUT_OPTION_KEYS,
  ...TOLERANCE_OPTION_KEYS,
  ...PLAN_OPTION_KEYS,
  'budget',
  'onProgress',
  'report',
] as const;

/**
 * The first node whose output for the probe differs beyond the tolerance; for nondeterminism
 * (the same batch run twice), the node where the noise starts (its inputs equal in both runs).
 */
export interface Divergence {
  node: string;
  op: string;
  /** The node's output that differs. */
  output: string;
  /** Largest absolute difference in the probe's rows of that output. */
  maxAbs: number;
  cause: Cause;
}

/** What locateDivergence returns and `batchproof locate --json` prints. */
export interface LocateReport extends ReportEnvelope<'locate'> {
  model: { path: string };
  fingerprint: Fingerprint;
  /** Null when no node's output differs beyond the tolerance. */
  firstDivergence: Divergence | null;
  /** The first node whose output is not bitwise equal (it may be within the tolerance). */
  firstBitwise: (Omit<Divergence, 'cause'>) | null;
  /** The two runs compared, or null when the model was invariant. */
  compared: { cause: Cause; batchSize: number; probe: number; runs: [RunPurpose, RunPurpose]; positions: [number, number] } | null;
  /** The batch-invariance result the search started from. */
  check: { verdict: InvarianceReport['verdict']; causes: Cause[] };
  /**
   * Whether the instrumented model's final outputs equal the plain model's on the same inputs,
   * and the optimization level the search ran with ('disabled' when the guard failed; kept where
   * the plain model differs from itself run to run, which `detail` then says).
   */
  guard: { equal: boolean; optimization: string; detail: string | null };
  /** Values compared, and values skipped because they are not per-sample (shapes, constants, statistics over the batch). */
  values: { compared: number; skipped: number };
  /**
   * The divergence profile: the probe's largest absolute difference at every compared node, in
   * topological order (a node with several compared outputs gives their maximum). At most
   * PROFILE_LIMIT entries: a longer one keeps, of each run of consecutive nodes, the one that
   * differs most, and always the first divergence (`profileTruncated`, and a note, say so).
   * Empty when nothing was compared (an invariant model).
   */
  profile: ProfileEntry[];
  profileTruncated: boolean;
  tolerance: string;
  summary: string;
  notes: string[];
  /** The whole search, the check it starts from included (unless its report was given: `report`); the rewritten graph's guard runs are not counted as inference. */
  timing: ReportTiming;
}

/** One compared node of the divergence profile. */
export interface ProfileEntry {
  node: string;
  op: string;
  maxAbs: number;
}

/** Most entries a profile keeps: enough for a chart, small enough for a page of many reports. */
export const PROFILE_LIMIT = 2000;

/**
 * Caps a profile at `limit` entries: each of `limit` runs of consecutive nodes keeps its
 * largest difference (a spike is never averaged away), and the run holding the first
 * divergence (else the first bitwise difference) keeps that node instead, so the chart can mark it.
 */
function capProfile(profile: ProfileEntry[], limit: number, first: string | null): ProfileEntry[] {
  if (profile.length <= limit) return profile;
  const kept: ProfileEntry[] = [];
  for (let b = 0; b < limit; b++) {
    const from = Math.floor((b * profile.length) / limit);
    const to = Math.floor(((b + 1) * profile.length) / limit);
    let best = profile[from];
    for (let i = from; i < to; i++) {
      if (profile[i].node === first) {
        best = profile[i];
        break;
      }
      if (profile[i].maxAbs > best.maxAbs) best = profile[i];
    }
    kept.push(best);
  }
  return kept;
}

interface Choice {
  cause: Cause;
  size: number;
  /** The run holding the expected rows, and the one compared with it. */
  a: PlannedRun;
  b: PlannedRun;
  probe: number;
}

/** Picks the two runs that isolate the worst cause the check found. */
function choose(report: InvarianceReport, plan: Plan): Choice | null {
  if (report.verdict === 'invariant') return null;
  const runsOf = (size: number) => plan.bySize.get(size) ?? [];
  const reference = (probe: number) => plan.runs.find((r) => r.purpose === 'reference' && r.probes[0]?.probe === probe) as PlannedRun;
  const withCause = (cause: Cause) => report.batches.filter((b) => b.causes.includes(cause) && plan.bySize.has(b.size));
  // Noise run to run makes every other comparison noisy too (the check reports it alone): the
  // probe alone run twice first; nondeterministicChoice looks for a pair that fails.
  if (report.causes.includes('nondeterminism')) {
    const again = plan.runs.find((r) => r.purpose === 'reference-rerun') as PlannedRun;
    const probe = (again.probes[0] as { probe: number }).probe;
    return { cause: 'nondeterminism', size: again.size, a: reference(probe), b: again, probe };
  }
  // Only the outlier run fails (batch-mates 100 times larger): that is the run to search.
  const outlierRun = plan.runs.find((r) => r.purpose === 'outlier');
  if (report.outlier && !report.outlier.pass && report.batches.every((b) => b.pass) && outlierRun) {
    const batch = runsOf(outlierRun.size).find((r) => r.purpose === 'batch');
    const probe = (outlierRun.probes[0] as { probe: number }).probe;
    if (batch) return { cause: 'leakage', size: outlierRun.size, a: batch, b: outlierRun, probe };
  }
  const leak = withCause('leakage')[0];
  if (leak) {
    // permuted and mates hold the probes at the same places: only the batch-mates differ.
    const mates = runsOf(leak.size).find((r) => r.purpose === 'mates');
    const base = runsOf(leak.size).find((r) => r.purpose === 'permuted') ?? runsOf(leak.size).find((r) => r.purpose === 'batch');
    if (mates && base) return { cause: 'leakage', size: leak.size, a: base, b: mates, probe: (mates.probes[0] as { probe: number }).probe };
  }
  const moved = withCause('position')[0];
  if (moved) {
    const permuted = runsOf(moved.size).find((r) => r.purpose === 'permuted');
    const batch = runsOf(moved.size).find((r) => r.purpose === 'batch');
    if (permuted && batch) return { cause: 'position', size: moved.size, a: batch, b: permuted, probe: (permuted.probes[0] as { probe: number }).probe };
  }
  // The smallest size that fails the tolerance (cheapest to search), else the largest drift.
  const drifting = withCause('batch-size');
  const drift = drifting.find((b) => !b.pass) ?? [...drifting].sort((x, y) => y.maxAbs - x.maxAbs)[0];
  if (drift) {
    const batch = runsOf(drift.size).find((r) => r.purpose === 'batch') as PlannedRun;
    const probe = report.worst && report.worst.batchSize === drift.size && batch.probes.some((p) => p.probe === report.worst?.probe) ? report.worst.probe : (batch.probes[0] as { probe: number }).probe;
    return { cause: 'batch-size', size: drift.size, a: reference(probe), b: batch, probe };
  }
  return null;
}

/** Rounds of the same batch run twice tried before nondeterminism is said not to recur. */
const NOISE_TRIES = 3;

/**
 * Nondeterminism: the check ran the probe alone twice and the largest batch twice, and each
 * batch against the probe alone (noisy too). Where the probe alone stays within the tolerance
 * run to run (noise that grows with the batch), that pair shows nothing. The pair searched must
 * fail: the same batch run twice (alone, then the largest batch), each round on fresh runs since
 * the noise is drawn anew; else the probe alone against a batch that fails (the noise and the
 * batch size together), else the outlier run. `fails` false: none failed in the runs made.
 */
async function nondeterministicChoice(choice: Choice, report: InvarianceReport, plan: Plan, comparer: () => ReturnType<typeof pairComparer>): Promise<{ choice: Choice; fails: boolean; note: string | null }> {
  const runsOf = (size: number) => plan.bySize.get(size) ?? [];
  const reference = (probe: number) => plan.runs.find((r) => r.purpose === 'reference' && r.probes[0]?.probe === probe);
  const twice: [PlannedRun, PlannedRun][] = [];
  for (const again of plan.runs) {
    const first = again.purpose === 'reference-rerun' ? reference((again.probes[0] as { probe: number }).probe) : again.purpose === 'rerun' ? runsOf(again.size).find((r) => r.purpose === 'batch') : undefined;
    if (first) twice.push([first, again]);
  }
  const alone = `the probe alone run twice stays within the tolerance`;
  let compare = comparer();
  for (let round = 0; round < NOISE_TRIES; round++) {
    if (round > 0) compare = comparer();
    for (const [a, b] of twice) {
      for (const { probe } of b.probes) {
        if (!a.probes.some((p) => p.probe === probe)) continue;
        const o = await compare(a, b, probe);
        if (!o?.fails) continue;
        const note = b.purpose === 'rerun' ? `${alone}; the largest batch (${b.size}) run twice does not, so that pair is searched` : null;
        return { choice: { cause: 'nondeterminism', size: b.size, a, b, probe }, fails: true, note };
      }
    }
  }
  const within = `the same batch run twice stayed within the tolerance in the ${NOISE_TRIES} tries locate made`;
  // The check's failing comparisons against the probe alone (the last round's runs).
  for (const b of report.batches.filter((x) => !x.pass && plan.bySize.has(x.size))) {
    for (const run of runsOf(b.size).filter((r) => r.purpose === 'batch' || r.purpose === 'mates' || r.purpose === 'permuted')) {
      for (const { probe } of run.probes) {
        const ref = reference(probe);
        const o = ref ? await compare(ref, run, probe) : null;
        if (o?.fails) {
          return {
            choice: { cause: 'nondeterminism', size: b.size, a: ref as PlannedRun, b: run, probe },
            fails: true,
            note: `${within}; the probe in a batch of ${b.size} differs beyond it from the probe alone (the check's failing comparison), so those two runs are searched: what the node shows is the run-to-run noise and the batch size together`,
          };
        }
      }
    }
  }
  const outlierRun = plan.runs.find((r) => r.purpose === 'outlier');
  const batch = outlierRun ? runsOf(outlierRun.size).find((r) => r.purpose === 'batch') : undefined;
  if (report.outlier && !report.outlier.pass && outlierRun && batch) {
    const probe = (outlierRun.probes[0] as { probe: number }).probe;
    const o = await compare(batch, outlierRun, probe);
    if (o?.fails) {
      return { choice: { cause: 'nondeterminism', size: outlierRun.size, a: batch, b: outlierRun, probe }, fails: true, note: `${within}; the outlier run (batch ${outlierRun.size} with batch-mates ${OUTLIER_SCALE} times larger) fails, so it is searched` };
    }
  }
  return { choice, fails: false, note: null };
}

/** How a probe's compared outputs differ between two runs on the plain model: failing under their own tolerances, and by how much. */
type PairOutcome = { fails: boolean; maxAbs: number };

/**
 * Compares, on the plain model, one probe's rows of the compared outputs between runs `a` and
 * `b` (each run made once and kept), under each output's own tolerance, as the check compares
 * them. A value's batch axis is learnt from the reference run (`refRun`, another batch size);
 * null when no output's rows can be cut out (then nothing is claimed about the pair).
 */
function pairComparer(handle: ModelHandle, refRun: PlannedRun, feeds: (run: PlannedRun) => Record<string, ort.Tensor>, outputs: readonly string[], specOf: (output: string) => Tolerance | undefined) {
  const made = new Map<PlannedRun, Promise<Record<string, ort.Tensor>>>();
  const outputsOf = (run: PlannedRun) => {
    if (!made.has(run)) made.set(run, handle.run(feeds(run), outputs, { rows: run.rows.length, purpose: 'choose runs' }) as Promise<Record<string, ort.Tensor>>);
    return made.get(run) as Promise<Record<string, ort.Tensor>>;
  };
  return async (a: PlannedRun, b: PlannedRun, probe: number): Promise<PairOutcome | null> => {
    const [ra, rb, rr] = [await outputsOf(a), await outputsOf(b), await outputsOf(refRun)];
    let fails = false;
    let maxAbs = 0;
    let compared = false;
    for (const name of outputs) {
      const ta = ra[name], tb = rb[name], tr = rr[name];
      if (!ta || !tb || !tr || tb.type === 'string') continue;
      // `a` may be a reference run: it has the batched run's rows per sample.
      const layout = layoutOf(tr.dims, refRun.rows.length, tb.dims, b.rows.length);
      // The probe alone run twice (the reference's size, so no layout to learn): compared whole.
      const whole = !layout && a.rows.length === b.rows.length && b.rows.length === refRun.rows.length && ta.dims.length === tb.dims.length;
      if (!layout && !whole) continue;
      const expected = layout ? rowsOf(ta, layout.axis, layout.per, positionOf(a, probe), a.rows.length) : { blocked: ta.data as TypedArray, strided: null };
      const actual = layout ? rowsOf(tb, layout.axis, layout.per, positionOf(b, probe), b.rows.length) : { blocked: tb.data as TypedArray, strided: null };
      const tol = resolveTolerance(specOf(name), tb.type);
      let c = compareArrays(expected.blocked, actual.blocked, tb.type, tol);
      if (!c.bitExact && (expected.strided || actual.strided)) {
        const other = compareArrays(expected.strided ?? expected.blocked, actual.strided ?? actual.blocked, tb.type, tol);
        if (other.bitExact || other.maxAbs < c.maxAbs) c = other;
      }
      compared = true;
      fails ||= !c.pass;
      maxAbs = Math.max(maxAbs, Number.isNaN(c.maxAbs) ? Infinity : c.maxAbs);
    }
    return compared ? { fails, maxAbs } : null;
  };
}

/**
 * Leakage and position are isolated by two batches of one size (batch-mates, or places,
 * changed), but that pair can stay within the tolerance where the rows fail against the probe
 * alone (a statistic over the batch that other batch-mates barely move, yet far from the
 * probe's own). Then a pair that fails in the check is searched: that pair at another size or
 * probe, the outlier run, else the probe alone against the run that fails at the smallest
 * failing size. `fails` false: no pair could be shown failing (the first choice is kept).
 */
async function failingChoice(choice: Choice, report: InvarianceReport, plan: Plan, compare: ReturnType<typeof pairComparer>): Promise<{ choice: Choice; fails: boolean | null; note: string | null }> {
  const runsOf = (size: number) => plan.bySize.get(size) ?? [];
  const reference = (probe: number) => plan.runs.find((r) => r.purpose === 'reference' && r.probes[0]?.probe === probe);
  const pairOf = (size: number): [PlannedRun, PlannedRun] | null => {
    const runs = runsOf(size);
    const find = (p: RunPurpose) => runs.find((r) => r.purpose === p);
    const pair = choice.cause === 'leakage' ? [find('permuted') ?? find('batch'), find('mates')] : [find('batch'), find('permuted')];
    return pair[0] && pair[1] ? (pair as [PlannedRun, PlannedRun]) : null;
  };
  // The probe of a pair that fails (the first choice's probe first), with its difference.
  const failingProbe = async (a: PlannedRun, b: PlannedRun, first?: number) => {
    const probes = b.probes.map((p) => p.probe).filter((p) => a.probes.some((q) => q.probe === p));
    let unknown = true;
    for (const probe of first !== undefined && probes.includes(first) ? [first, ...probes.filter((p) => p !== first)] : probes) {
      const o = await compare(a, b, probe);
      if (!o) continue;
      unknown = false;
      if (o.fails) return { probe, maxAbs: o.maxAbs };
    }
    return unknown ? null : false;
  };
  const first = await failingProbe(choice.a, choice.b, choice.probe);
  if (first === null) return { choice, fails: null, note: null };
  if (first) return { choice: { ...choice, probe: first.probe }, fails: true, note: null };
  const within = `two batches of ${choice.size} that differ only in ${choice.cause === 'leakage' ? 'the batch-mates' : "the probe's position"} stay within the tolerance`;
  const sizes = report.batches.filter((b) => b.causes.includes(choice.cause) && plan.bySize.has(b.size)).map((b) => b.size);
  for (const size of sizes.filter((s) => s !== choice.size)) {
    const pair = pairOf(size);
    const found = pair ? await failingProbe(pair[0], pair[1]) : null;
    if (found) return { choice: { ...choice, size, a: pair?.[0] as PlannedRun, b: pair?.[1] as PlannedRun, probe: found.probe }, fails: true, note: `${within}; at batch ${size} they do not, so that pair is searched` };
  }
  const outlierRun = plan.runs.find((r) => r.purpose === 'outlier');
  const batch = outlierRun ? runsOf(outlierRun.size).find((r) => r.purpose === 'batch') : undefined;
  if (choice.cause === 'leakage' && report.outlier && !report.outlier.pass && outlierRun && batch) {
    const probe = (outlierRun.probes[0] as { probe: number }).probe;
    return {
      choice: { cause: 'leakage', size: outlierRun.size, a: batch, b: outlierRun, probe },
      fails: true,
      note: `${within}, so the outlier run, which fails, is searched (batch ${outlierRun.size} against itself with batch-mates ${OUTLIER_SCALE} times larger)`,
    };
  }
  // The check's own failing comparison: the probe alone against a run of the smallest failing
  // size with this cause, else of one that fails by the batch size alone.
  const failingSizes = report.batches.filter((x) => !x.pass && plan.bySize.has(x.size));
  for (const b of [...failingSizes.filter((x) => x.causes.includes(choice.cause)), ...failingSizes.filter((x) => !x.causes.includes(choice.cause) && x.causes.includes('batch-size'))]) {
    const drift = !b.causes.includes(choice.cause);
    let best: { run: PlannedRun; probe: number; maxAbs: number } | null = null;
    for (const run of runsOf(b.size).filter((r) => r.purpose === 'batch' || r.purpose === 'mates' || r.purpose === 'permuted')) {
      for (const { probe } of run.probes) {
        const ref = reference(probe);
        const o = ref ? await compare(ref, run, probe) : null;
        if (o?.fails && (!best || o.maxAbs > best.maxAbs)) best = { run, probe, maxAbs: o.maxAbs };
      }
    }
    if (best) {
      return {
        choice: { cause: drift ? 'batch-size' : choice.cause, size: b.size, a: reference(best.probe) as PlannedRun, b: best.run, probe: best.probe },
        fails: true,
        note: drift
          ? `${within}; the batch of ${b.size} fails against the probe alone with the batch size as its cause, so those two runs are searched`
          : `${within}, but the probe in a batch of ${b.size} differs beyond it from the probe alone (the check's failing comparison), so those two runs are searched: what the node shows is the ${choice.cause === 'leakage' ? 'batch-mates' : 'position'} and the batch size together`,
      };
    }
  }
  return { choice, fails: false, note: null };
}

/**
 * The probe of `batch` whose compared outputs differ most from its reference run, on the plain
 * model (one run each); null when none differs.
 */
async function driftingProbe(handle: ModelHandle, plan: Plan, batch: PlannedRun, feeds: (run: PlannedRun) => Record<string, ort.Tensor>, outputs: readonly string[]): Promise<number | null> {
  const inBatch = await handle.run(feeds(batch), outputs, { rows: batch.rows.length, purpose: 'choose probe' });
  let best: { probe: number; maxAbs: number } | null = null;
  for (const { probe, position } of batch.probes) {
    const ref = plan.runs.find((r) => r.purpose === 'reference' && r.probes[0]?.probe === probe);
    if (!ref) continue;
    const alone = await handle.run(feeds(ref), outputs, { rows: ref.rows.length, purpose: 'choose probe' });
    let maxAbs = 0;
    for (const name of outputs) {
      const a = alone[name] as ort.Tensor, b = inBatch[name] as ort.Tensor;
      const layout = layoutOf(a.dims, ref.rows.length, b.dims, batch.rows.length);
      if (!layout || a.type === 'string') continue;
      const expected = rowsOf(a, layout.axis, layout.per, positionOf(ref, probe), ref.rows.length);
      const actual = rowsOf(b, layout.axis, layout.per, position, batch.rows.length);
      const c = compareArrays(expected.blocked, actual.blocked, a.type, resolveTolerance('exact', a.type));
      if (!c.bitExact) maxAbs = Math.max(maxAbs, Number.isNaN(c.maxAbs) ? Infinity : c.maxAbs);
    }
    if (maxAbs > 0 && (!best || maxAbs > best.maxAbs)) best = { probe, maxAbs };
  }
  return best?.probe ?? null;
}

/** ONNX ops that draw random numbers at each run (Dropout only in training mode, and it reads its input). */
const RANDOM_OPS = new Set(['RandomUniform', 'RandomNormal', 'RandomUniformLike', 'RandomNormalLike', 'Multinomial', 'Bernoulli']);

/** Names of node outputs that depend on a model input, in topological order, with their node. */
function inputDependent(graph: GraphFacts, random = false): { node: string; op: string; output: string }[] {
  const live = new Set(graph.inputs.map((v) => v.name));
  const out: { node: string; op: string; output: string }[] = [];
  for (const n of graph.nodes) {
    // `random`: a random op reading no input (RandomUniform, RandomNormal) differs run to run
    // too, and is where such noise starts.
    if (!n.inputs.some((i) => live.has(i)) && !(n.opType === 'If' || n.opType === 'Loop' || n.opType === 'Scan') && !(random && RANDOM_OPS.has(n.opType))) continue;
    for (const o of n.outputs) {
      if (!o) continue;
      live.add(o);
      out.push({ node: n.name, op: n.opType, output: o });
    }
  }
  return out;
}

function positionOf(run: PlannedRun, probe: number): number {
  const p = run.probes.find((x) => x.probe === probe);
  if (!p) throw new Error(`probe ${probe} is not in the ${run.purpose} run of size ${run.size}`);
  return p.position;
}

/** How to cut one sample out of a value: its batch axis and rows per sample, or null (not per-sample). */
function layoutOf(refDims: readonly number[], refSize: number, dims: readonly number[], size: number): { axis: number; per: number } | null {
  if (refDims.length !== dims.length) return null;
  if (refSize === size) return null;
  const scaling = dims.map((_, i) => i).filter((i) => refDims[i] !== dims[i] && (refDims[i] as number) * size === (dims[i] as number) * refSize);
  if (scaling.length !== 1) return null;
  const axis = scaling[0] as number;
  if ((dims[axis] as number) % size !== 0) return null;
  return { axis, per: (dims[axis] as number) / size };
}

/**
 * One sample's rows of a value, in the layouts it may have: where the batch axis holds `per`
 * rows per sample, they are either blocked (sample-major: [n * per + k]) or strided (the batch
 * folded inside another dim, as in a [seq * N, d] reshape: [k * size + n]). Dims cannot tell
 * the two apart, so both are kept and the closer pair is compared.
 */
type ProbeRows = { blocked: TypedArray; strided: TypedArray | null };

function rowsOf(t: ort.Tensor, axis: number, per: number, position: number, size: number): ProbeRows {
  const blocked = Array.from({ length: per }, (_, k) => position * per + k);
  const take = (rows: number[]) => takeRows(t.data as TypedArray, t.dims, axis, rows, t.type);
  if (per === 1 || size === 1) return { blocked: take(blocked), strided: null };
  return { blocked: take(blocked), strided: take(Array.from({ length: per }, (_, k) => k * size + position)) };
}

/**
 * Finds the first node whose output for a probe differs. Runs the batch-invariance check first
 * (unless `options.report` is given) to learn which runs differ, then compares those runs node
 * by node. Returns a plain report; `firstDivergence` is null when nothing differs.
 */
export async function locateDivergence(model: ModelSource, options: LocateOptions = {}): Promise<LocateReport> {
  const started = now();
  validateOptions(options, LOCATE_OPTION_KEYS, 'locateDivergence');
  const mb = modelBytes(model, 'locate');
  const settings = sessionSettings(mb.settings, options);
  const { model: decoded, graph } = readModel(mb.bytes, mb.source);
  const external = hasExternalData(decoded.graph?.initializer ?? []) ? mb.dir : undefined;
  // A missing external file: the same line as stats and recalibrate, not onnxruntime's.
  if (external) checkExternalFiles(decoded.graph?.initializer ?? [], { source: mb.source, dir: mb.dir });
  const notes: string[] = [];
  // The search's runs (the guard's are not counted: they only check the rewritten graph).
  const log = new RunLogBook();

  const handle = await openModelBytes(mb.bytes, settings, { label: mb.source, externalDir: external });
  try {
    // Per-output tolerances as the check takes them (names checked before any run).
    const comparedOutputs = selectOutputs(handle.outputs, options.outputs, 'model').map((o) => o.name);
    resolveTolerances(handle.outputs.filter((o) => comparedOutputs.includes(o.name)), options);
    const specOf = (output: string): Tolerance | undefined => options.outputTolerances?.[output] ?? options.tolerance;
    const report = options.report ?? (await checkBatchInvariance(handle, { ...options, onProgress: undefined }));
    // The report's inference time counts the check's runs too, when it ran here (a report given has its own).
    const timing = () => ({ totalMs: Math.round(now() - started), inferenceMs: Math.round(log.inferenceMs + (options.report ? 0 : report.timing.inferenceMs)) });
    // The same samples, plan and padding as the check, so the runs compared are the check's.
    const { prepared, plan, poolIndex: index, hooks } = await prepareCheck(handle, handle.outputs, options);
    const feeds = (run: PlannedRun) => ((run.tokens || run.outlier) && hooks.specialFeeds ? hooks.specialFeeds(run, run.rows.map(index)) : feedsFor(prepared.specs, prepared.shared, prepared.pool, run.rows.map(index)));
    let choice = choose(report, plan);
    // Drift whose worst element is not in this size's batch run: the probe that moves most there,
    // since a probe bitwise equal at this size would show nothing.
    if (choice && choice.cause === 'batch-size' && !(report.worst?.batchSize === choice.size && report.worst.run === 'batch')) {
      const probe = await driftingProbe(handle, plan, choice.b, feeds, comparedOutputs);
      if (probe !== null && probe !== choice.probe) {
        choice.probe = probe;
        choice.a = plan.runs.find((r) => r.purpose === 'reference' && r.probes[0]?.probe === probe) as PlannedRun;
      }
    }
    // Leakage or position: the pair searched must fail in the check, or no node could be named.
    let pairFails: boolean | null = null;
    // (A check that is not violated has no failing pair: nothing to run.)
    if (choice && report.verdict === 'violated' && (choice.cause === 'leakage' || choice.cause === 'position') && choice.b.purpose !== 'outlier') {
      const refRun = plan.runs.find((r) => r.purpose === 'reference') as PlannedRun;
      const picked = await failingChoice(choice, report, plan, pairComparer(handle, refRun, feeds, comparedOutputs, specOf));
      choice = picked.choice;
      pairFails = picked.fails;
      if (picked.note) notes.push(picked.note);
    }
    // Nondeterminism: the pair searched must differ beyond the tolerance in the runs made.
    let noiseFails: boolean | null = null;
    if (choice && choice.cause === 'nondeterminism' && report.verdict === 'violated') {
      const refRun = plan.runs.find((r) => r.purpose === 'reference') as PlannedRun;
      const picked = await nondeterministicChoice(choice, report, plan, () => pairComparer(handle, refRun, feeds, comparedOutputs, specOf));
      choice = picked.choice;
      noiseFails = picked.fails;
      if (picked.note) notes.push(picked.note);
    }
    const base = {
      schema: 1 as const,
      kind: 'locate' as const,
      tool,
      model: { path: mb.source },
      fingerprint: fingerprintFor(settings),
      check: { verdict: report.verdict, causes: report.causes },
      tolerance: [describeTolerance(resolveTolerance(options.tolerance, 'float32')), ...Object.entries(options.outputTolerances ?? {}).filter(([o]) => comparedOutputs.includes(o)).map(([o, t]) => `${o}: ${describeTolerance(resolveTolerance(t, handle.outputs.find((x) => x.name === o)?.dtype ?? 'float32'))}`)].join('; '),
    };
    // Only values a compared output depends on: a node feeding only an output left out
    // (options.outputs) cannot be where the compared outputs diverge.
    // Pad tokens that reach the output fail the check where no batch run does: searched as the
    // diagnosis searches them, the probe padded with the pad id against other ids in its pads.
    const driftFails = report.batches.some((b) => b.causes.includes('batch-size') && !b.pass);
    const padFails = report.padding.tested && report.padding.comparisons.some((c) => (c.run === 'unpadded' || c.run === 'pad-ids') && !c.pass);
    const padFeeds = padFails && (!choice || (choice.cause === 'batch-size' && !driftFails) || pairFails === false) ? padIdFeeds(report.padding, hooks) : null;
    if (padFeeds) {
      const p = report.padding;
      const { firstPaddingNode } = await import('../diagnosis/padding-node');
      const found = await firstPaddingNode(mb.bytes, padFeeds[0], padFeeds[1], {
        lengths: p.lengths[0] as number,
        paddedLength: p.limit as number,
        side: p.side ?? 'right',
        tolerance: options.tolerance,
        outputTolerances: options.outputTolerances,
        plain: handle,
        settings,
        source: mb.source,
        externalDir: external,
        store: mb.store,
        outputs: comparedOutputs,
        log,
      });
      const strip = (d: typeof found.first) => (d ? { node: d.node, op: d.op, output: d.output, maxAbs: d.maxAbs } : null);
      const firstDivergence = found.first ? { ...(strip(found.first) as Omit<Divergence, 'cause'>), cause: 'padding' as const } : null;
      const compared: NonNullable<LocateReport['compared']> = { cause: 'padding', batchSize: 1, probe: 0, runs: ['padded', 'pad-ids'], positions: [0, 0] };
      // Other pad ids change nothing, yet the text alone and unpadded differs: the pair searched cannot show it.
      const unpadded = p.comparisons.find((c) => c.run === 'unpadded' && !c.pass);
      if (!firstDivergence && unpadded && !p.comparisons.some((c) => c.run === 'pad-ids' && !c.pass)) {
        const other = p.side === 'left' ? 'right' : 'left';
        const why = wrongSide(p.comparisons)
          ? `padded on the ${other} it matches itself unpadded, so its positions do not follow the mask; serve it ${other}-padded`
          : 'where the pads sit or how many there are moves it, not what they hold';
        notes.push(`the check fails where a text alone and unpadded is compared with itself padded on the ${p.side} (by at most ${num(unpadded.maxAbs)}), not with other pad ids (they change nothing): ${why}; locate searches runs of one length (the pad ids), so no node is named`);
      }
      return {
        ...base,
        firstDivergence,
        firstBitwise: strip(found.firstBitwise),
        compared,
        guard: found.guard,
        values: { compared: found.compared, skipped: found.skipped },
        profile: capProfile(found.profile, PROFILE_LIMIT, (found.first ?? found.firstBitwise)?.node ?? null),
        profileTruncated: found.profile.length > PROFILE_LIMIT,
        summary: summarize(firstDivergence, strip(found.firstBitwise), compared),
        notes: [...notes, ...found.notes, ...(found.profile.length > PROFILE_LIMIT ? [`profile: ${found.profile.length} compared nodes shown as ${PROFILE_LIMIT}, each the largest difference of ${Math.ceil(found.profile.length / PROFILE_LIMIT)} or fewer consecutive nodes (the first divergence kept)`] : [])],
        timing: timing(),
      };
    }
    if (!choice) {
      return {
        ...base,
        firstDivergence: null,
        firstBitwise: null,
        compared: null,
        guard: { equal: true, optimization: settings.optimization ?? 'all', detail: null },
        values: { compared: 0, skipped: 0 },
        profile: [],
        profileTruncated: false,
        summary: 'nothing diverges: every probe is bitwise equal whatever the batch',
        notes,
        timing: timing(),
      };
    }

    // Runs: the reference (to learn each value's batch axis), then the two compared.
    const reference = plan.runs.find((r) => r.purpose === 'reference' && r.probes[0]?.probe === choice.probe) as PlannedRun;
    const runs: PlannedRun[] = choice.a === reference ? [reference, choice.b] : [reference, choice.a, choice.b];
    const finalOutputs = handle.outputs.map((o) => o.name);
    const reaching = reachingOutputs(graph, comparedOutputs);
    const candidates = inputDependent(graph, choice.cause === 'nondeterminism').filter((c) => reaching.has(c.output));
    const exposed = candidates.filter((v) => !finalOutputs.includes(v.output)).map((c) => c.output);
    // The guard: the instrumented model must compute what the plain one does.
    const instrumented = instrumentModel(mb.bytes, { outputs: exposed }, { source: mb.source, store: mb.store });
    let optimization = settings.optimization ?? 'all';
    let guardDetail: string | null = null;
    let equal = true;
    // The rewritten bytes change back once onnxruntime has read them: no graph read from them.
    const open = (optimized: SessionSettings) => openModelBytes(instrumented.bytes, optimized, { label: mb.source, externalDir: external, graphFrom: null });
    let search: ModelHandle | null = null;
    try {
      search = await open(settings);
      // Outputs of the plain model that differ from themselves on the same inputs: the
      // instrumented model cannot be held to them bitwise (a fusion is not what changed them).
      const noisy = new Set<string>();
      for (const run of runs) {
        const f = feeds(run);
        const plainOut = await handle.run(f, finalOutputs, { rows: run.size, purpose: 'guard' });
        // The reference run (first; the probe alone) fetches every value: their bytes, scaled to
        // the largest run, are refused in one line before any run that cannot fit. Where the
        // values are outputs, onnxruntime holds them all even when fewer are fetched.
        const measure = run === reference ? search.outputs.filter((m) => m.dtype !== 'non-tensor').map((m) => m.name) : finalOutputs;
        const instOut = await search.run(f, measure, { rows: run.size, purpose: 'guard' });
        if (run === reference) {
          const referenceBytes = measure.reduce((n, name) => n + ((((instOut[name] as ort.Tensor | undefined)?.data as TypedArray | undefined)?.byteLength) ?? 0), 0);
          const batchSize = Math.max(...runs.map((r) => r.size));
          assertExposedFits({ referenceBytes, referenceSize: run.size, batchSize, values: measure.length - finalOutputs.length, maxBytes: options.maxBytes, source: mb.source });
        }
        const differs = finalOutputs.filter((n) => !sameTensor(plainOut[n] as ort.Tensor, instOut[n] as ort.Tensor));
        if (differs.length === 0) continue;
        const again = await handle.run(f, differs, { rows: run.size, purpose: 'guard' });
        const selfDiffers = differs.filter((n) => !sameTensor(plainOut[n] as ort.Tensor, again[n] as ort.Tensor));
        for (const n of selfDiffers) noisy.add(n);
        if (selfDiffers.length < differs.length) {
          equal = false;
          guardDetail = `with every intermediate exposed, the final output${quotedNames(differs.filter((n) => !selfDiffers.includes(n)))} from the plain model's on the same inputs (exposing values changes which kernels onnxruntime fuses), so the search ran with graph optimization disabled`;
          break;
        }
      }
      if (equal && noisy.size > 0) {
        // Disabling fusions would not make the noise go: the search runs as the check did.
        equal = false;
        guardDetail = `the plain model's final output${quotedNames([...noisy])} from itself on the same inputs run to run, so the instrumented model cannot be held to it bitwise: the guard shows nothing here, and the search ran with graph optimization '${optimization}' as the check did`;
        notes.push(guardDetail);
      } else if (!equal && optimization !== 'disabled') {
        await search.close();
        search = null;
        optimization = 'disabled';
        search = await open({ ...settings, optimization: 'disabled' });
        notes.push(guardDetail as string);
      }
    } catch (e) {
      await search?.close();
      throw e;
    } finally {
      instrumented.release();
    }
    const searchRunner = search as ModelHandle;

    try {
      const meta = searchRunner.outputs;
      const isTensor = new Set(meta.filter((m) => m.dtype !== 'non-tensor').map((m) => m.name));
      const watched = candidates.filter((c) => isTensor.has(c.output));
      const fetch = watched.map((w) => w.output);
      // Keep only the probe's rows of each value; the reference run is kept whole (batch of `reference`).
      const sameSize = choice.a.size === choice.b.size;
      const refTensors = new Map<string, ort.Tensor>();
      const kept: Map<string, ProbeRows>[] = [];
      const layouts = new Map<string, { axis: number; per: number } | null>();
      const dtypes = new Map<string, string>();
      const collect = async (run: PlannedRun): Promise<Map<string, ProbeRows>> => {
        const result = await searchRunner.run(feeds(run), fetch, {
          rows: run.size,
          purpose: run.purpose,
          log,
          failure: (reason) => `${mb.source}: onnxruntime failed on the instrumented model (${reason}); check the input flags`,
        });
        const rows = new Map<string, ProbeRows>();
        for (const name of fetch) {
          const t = result[name] as ort.Tensor | undefined;
          if (!t) continue;
          dtypes.set(name, t.type);
          if (run === reference) {
            refTensors.set(name, t);
            continue;
          }
          const ref = refTensors.get(name);
          if (!layouts.has(name)) layouts.set(name, ref ? layoutOf(ref.dims, reference.size, t.dims, run.size) : null);
          const layout = layouts.get(name);
          if (!layout) {
            // A value that does not scale with the batch (a shape, a statistic over the batch):
            // between two runs of the same size it is compared whole, since any difference
            // means the batch's content flows into it; across sizes it is skipped.
            if (sameSize) rows.set(name, { blocked: t.data as TypedArray, strided: null });
            continue;
          }
          rows.set(name, rowsOf(t, layout.axis, layout.per, positionOf(run, choice.probe), run.size));
        }
        return rows;
      };
      for (const run of runs) kept.push(await collect(run));
      const probeRows = (k: number, name: string): ProbeRows | undefined => {
        const run = runs[k] as PlannedRun;
        if (run !== reference) return kept[k]?.get(name);
        const t = refTensors.get(name);
        const layout = layouts.get(name);
        if (!t) return undefined;
        // The probe alone run twice: the reference's size, so compared whole.
        if (sameSize) return { blocked: t.data as TypedArray, strided: null };
        if (!layout) return undefined;
        // The reference batch has the same rows per sample as the batched run.
        return rowsOf(t, layout.axis, layout.per, positionOf(reference, choice.probe), reference.size);
      };
      const ia = runs.indexOf(choice.a);
      const ib = runs.length - 1;
      let firstDivergence: Divergence | null = null;
      let firstBitwise: LocateReport['firstBitwise'] = null;
      let compared = 0;
      let skipped = 0;
      const profile: ProfileEntry[] = [];
      const tolerances = new Map<string, ResolvedTolerance>();
      const toleranceOf = (spec: Tolerance | undefined, dtype: string): ResolvedTolerance => {
        const key = `${JSON.stringify(spec ?? null)} ${dtype}`;
        if (!tolerances.has(key)) tolerances.set(key, resolveTolerance(spec, dtype));
        return tolerances.get(key) as ResolvedTolerance;
      };
      // The probe's rows of one value in both runs, compared (blocked or strided, the closer).
      const compareValue = (output: string, tol: ResolvedTolerance) => {
        const dtype = dtypes.get(output);
        const expected = probeRows(ia, output);
        const actual = probeRows(ib, output);
        if (!dtype || !expected || !actual) return null;
        let c = compareArrays(expected.blocked, actual.blocked, dtype, tol);
        if (!c.bitExact && (expected.strided || actual.strided)) {
          const other = compareArrays(expected.strided ?? expected.blocked, actual.strided ?? actual.blocked, dtype, tol);
          if (other.bitExact || other.maxAbs < c.maxAbs) c = other;
        }
        return c;
      };
      // The compared outputs that fail between the two runs under their own tolerance, as the
      // check compares them: a value diverges only where it reaches one of them, beyond the
      // tolerance of each failing output it reaches. None failing: nothing diverges, so locate
      // never reports a node where the check passes.
      const failingNow = () => comparedOutputs.filter((o) => {
        const dtype = dtypes.get(o);
        const c = dtype ? compareValue(o, toleranceOf(specOf(o), dtype)) : null;
        return c !== null && !c.pass;
      });
      let failing = failingNow();
      // The same batch run twice: the noise is drawn anew at each run, so a pair that agrees
      // this time is run again before the search gives up.
      const sameBatch = choice.cause === 'nondeterminism' && sameSize && choice.a.rows.length === choice.b.rows.length && choice.a.rows.every((r, i) => r === choice.b.rows[i]);
      let tries = 1;
      for (; failing.length === 0 && sameBatch && report.verdict === 'violated' && tries < NOISE_TRIES; tries++) {
        kept[ib] = await collect(choice.b);
        failing = failingNow();
      }
      if (choice.cause === 'nondeterminism' && report.verdict === 'violated' && failing.length === 0) {
        notes.push(`the check saw outputs differ beyond the tolerance run to run, but ${noiseFails === false ? `none of the pairs locate ran on the plain model did (the same batch twice, ${NOISE_TRIES} times), nor ` : ''}the ${sameBatch ? `same batch run twice on the instrumented model (${tries} times)` : 'two runs searched on the instrumented model'}: the nondeterminism did not recur, so no node is named; run locate again`);
      }
      if (choice.cause === 'nondeterminism' && report.verdict !== 'violated' && failing.length > 0) {
        // The check passed: noise drawn beyond the tolerance this time names nothing.
        notes.push(`the output${quotedNames(failing)} beyond the tolerance in this run, though the check's runs stayed within it (noise drawn anew each run): the check passed, so no node is named`);
        failing = [];
      }
      const reachesFailing = new Map(failing.map((o) => [o, reachingOutputs(graph, [o])]));
      // The first value beyond the tolerance, failing output or not (said where none fails).
      let firstBeyond: LocateReport['firstBitwise'] = null;
      // The same batch run twice: noise starts at a node whose inputs are bitwise equal in both
      // runs and whose output is not (a random op, a kernel whose reduction order varies); every
      // node after it merely carries the noise, so the source is named, not the first value
      // beyond the tolerance (a deterministic Mul that scales it up is no culprit).
      const exact = new Map<string, boolean>();
      const inputDependentValues = new Set(candidates.map((c) => c.output));
      const producer = new Map<string, GraphFacts['nodes'][number]>();
      for (const n of graph.nodes) for (const o of n.outputs) if (o) producer.set(o, n);
      const isSource = (output: string): boolean => {
        const n = producer.get(output);
        // A value not compared (not a tensor) may differ: then no node after it is a source.
        return !!n && [...n.inputs, ...outerReads(n)].every((i) => !i || !inputDependentValues.has(i) || exact.get(i) === true);
      };
      let source: { d: Divergence; within: boolean } | null = null;
      for (const w of watched) {
        const dtype = dtypes.get(w.output);
        const specs = failing.filter((o) => reachesFailing.get(o)?.has(w.output)).map(specOf);
        // A compared output is held to its own tolerance; an inner value to the global one.
        const own = comparedOutputs.includes(w.output) ? specOf(w.output) : options.tolerance;
        const c = dtype ? compareValue(w.output, toleranceOf(specs[0] ?? own, dtype)) : null;
        if (!dtype || !c) {
          skipped++;
          continue;
        }
        compared++;
        // A node's outputs are consecutive in `watched`: one entry per node, their largest.
        const last = profile[profile.length - 1];
        if (last && last.node === w.node) last.maxAbs = Math.max(last.maxAbs, c.maxAbs);
        else profile.push({ node: w.node, op: w.op, maxAbs: c.maxAbs });
        if (!c.bitExact && !firstBitwise) firstBitwise = { node: w.node, op: w.op, output: w.output, maxAbs: c.maxAbs };
        if (!c.pass && !firstBeyond) firstBeyond = { node: w.node, op: w.op, output: w.output, maxAbs: c.maxAbs };
        const beyondEach = () => specs.slice(1).every((spec) => !(compareValue(w.output, toleranceOf(spec, dtype)) as NonNullable<typeof c>).pass);
        exact.set(w.output, c.bitExact);
        if (sameBatch) {
          // Sources that reach a failing output: the first beyond its tolerance, else the first.
          if (!c.bitExact && specs.length > 0 && (!source || source.within) && isSource(w.output)) {
            const within = c.pass || !beyondEach();
            if (!source || !within) source = { d: { node: w.node, op: w.op, output: w.output, maxAbs: c.maxAbs, cause: choice.cause }, within };
          }
          continue;
        }
        if (!c.pass && !firstDivergence && specs.length > 0 && beyondEach()) firstDivergence = { node: w.node, op: w.op, output: w.output, maxAbs: c.maxAbs, cause: choice.cause };
      }
      if (sameBatch && failing.length > 0) {
        if (source) {
          firstDivergence = source.d;
          if (source.within && firstBeyond) notes.push(`the noise starts at '${source.d.node}' (${source.d.op}), which differs by ${num(source.d.maxAbs)}, within the tolerance; the nodes after it carry it beyond ('${firstBeyond.node}' (${firstBeyond.op}), by ${num(firstBeyond.maxAbs)})`);
        } else {
          // Every node that differs reads a value that differs: the start was not compared.
          notes.push('the compared outputs differ run to run, but no compared node differs with inputs equal in both runs (the noise starts in a value that could not be compared): no node is named');
        }
      }
      // The texts padded together (a batch of the probes at their longest) fail where nothing
      // locate searches does: said plainly, not left as a search that found nothing.
      const served = report.padding.comparisons.find((c) => c.run === 'served' && !c.pass);
      const searchable = report.batches.some((b) => !b.pass) || (report.outlier !== null && !report.outlier.pass) || report.padding.comparisons.some((c) => (c.run === 'unpadded' || c.run === 'pad-ids') && !c.pass);
      if (!firstDivergence && served && !searchable) {
        const longest = Math.max(...report.padding.lengths);
        notes.push(`the check fails only where the texts are padded together as a server pads a batch (by at most ${num(served.maxAbs)}), a run locate does not search (its texts are padded to the longest of them, ${longest} tokens, not to the ${report.padding.limit} every searched run has): no node is named`);
      }
      if (!firstDivergence && optimization === 'disabled' && !equal && report.verdict === 'violated') {
        notes.push('with graph optimization disabled nothing diverges beyond the tolerance: the difference comes from an optimized (fused) kernel');
      }
      if (failing.length === 0 && firstBeyond) {
        notes.push(`'${firstBeyond.node}' (${firstBeyond.op}) differs by ${num(firstBeyond.maxAbs)}, beyond the tolerance, but every compared output stays within its own (the check's comparison): no node is named`);
      }
      const profileTruncated = profile.length > PROFILE_LIMIT;
      if (profileTruncated) {
        notes.push(`profile: ${profile.length} compared nodes shown as ${PROFILE_LIMIT}, each the largest difference of ${Math.ceil(profile.length / PROFILE_LIMIT)} or fewer consecutive nodes (the first divergence kept)`);
      }
      const compared2: LocateReport['compared'] = {
        cause: choice.cause,
        batchSize: choice.size,
        probe: choice.probe,
        runs: [choice.a.purpose, choice.b.purpose],
        positions: [positionOf(choice.a, choice.probe), positionOf(choice.b, choice.probe)],
      };
      return {
        ...base,
        firstDivergence,
        firstBitwise,
        compared: compared2,
        guard: { equal, optimization, detail: guardDetail },
        values: { compared, skipped },
        profile: capProfile(profile, PROFILE_LIMIT, (firstDivergence ?? firstBitwise)?.node ?? null),
        profileTruncated,
        summary: summarize(firstDivergence, firstBitwise, compared2, failing.length === 0 && firstBeyond !== null),
        notes,
        timing: timing(),
      };
    } finally {
      await searchRunner.close();
    }
  } finally {
    await handle.close();
  }
}

/** ` 'a', 'b' differ` / ` 'a' differs`, after "the output(s)". */
function quotedNames(names: readonly string[]): string {
  return `${names.length > 1 ? 's' : ''} ${names.map((d) => `'${d}'`).join(', ')} ${names.length > 1 ? 'differ' : 'differs'}`;
}

const CAUSE_RUNS: Record<Cause, string> = {
  leakage: 'two batches that differ only in the batch-mates',
  position: 'the same batch with the probe at another position',
  'batch-size': 'the probe alone and in a batch',
  nondeterminism: 'the same batch run twice',
  padding: 'the probe alone, with other pad tokens',
};

function summarize(first: Divergence | null, bitwise: LocateReport['firstBitwise'], compared: NonNullable<LocateReport['compared']>, outputsWithin = false): string {
  // Leakage or position searched where the check fails, the probe alone against a batch (failingChoice).
  const runs = compared.runs[1] === 'outlier'
    ? `a batch with ordinary batch-mates and with batch-mates ${OUTLIER_SCALE} times larger (the outlier run, batch ${compared.batchSize})`
    : `${compared.runs[0] === 'reference' && compared.runs[1] !== 'reference-rerun' ? CAUSE_RUNS['batch-size'] : CAUSE_RUNS[compared.cause]} (batch ${compared.batchSize})`;
  if (first) {
    return `first divergence at node '${first.node}' (${first.op}), output '${first.output}', max abs ${num(first.maxAbs)}: ${compared.cause}, comparing ${runs}`;
  }
  // Scoped to the runs compared: the check may fail elsewhere (pad tokens, an outlier batch-mate).
  const none = outputsWithin ? `no compared output differs beyond its tolerance between ${runs}` : `no node differs beyond the tolerance between ${runs}`;
  if (bitwise) return `${none}; the first bitwise difference is at '${bitwise.node}' (${bitwise.op}), max abs ${num(bitwise.maxAbs)}`;
  return 'no node differs between the compared runs';
}
