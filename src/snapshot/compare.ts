import { DecadeHistogram, emptyHistogram, type LogHistogram } from '../compare/histogram';
import { compareArrays, Comparison } from '../compare/metrics';
import { BadInputError, formatValue } from '../errors';
import { describeTolerance, resolveTolerance, ResolvedTolerance, Tolerance } from '../compare/tolerance';
import { describeFingerprint, Fingerprint, fingerprintFromJson } from '../runtime/fingerprint';
import { tool } from '../version';
import type { Embeddings } from './embeddings';
import type { EmbeddingDType } from './format';
import { checkNeighborOption, compareNeighbors, NeighborReport } from './neighbors';
import { checkSnapshotOptions } from './options';
import type { ReportEnvelope } from '../report/envelope';
import { now } from '../runtime/clock';

/** The matcher's default: per-row cosine distance (1 - cos) at most 1e-6. */
export const DEFAULT_EMBEDDING_TOLERANCE: Tolerance = { cosine: 1e-6 };

/** Rows read a chunk at a time: a baseline file streams, an in-memory set is viewed in place. */
export interface RowSource {
  dtype: EmbeddingDType;
  rows: number;
  dim: number;
  /** Rows [start, start + count); the view may be reused by the next call. */
  read(start: number, count: number): Float32Array | Float64Array;
}

/** Embeddings held in memory as a RowSource, the shape compareEmbeddings reads rows through. */
export function memorySource(e: Embeddings): RowSource {
  return { dtype: e.dtype, rows: e.rows, dim: e.dim, read: (start, count) => e.data.subarray(start * e.dim, (start + count) * e.dim) };
}

/** One row as it compares with the baseline. */
export interface RowComparison {
  row: number;
  /** 1 - cosine similarity (NaN when not computed: a NaN or ±Inf in the row). */
  cosineDistance: number;
  maxAbs: number;
  maxUlp: number;
  /** Within the tolerance. */
  pass: boolean;
  /** Which side holds a NaN or ±Inf in this row, if any. */
  nonFinite: 'baseline' | 'current' | 'both' | null;
}

/** Non-finite values in a row, or in a whole side. */
export interface NonFiniteCounts {
  nan: number;
  posInf: number;
  negInf: number;
}

/** A row holding a NaN or ±Inf on either side, and whether it passed. */
export interface NonFiniteRow {
  row: number;
  baseline: NonFiniteCounts;
  current: NonFiniteCounts;
  pass: boolean;
}

/** One side of the comparison. */
export interface EmbeddingSide {
  dtype: EmbeddingDType;
  rows: number;
  dim: number;
  /** Rows holding at least one NaN, and the first few of them. */
  nanRows: number;
  nanRowIndices: number[];
  /** Rows holding at least one NaN or ±Inf, the first few of them, and how many of each value. */
  nonFiniteRows: number;
  nonFiniteRowIndices: number[];
  nonFiniteValues: NonFiniteCounts;
  file?: string;
  key?: string;
  created?: string;
  /** What produced this side (describeFingerprint's line), when known. */
  fingerprint?: string;
}

/**
 * Embeddings against their baseline: what the matcher's message and `batchproof diff` print,
 * and what `--json` writes.
 */
export interface EmbeddingReport extends ReportEnvelope<'embedding-diff'> {
  /** identical: bitwise equal; within-tolerance: every row within it; changed: anything beyond. */
  verdict: 'identical' | 'within-tolerance' | 'changed';
  pass: boolean;
  tolerance: string;
  toleranceSpec: ResolvedTolerance;
  baseline: EmbeddingSide;
  current: EmbeddingSide;
  /** Why no row was compared (dtype or shape differ), or null. */
  shapeMismatch: string | null;
  /** Rows compared. */
  rows: number;
  /** Rows beyond the tolerance (those failing for a NaN or ±Inf included). */
  movedRows: number;
  /** Rows not bitwise equal (within the tolerance or not). */
  changedRows: number;
  /**
   * Every row's cosine distance (1 - cos) by decade: `zero` rows at distance 0 (the bitwise
   * equal ones, and any whose difference does not move the cosine), `nonFinite` rows whose
   * distance is not defined (a NaN or ±Inf in the row), `counts[k]` rows with
   * edges[k] <= distance < edges[k + 1]. zero + nonFinite + the counts = rows.
   */
  cosineHistogram: LogHistogram;
  /** Of movedRows, those failing because of a NaN or ±Inf on either side (see compareEmbeddings). */
  nonFiniteRows: number;
  /** The first rows holding a NaN or ±Inf on either side, by row, each side's count. */
  nonFinite: NonFiniteRow[];
  /** The worst rows, worst first: those beyond the tolerance, then by cosine distance. */
  worst: RowComparison[];
  /** The smallest tolerance of each kind that would have passed every row. */
  minimumTolerance: { cosine: number; atol: number; ulp: number };
  /** With `neighbors: { k }`: how neighbour order changed. */
  neighbors: NeighborReport | null;
  /** The parts of the fingerprint that differ (baseline vs now), or null when equal or unknown. */
  fingerprint: { baseline: string; current: string } | null;
}

