import { compareDiffering, Comparison } from '../compare/metrics';
import { ComparisonSummary } from '../compare/summary';
import type { ResolvedTolerance } from '../compare/tolerance';
import { countNonFinite } from '../inputs/arrays';
import type { BatchOutputReport, BatchReport, Cause, InvarianceReport, Verdict, WorstElement } from './report';
import type { PaddingComparison } from './padding';
import type { OutputLayout, ProbeRow } from './run';
import { sameOutput } from './row-identity';

type Analysis = Pick<InvarianceReport, 'verdict' | 'causes' | 'batches' | 'reruns' | 'minimumTolerance' | 'worst' | 'nonFinite' | 'toleranceSpec' | 'outlier'> & {
  /** Sequence padding's runs against their baselines (empty when padding is not tested). */
  paddingComparisons: PaddingComparison[];
  /** Padding runs that compared nothing (every output's sequence axis unknown): said in a note. */
  paddingNotCompared: { run: PaddingComparison['run']; outputs: string[] }[];
  /**
   * Comparisons beyond the tolerance that no table row shows: two runs of one size (batch-mates
   * or places changed) and the same batch twice. The summary names them where they fail.
   */
  unseenFailures: { pairs: { size: number; maxAbs: number }[]; reruns: { size: number; maxAbs: number }[] };
};

/** What the analysis reads of one output's comparison. */
type Metrics = Pick<Comparison, 'bitExact' | 'pass' | 'maxAbs' | 'maxRel' | 'maxUlp' | 'l1' | 'cosine' | 'worstIndex' | 'expected' | 'actual'>;

/**
 * A bitwise-equal output, told so by row-identity.ts without comparing element by element. Its
 * worst element is never read: only differing comparisons have one (ComparisonSummary).
 */
const EXACT: Metrics = { bitExact: true, pass: true, maxAbs: 0, maxRel: 0, maxUlp: 0, l1: 0, cosine: 1, worstIndex: 0, expected: NaN, actual: NaN };

/** All outputs of one probe row compared with another row of the same probe. */
interface RowComparison {
  pass: boolean;
  bitExact: boolean;
  byOutput: Record<string, Metrics>;
}

/**
 * `sizesMayDiffer`: rows of two token layouts (sequence padding) whose output has no known
 * sequence axis differ in size and are left out (the caller says so); anywhere else a size
 * mismatch is a bug, never a silently smaller comparison.
 */
function compareRows(expected: ProbeRow, actual: ProbeRow, layouts: readonly OutputLayout[], tolerances: Record<string, ResolvedTolerance>, sizesMayDiffer = false): RowComparison {
  const byOutput: Record<string, Metrics> = {};
  let pass = true;
  let bitExact = true;
  for (const l of layouts) {
    const e = expected.outputs[l.name];
    const a = actual.outputs[l.name];
    if (e.length !== a.length) {
      if (sizesMayDiffer) continue;
      throw new Error(`rows of output '${l.name}' differ in size (${e.length} and ${a.length}) in ${expected.purpose} and ${actual.purpose} runs`);
    }
    // Most rows equal what they are compared with; the others get the full metrics.
    const c = sameOutput(e, a, l.dtype) ? EXACT : compareDiffering(e, a, l.dtype, tolerances[l.name]);
    byOutput[l.name] = c;
    pass &&= c.pass;
    bitExact &&= c.bitExact;
  }
  return { pass, bitExact, byOutput };
}

/** The sweep's runs of a size, each compared with the reference. */
const SWEEP_PURPOSES = new Set(['batch', 'mates', 'permuted']);

/**
 * Turns the kept probe rows into the verdict, causes and tables. Pure: no inference here.
 * Each probe's `reference` row is the expected value; the other purposes isolate causes:
 * batch vs mates = leakage, batch vs permuted = position, reruns = nondeterminism, and what
 * remains of batch vs reference = batch-size.
 */