/** Options of compareEmbeddings: the tolerance, the neighbour check and the two sides' fingerprints. */
export interface CompareEmbeddingsOptions {
  /** Default { cosine: 1e-6 }. */
  tolerance?: Tolerance;
  /** Also compare each row's k nearest neighbours (loads both sets whole). */
  neighbors?: { k: number };
  baselineFingerprint?: Fingerprint | null;
  currentFingerprint?: Fingerprint | null;
  /** Bytes per chunk read from a file (default 4 MiB): peak memory is about two chunks. */
  chunkBytes?: number;
}

const WORST = 5;
const NAN_INDICES = 10;
const COMPARE_KEYS = ['tolerance', 'neighbors', 'baselineFingerprint', 'currentFingerprint', 'chunkBytes'] as const;

/**
 * Compares a set of embeddings with its baseline, row by row, a chunk at a time, so a baseline
 * file never has to be in memory whole. Each row that differs in its bits goes through
 * compareArrays (the same metrics as every other batchproof check); bitwise equal chunks and
 * rows are recognised with a memcmp and skipped.
 *
 * Non-finite values (what a demanding user expects of a snapshot):
 * - NaN never matches, not even a NaN at the same place (bitwise equal included, under every
 *   tolerance, 'exact' too): an embedding with NaN says nothing, and a baseline of it would pass
 *   forever.
 * - +Inf and -Inf are values: the same one at the same place on both sides is equal under every
 *   tolerance; against anything else (a finite value, the other infinity) the row fails.
 * - The cosine of a row with ±Inf is not defined: under a cosine tolerance such a row passes
 *   only when it is bitwise equal to its baseline; under atol/rtol and ulp the matched
 *   infinities count as no difference and the rest of the row is compared as usual.
 * Rows failing for these reasons count as moved and are reported by row (`nonFinite`).
 */