export function analyse(rows: readonly ProbeRow[], layouts: readonly OutputLayout[], tolerances: Record<string, ResolvedTolerance>): Analysis {
  const reference = new Map<number, ProbeRow>();
  for (const r of rows) if (r.purpose === 'reference') reference.set(r.probe, r);
  // Rows indexed once, not searched again for every size and probe (quadratic in the rows).
  const first = new Map<string, ProbeRow>();
  const bySize = new Map<number, ProbeRow[]>();
  for (const r of rows) {
    const key = `${r.purpose} ${r.size} ${r.probe}`;
    if (!first.has(key)) first.set(key, r);
    const same = bySize.get(r.size);
    if (same) same.push(r);
    else bySize.set(r.size, [r]);
  }
  const find = (purpose: string, size: number, probe: number) => first.get(`${purpose} ${size} ${probe}`);

  let allExact = true;
  let allPass = true;
  const causes = new Set<Cause>();
  // Minimum tolerance and worst element: the same accumulator as compareProviders uses.
  const summary = new ComparisonSummary<WorstElement>();
  const account = (c: RowComparison, row: ProbeRow): void => {
    allExact &&= c.bitExact;
    allPass &&= c.pass;
    // Equal rows move no minimum and have no worst element.
    if (c.bitExact) return;
    for (const l of layouts) {
      summary.add(l, c.byOutput[l.name], (detail) => ({
        output: l.name,
        batchSize: row.size,
        position: row.position,
        probe: row.probe,
        run: row.purpose,
        ...detail,
      }));
    }
  };

  const reruns: Analysis['reruns'] = [];
  const unseenFailures: Analysis['unseenFailures'] = { pairs: [], reruns: [] };
  const rerunOf = (purpose: 'reference-rerun' | 'rerun', basePurpose: 'reference' | 'batch') => {
    const pairs = rows.filter((r) => r.purpose === purpose);
    if (pairs.length === 0) return;
    let bitExact = true;
    let pass = true;
    let maxAbs = 0;
    for (const again of pairs) {
      const first = find(basePurpose, again.size, again.probe) as ProbeRow;
      const c = compareRows(first, again, layouts, tolerances);
      account(c, again);
      bitExact &&= c.bitExact;
      pass &&= c.pass;
      maxAbs = Math.max(maxAbs, ...Object.values(c.byOutput).map((m) => m.maxAbs));
    }
    if (!bitExact) causes.add('nondeterminism');
    if (!pass) unseenFailures.reruns.push({ size: pairs[0].size, maxAbs });
    reruns.push({ run: purpose === 'rerun' ? 'largest batch' : 'reference', size: pairs[0].size, bitExact, maxAbs });
  };
  rerunOf('reference-rerun', 'reference');
  rerunOf('rerun', 'batch');

  const sizes = [...new Set(rows.filter((r) => r.purpose === 'batch').map((r) => r.size))].sort((a, b) => a - b);
  const batches: BatchReport[] = sizes.map((size) => {
    const sizeCauses = new Set<Cause>();
    const stats = { maxAbs: 0, maxRel: 0, maxUlp: 0, maxL1: 0, minCosine: 1, equal: 0, compared: 0, pass: true };
    // The same figures kept per output, from the comparisons already made (no second pass).
    const perOutput: BatchOutputReport[] = layouts.map((l) => ({ output: l.name, maxAbs: 0, maxUlp: 0, pass: true }));
    const drifted: number[] = [];
    const explained = new Set<number>();
    const leaked = new Set<number>();
    const moved = new Set<number>();
    let pairFailure = -1;
    const ofSize = bySize.get(size) ?? [];
    for (const row of ofSize.filter((r) => SWEEP_PURPOSES.has(r.purpose))) {
      const ref = reference.get(row.probe) as ProbeRow;
      const c = compareRows(ref, row, layouts, tolerances);
      account(c, row);
      stats.compared++;
      // An equal row moves none of the figures below (all zero, cosine 1).
      if (c.bitExact) {
        stats.equal++;
        continue;
      }
      stats.pass &&= c.pass;
      for (const o of perOutput) {
        const m = c.byOutput[o.output];
        if (m.maxAbs > o.maxAbs) o.maxAbs = m.maxAbs;
        if (m.maxUlp > o.maxUlp) o.maxUlp = m.maxUlp;
        o.pass &&= m.pass;
      }
      for (const m of Object.values(c.byOutput)) {
        stats.maxAbs = Math.max(stats.maxAbs, m.maxAbs);
        stats.maxRel = Math.max(stats.maxRel, m.maxRel);
        stats.maxUlp = Math.max(stats.maxUlp, m.maxUlp);
        stats.maxL1 = Math.max(stats.maxL1, m.l1);
        stats.minCosine = Math.min(stats.minCosine, Number.isNaN(m.cosine) ? -Infinity : m.cosine);
      }
      if (row.purpose === 'batch') drifted.push(row.probe);
    }
    // Which change moved each probe: `mates` changed both its place and its batch-mates;
    // `permuted` (run only when `mates` differed) has mates' places with batch's batch-mates.
    for (const probe of new Set(ofSize.map((r) => r.probe))) {
      const batch = find('batch', size, probe);
      const mates = find('mates', size, probe);
      const permuted = find('permuted', size, probe);
      if (!batch) continue;
      const differs = (a: ProbeRow | undefined, b: ProbeRow | undefined): boolean => {
        if (!a || !b) return false;
        const pair = compareRows(a, b, layouts, tolerances);
        allPass &&= pair.pass;
        // Passing this pair is part of the verdict, so the minimum tolerance must pass it too.
        if (!pair.bitExact) for (const l of layouts) summary.bound(l, pair.byOutput[l.name]);
        if (!pair.pass) pairFailure = Math.max(pairFailure, ...Object.values(pair.byOutput).map((m) => m.maxAbs));
        return !pair.bitExact;
      };
      const matesMoved = differs(batch, mates);
      const placeMoved = differs(batch, permuted);
      if (matesMoved && (permuted ? differs(permuted, mates) : true)) leaked.add(probe);
      if (placeMoved) moved.add(probe);
      if (matesMoved || placeMoved) explained.add(probe);
    }
    if (pairFailure >= 0) unseenFailures.pairs.push({ size, maxAbs: pairFailure });
    // Swapping rows also reorders any reduction across the batch, so where samples leak a
    // permuted batch differs for that reason alone: position counts only without leakage.
    if (leaked.size > 0) sizeCauses.add('leakage');
    else if (moved.size > 0) sizeCauses.add('position');
    // What remains against the reference, unexplained by mates or places, is the batch size.
    if (drifted.some((p) => !explained.has(p)) && !sizeCauses.has('leakage')) sizeCauses.add('batch-size');
    sizeCauses.forEach((c) => causes.add(c));
    const positions = [...new Set(ofSize.filter((r) => r.purpose === 'batch').map((r) => r.position))];
    return {
      size,
      positions,
      maxAbs: stats.maxAbs,
      maxRel: stats.maxRel,
      maxUlp: stats.maxUlp,
      maxL1: stats.maxL1,
      minCosine: stats.minCosine,
      bitExact: stats.equal === stats.compared,
      equalRows: stats.equal,
      comparedRows: stats.compared,
      pass: stats.pass,
      causes: [...sizeCauses],
      outputs: perOutput,
    };
  });

  // Sequence padding: each probe alone at its own length and with other ids in its pads,
  // against itself alone padded to the limit; a change is `padding`. The probes padded together
  // (as a server pads a batch) against each alone unpadded answers the serving question; the
  // other side is reported, not a cause (models with absolute positions expect one side).
  const paddingComparisons: PaddingComparison[] = [];
  const paddingNotCompared: Analysis['paddingNotCompared'] = [];
  const baseline = (probe: number) => rows.find((r) => r.purpose === 'padded' && r.probe === probe) ?? reference.get(probe);
  const against: Record<PaddingComparison['run'], string> = {
    unpadded: 'alone, padded to the limit',
    'pad-ids': 'alone, padded to the limit',
    'other-side': 'alone, padded to the limit',
    served: 'alone, unpadded',
  };
  // An output whose rows change size with the tokens has a sequence axis the trimming could not
  // find (its dims do not name it): its pad positions would be compared, so it is left out of
  // every padding comparison, not only of those where the sizes differ.
  const untrimmed = new Set(rows.filter((r) => r.purpose === 'unpadded').flatMap((r) => {
    const base = baseline(r.probe);
    return base ? layouts.filter((l) => base.outputs[l.name].length !== r.outputs[l.name].length).map((l) => l.name) : [];
  }));
  const paddingLayouts = layouts.filter((l) => !untrimmed.has(l.name));
  for (const [run, purpose] of [['unpadded', 'unpadded'], ['pad-ids', 'pad-ids'], ['other-side', 'other-side'], ['served', 'served-padded']] as const) {
    const found = rows.filter((r) => r.purpose === purpose);
    if (found.length === 0) continue;
    const result: PaddingComparison = { run, against: against[run], maxAbs: 0, bitExact: true, pass: true, skipped: [...untrimmed] };
    let compared = 0;
    for (const row of found) {
      const base = run === 'served' ? rows.find((r) => r.purpose === 'unpadded' && r.probe === row.probe) : baseline(row.probe);
      if (!base) continue;
      const c = compareRows(base, row, paddingLayouts, tolerances, true);
      for (const l of layouts) if (!c.byOutput[l.name] && !result.skipped.includes(l.name)) result.skipped.push(l.name);
      // Nothing compared is not a bitwise-equal row: it is left out (and the skip reported).
      if (Object.keys(c.byOutput).length === 0) continue;
      compared++;
      if (run !== 'other-side') account(c, row);
      // Padded on the other side yet equal to the text unpadded: the side, not the pads, moves it.
      const unpadded = run === 'other-side' ? rows.find((r) => r.purpose === 'unpadded' && r.probe === row.probe) : undefined;
      if (unpadded) result.matchesUnpadded = (result.matchesUnpadded ?? true) && compareRows(unpadded, row, paddingLayouts, tolerances, true).pass;
      result.bitExact &&= c.bitExact;
      result.pass &&= c.pass;
      result.maxAbs = Math.max(result.maxAbs, ...Object.values(c.byOutput).map((m) => m.maxAbs));
    }
    if (compared === 0) {
      // Every output was left out: the runs proved nothing, so they are not reported as equal.
      paddingNotCompared.push({ run, outputs: result.skipped });
      continue;
    }
    if ((run === 'unpadded' || run === 'pad-ids') && !result.bitExact) causes.add('padding');
    paddingComparisons.push(result);
  }

  // An outlier batch-mate (outlier.ts) against the same batch with ordinary batch-mates.
  let outlier = null as Analysis['outlier'];
  for (const row of rows.filter((r) => r.purpose === 'outlier')) {
    const base = find('batch', row.size, row.probe);
    if (!base) continue;
    const c = compareRows(base, row, layouts, tolerances);
    account(c, row);
    outlier = {
      size: row.size,
      probe: row.probe,
      maxAbs: Math.max(outlier?.maxAbs ?? 0, ...Object.values(c.byOutput).map((m) => m.maxAbs)),
      bitExact: (outlier?.bitExact ?? true) && c.bitExact,
      pass: (outlier?.pass ?? true) && c.pass,
    };
    if (!c.bitExact) causes.add('leakage');
  }

  const nonFinite = layouts
    .map((l) => ({
      output: l.name,
      count: rows.reduce((n, r) => n + countNonFinite(r.outputs[l.name], l.dtype), 0),
    }))
    .filter((x) => x.count > 0);
  const verdict: Verdict = allExact ? 'invariant' : allPass ? 'within-tolerance' : 'violated';
  // When the same batch differs run to run, every other comparison is noisy too: leakage,
  // position and batch size cannot be told apart until that is fixed.
  if (causes.has('nondeterminism')) {
    causes.clear();
    causes.add('nondeterminism');
    for (const b of batches) b.causes = b.causes.length > 0 ? ['nondeterminism'] : [];
  }
  const order: Cause[] = ['leakage', 'nondeterminism', 'padding', 'position', 'batch-size'];
  return {
    verdict,
    causes: order.filter((c) => causes.has(c)),
    batches,
    reruns,
    minimumTolerance: summary.minimum,
    worst: summary.worst,
    nonFinite,
    paddingComparisons,
    paddingNotCompared,
    outlier,
    unseenFailures,
    toleranceSpec: { ...tolerances },
  };
}