export function compareEmbeddings(baseline: RowSource, current: RowSource, options: CompareEmbeddingsOptions = {}): EmbeddingReport {
  checkSnapshotOptions(options, COMPARE_KEYS, 'compareEmbeddings');
  checkSource(baseline, 'baseline');
  checkSource(current, 'current');
  const started = now();
  const tol = resolveTolerance(options.tolerance ?? DEFAULT_EMBEDDING_TOLERANCE, baseline.dtype);
  const side = (s: RowSource): EmbeddingSide => ({
    dtype: s.dtype,
    rows: s.rows,
    dim: s.dim,
    nanRows: 0,
    nanRowIndices: [],
    nonFiniteRows: 0,
    nonFiniteRowIndices: [],
    nonFiniteValues: { nan: 0, posInf: 0, negInf: 0 },
  });
  const report: EmbeddingReport = {
    schema: 1,
    kind: 'embedding-diff',
    tool,
    verdict: 'identical',
    pass: true,
    tolerance: describeTolerance(tol),
    toleranceSpec: tol,
    baseline: side(baseline),
    current: side(current),
    shapeMismatch: shapeMismatch(baseline, current),
    rows: 0,
    movedRows: 0,
    changedRows: 0,
    cosineHistogram: emptyHistogram(),
    nonFiniteRows: 0,
    nonFinite: [],
    worst: [],
    minimumTolerance: { cosine: 0, atol: 0, ulp: 0 },
    neighbors: null,
    fingerprint: null,
    notes: [],
    timing: { totalMs: 0, inferenceMs: 0 },
  };
  // Nothing here runs a model: the time is reading and comparing.
  const finish = (): EmbeddingReport => ((report.timing = { totalMs: Math.round(now() - started), inferenceMs: 0 }), report);
  describeSides(report, options.baselineFingerprint, options.currentFingerprint);
  if (report.shapeMismatch) {
    report.verdict = 'changed';
    report.pass = false;
    return finish();
  }
  const k = options.neighbors !== undefined ? checkNeighborOption(options.neighbors, baseline.rows) : 0;
  const { rows, dim, dtype } = baseline;
  const itemBytes = dtype === 'float32' ? 4 : 8;
  const chunkRows = Math.max(1, Math.floor((options.chunkBytes ?? 4 << 20) / (dim * itemBytes)));
  const nanB: number[] = [];
  const nanC: number[] = [];
  const countsA: NonFiniteCounts = { nan: 0, posInf: 0, negInf: 0 };
  const countsB: NonFiniteCounts = { nan: 0, posInf: 0, negInf: 0 };
  const distances = new DecadeHistogram();
  for (let start = 0; start < rows; start += chunkRows) {
    const n = Math.min(chunkRows, rows - start);
    const a = baseline.read(start, n);
    const b = current.read(start, n);
    const sameChunk = bytesEqual(a, b);
    for (let r = 0; r < n; r++) {
      const row = start + r;
      const ra = a.subarray(r * dim, (r + 1) * dim);
      const rb = b.subarray(r * dim, (r + 1) * dim);
      const finiteA = countNonFinite(ra, countsA);
      const finiteB = sameChunk ? finiteA : countNonFinite(rb, countsB);
      if (sameChunk && !finiteA) copyCounts(countsA, countsB);
      if (!finiteA) noteNonFinite(report.baseline, row, countsA, nanB);
      if (!finiteB) noteNonFinite(report.current, row, countsB, nanC);
      const same = sameChunk || bytesEqual(ra, rb);
      if (same && finiteA) {
        distances.zero++;
        continue;
      }
      let c: Comparison | null = null;
      let pass: boolean;
      if (finiteA && finiteB) {
        c = compareArrays(ra, rb, dtype, tol);
        pass = c.pass;
      } else if (countsA.nan > 0 || countsB.nan > 0) {
        pass = false; // NaN equals nothing, itself included
      } else if (same) {
        pass = true; // the same ±Inf at the same places
      } else if (tol.kind === 'cosine' || !sameInfinities(ra, rb)) {
        pass = false; // cosine of ±Inf is undefined; an infinity against anything else is a difference
      } else {
        c = compareArrays(ra, rb, dtype, tol);
        pass = c.pass;
      }
      const nonFinite = finiteA && finiteB ? null : finiteB ? 'baseline' : finiteA ? 'current' : 'both';
      if (nonFinite && report.nonFinite.length < NAN_INDICES) report.nonFinite.push({ row, baseline: { ...countsA }, current: { ...countsB }, pass });
      if (same && pass) {
        distances.zero++; // the same ±Inf at the same places: bitwise equal
        continue;
      }
      if (!same) report.changedRows++;
      const comparison: RowComparison = {
        row,
        cosineDistance: c ? Math.max(0, 1 - c.cosine) : NaN,
        maxAbs: c ? c.maxAbs : same ? 0 : Infinity,
        maxUlp: c ? c.maxUlp : same ? 0 : Infinity,
        pass,
        nonFinite,
      };
      distances.add(comparison.cosineDistance);
      if (!pass) {
        report.movedRows++;
        if (!c) report.nonFiniteRows++;
      }
      const m = report.minimumTolerance;
      // A row no tolerance can pass (a NaN, an unmatched infinity) needs an infinite one.
      m.cosine = Math.max(m.cosine, Number.isNaN(comparison.cosineDistance) ? Infinity : comparison.cosineDistance);
      m.atol = Math.max(m.atol, c ? c.maxAbs : Infinity);
      m.ulp = Math.max(m.ulp, c ? c.maxUlp : Infinity);
      offerWorst(report.worst, comparison);
    }
  }
  report.rows = rows;
  report.cosineHistogram = distances.result();
  finishNaN(report.baseline, nanB);
  finishNaN(report.current, nanC);
  if (k > 0) {
    // Neighbour order needs every row at once: read both sets whole (sets this size are small).
    const whole = (s: RowSource): Embeddings => ({ dtype, rows, dim, data: s.read(0, rows).slice() });
    report.neighbors = compareNeighbors(whole(baseline), whole(current), k);
  }
  report.pass = report.movedRows === 0 && (report.neighbors?.changedRows ?? 0) === 0;
  report.verdict = !report.pass ? 'changed' : report.changedRows > 0 ? 'within-tolerance' : 'identical';
  return finish();
}

/** A RowSource as compareEmbeddings reads it; a wrong one is bad input, not a TypeError inside the loop. */
function checkSource(s: RowSource, which: string): void {
  const ok =
    typeof s === 'object' && s !== null && (s.dtype === 'float32' || s.dtype === 'float64') && Number.isSafeInteger(s.rows) && s.rows >= 0 &&
    Number.isSafeInteger(s.dim) && s.dim > 0 && typeof s.read === 'function';
  if (!ok) throw new BadInputError(`compareEmbeddings: the ${which} must be a row source (memorySource(embeddings) or openBaseline(file)), got ${formatValue(s)}`);
}

/** Counts a row's NaN and ±Inf into `into` (reset first); true when the row is all finite. */
function countNonFinite(row: Float32Array | Float64Array, into: NonFiniteCounts): boolean {
  into.nan = 0;
  into.posInf = 0;
  into.negInf = 0;
  let finite = true;
  for (let i = 0; i < row.length; i++) {
    const x = row[i];
    // x - x is 0 for every finite value and NaN for NaN and ±Inf: one test in the common case.
    if (x - x === 0) continue;
    finite = false;
    if (x !== x) into.nan++;
    else if (x > 0) into.posInf++;
    else into.negInf++;
  }
  return finite;
}

function copyCounts(from: NonFiniteCounts, to: NonFiniteCounts): void {
  to.nan = from.nan;
  to.posInf = from.posInf;
  to.negInf = from.negInf;
}

function noteNonFinite(side: EmbeddingSide, row: number, counts: NonFiniteCounts, nanRows: number[]): void {
  side.nonFiniteRows++;
  if (side.nonFiniteRowIndices.length < NAN_INDICES) side.nonFiniteRowIndices.push(row);
  side.nonFiniteValues.nan += counts.nan;
  side.nonFiniteValues.posInf += counts.posInf;
  side.nonFiniteValues.negInf += counts.negInf;
  if (counts.nan > 0) nanRows.push(row);
}

/** Every infinity on either side is met by the same infinity on the other (no NaN: checked before). */
function sameInfinities(a: Float32Array | Float64Array, b: Float32Array | Float64Array): boolean {
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if ((x - x !== 0 || y - y !== 0) && x !== y) return false;
  }
  return true;
}

function shapeMismatch(b: RowSource, c: RowSource): string | null {
  if (b.dtype !== c.dtype) return `the baseline is ${b.dtype}, the embeddings are ${c.dtype}`;
  if (b.rows !== c.rows || b.dim !== c.dim) return `the baseline is ${b.rows} x ${b.dim}, the embeddings are ${c.rows} x ${c.dim}`;
  return null;
}

function bytesEqual(a: Float32Array | Float64Array, b: Float32Array | Float64Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function finishNaN(side: EmbeddingSide, rows: number[]): void {
  side.nanRows = rows.length;
  side.nanRowIndices = rows.slice(0, NAN_INDICES);
}

/** Failing rows first, then by cosine distance (NaN counts as the worst), then max abs. */
function severity(r: RowComparison): [number, number, number] {
  return [r.pass ? 0 : 1, Number.isNaN(r.cosineDistance) ? Infinity : r.cosineDistance, r.maxAbs];
}

function worse(a: RowComparison, b: RowComparison): boolean {
  const x = severity(a);
  const y = severity(b);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] > y[i];
  return false;
}

function offerWorst(list: RowComparison[], row: RowComparison): void {
  if (list.length === WORST && !worse(row, list[WORST - 1])) return;
  let p = list.length === WORST ? WORST - 1 : list.length;
  list[p] = row;
  while (p > 0 && worse(list[p], list[p - 1])) {
    [list[p], list[p - 1]] = [list[p - 1], list[p]];
    p--;
  }
}

/** The fingerprint as labelled parts, so a difference can name only what changed. */
function fingerprintParts(f: Partial<Fingerprint>): [string, string][] {
  const simd = (f.cpu?.flags ?? []).filter((x) => /avx|neon|sve|amx/.test(x));
  const threads = f.threads === undefined ? 'threads unknown' : f.threads === 'default' ? `default threads (${f.cores} cores)` : `${f.threads} thread${f.threads === 1 ? '' : 's'}`;
  const env = Object.entries(f.numericsEnv ?? {}).map(([k, v]) => `${k}=${v}`);
  // Session config entries and provider options change kernels too (mlas.enable_gemm_fastmath_*,
  // a device id): two baselines apart only there do not "agree".
  const config = Object.entries(f.sessionConfig ?? {}).filter(([k]) => k !== 'session.use_deterministic_compute').map(([k, v]) => `${k}=${v}`);
  const options = Object.entries(f.providerOptions ?? {}).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  const wasm = f.wasm ? ` (${f.wasm.simd === false ? 'no SIMD check' : `SIMD${typeof f.wasm.simd === 'string' ? ` ${f.wasm.simd}` : ''}`})` : '';
  return [
    ['onnxruntime', `${f.wasm ? 'onnxruntime-web' : 'onnxruntime'} ${f.onnxruntime ?? 'unknown'}`],
    ['provider', `${f.provider ?? 'unknown provider'}${wasm}${options.length ? ` {${options.join(', ')}}` : ''}${f.gpu ? ` (${f.gpu})` : ''}`],
    ['threads', threads],
    ['session config', config.length ? config.join(' ') : 'no session config'],
    ['optimization', `optimization ${f.optimization ?? 'unknown'}`],
    ['deterministic', f.deterministic ? 'deterministic compute' : 'default compute'],
    ['cpu', `${f.cpu?.model ?? 'unknown cpu'}${simd.length ? ` [${simd.join(' ')}]` : ''}`],
    ['os', `${(f.os ?? 'unknown').split(' ')[0]} ${f.arch ?? ''}`.trim()],
    ['node', `node ${f.node ?? 'unknown'}`],
    ['env', env.length ? env.join(' ') : 'no numerics env'],
  ];
}

/** "baseline: webgpu, 16 threads; now: cpu, 2 threads": only the parts that differ. */
export function fingerprintDifference(baseline?: Fingerprint | null, current?: Fingerprint | null): { baseline: string; current: string } | null {
  if (!baseline || !current) return null;
  const b = fingerprintParts(baseline);
  const c = fingerprintParts(current);
  const differ = b.map((p, i) => i).filter((i) => b[i][1] !== c[i][1]);
  if (differ.length === 0) return null;
  return { baseline: differ.map((i) => b[i][1]).join(', '), current: differ.map((i) => c[i][1]).join(', ') };
}

/**
 * Records what produced each side (describeFingerprint's line) and the parts that differ, so
 * every failure message can say where the embeddings came from.
 */
export function describeSides(report: EmbeddingReport, baselineGiven?: Fingerprint | null, currentGiven?: Fingerprint | null): void {
  // A `fingerprint` option is any object: one with fields of the wrong type reads as partly unknown.
  const baseline = fingerprintFromJson(baselineGiven);
  const current = fingerprintFromJson(currentGiven);
  if (baseline) report.baseline.fingerprint = describeFingerprint(baseline);
  if (current) report.current.fingerprint = describeFingerprint(current);
  report.fingerprint = fingerprintDifference(baseline, current);
}

/** The user-facing tolerance a resolved one came from (for a baseline's recorded tolerance). */
export function toleranceFromResolved(t: ResolvedTolerance): Tolerance {
  switch (t.kind) {
    case 'exact': return 'exact';
    case 'allclose': return { atol: t.atol, rtol: t.rtol };
    case 'ulp': return { ulp: t.ulp };
    case 'cosine': return { cosine: t.cosine };
  }
}
