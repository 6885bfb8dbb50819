import { BadInputError, formatValue } from '../errors';
import type { Embeddings } from './embeddings';

/** How the k nearest neighbours (by cosine, within the set) of each row changed. */
export interface NeighborReport {
  k: number;
  /** Rows whose neighbour list changed order (or members). */
  changedRows: number;
  /** Rows compared (rows holding a NaN or ±Inf are left out, on either side). */
  comparedRows: number;
  /** The first few changes. */
  examples: { row: number; baseline: number[]; current: number[] }[];
}

/** Every pair of rows is compared (about 5 s at 4,000 x 256): past this many rows it would take minutes. */
export const MAX_NEIGHBOR_ROWS = 20_000;
/** Baseline similarities closer than this are ties: their order is not a regression. */
const TIE = 1e-9;
const EXAMPLES = 5;

/**
 * Checks `neighbors: { k }` against the set size; one-line errors, naming the API's option and,
 * in brackets, diff's flag (the CLI user gave `--neighbors`, not `neighbors.k`).
 */
export function checkNeighborOption(neighbors: unknown, rows: number): number {
  const k = (neighbors as { k?: unknown })?.k;
  if (typeof neighbors !== 'object' || neighbors === null || typeof k !== 'number' || !Number.isSafeInteger(k) || k < 1) {
    throw new BadInputError(`neighbors must be { k } with k a positive whole number, got ${formatValue(neighbors)}`);
  }
  if (k >= rows) throw new BadInputError(`neighbors.k (CLI --neighbors) ${k} needs more than ${k} rows; the set has ${rows}: ${rows > 1 ? `give a k of at most ${rows - 1}` : 'one row has no neighbours, leave it out'}`);
  if (rows > MAX_NEIGHBOR_ROWS) {
    throw new BadInputError(`neighbors (CLI --neighbors) compares every pair of rows: ${rows} rows is too many (at most ${MAX_NEIGHBOR_ROWS}); leave it out, or check a sample of the rows instead`);
  }
  return k;
}

/** Rows scaled to unit length (zero rows stay zero), in float64, with rows holding NaN or ±Inf flagged. */
function normalize(e: Embeddings, skip: Uint8Array): Float64Array {
  const out = new Float64Array(e.rows * e.dim);
  for (let r = 0; r < e.rows; r++) {
    const o = r * e.dim;
    let max = 0;
    let finite = true;
    for (let i = o; i < o + e.dim; i++) {
      // ±Inf would scale to NaN (Inf * 0) and drop the row from every list silently.
      if (e.data[i] - e.data[i] !== 0) finite = false;
      else max = Math.max(max, Math.abs(e.data[i]));
    }
    if (!finite) {
      skip[r] = 1;
      continue;
    }
    if (max === 0) continue;
    // Scaled by the largest value first: float64 squares past 1e154 overflow (the row would be
    // left out) and below 1e-154 vanish (every row would read as zero, every order a tie).
    let norm = 0;
    for (let i = o; i < o + e.dim; i++) norm += (e.data[i] / max) ** 2;
    const s = 1 / Math.sqrt(norm);
    for (let i = o; i < o + e.dim; i++) out[i] = (e.data[i] / max) * s;
  }
  return out;
}

/** Dot product of two rows of one array, unrolled by four (the whole cost of the check). */
function dot(u: Float64Array, a: number, b: number, dim: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let d = 0;
  for (; d + 3 < dim; d += 4) {
    s0 += u[a + d] * u[b + d];
    s1 += u[a + d + 1] * u[b + d + 1];
    s2 += u[a + d + 2] * u[b + d + 2];
    s3 += u[a + d + 3] * u[b + d + 3];
  }
  for (; d < dim; d++) s0 += u[a + d] * u[b + d];
  return s0 + s1 + (s2 + s3);
}

/**
 * The k most similar other rows of every row, most similar first (ties: lower index first).
 * Each pair is computed once and offered to both rows: half the work of the naive loop.
 */
function topK(unit: Float64Array, rows: number, dim: number, k: number, skip: Uint8Array): { idx: Int32Array; sim: Float64Array } {
  const idx = new Int32Array(rows * k).fill(-1);
  const sim = new Float64Array(rows * k).fill(-Infinity);
  const offer = (r: number, j: number, s: number) => {
    const base = r * k;
    let p = k - 1;
    // Strictly greater: an equal similarity keeps the earlier (lower) index ahead.
    if (!(s > sim[base + p])) return;
    while (p > 0 && s > sim[base + p - 1]) {
      sim[base + p] = sim[base + p - 1];
      idx[base + p] = idx[base + p - 1];
      p--;
    }
    sim[base + p] = s;
    idx[base + p] = j;
  };
  for (let i = 0; i < rows; i++) {
    if (skip[i]) continue;
    for (let j = i + 1; j < rows; j++) {
      if (skip[j]) continue;
      const s = dot(unit, i * dim, j * dim, dim);
      offer(i, j, s);
      offer(j, i, s);
    }
  }
  return { idx, sim };
}

/** Compares neighbour order between a baseline and the current set (same shape). */
export function compareNeighbors(baseline: Embeddings, current: Embeddings, k: number): NeighborReport {
  const { rows, dim } = baseline;
  const skip = new Uint8Array(rows);
  const ub = normalize(baseline, skip);
  const uc = normalize(current, skip);
  const b = topK(ub, rows, dim, k, skip);
  const c = topK(uc, rows, dim, k, skip);
  const simB = (i: number, j: number) => dot(ub, i * dim, j * dim, dim);
  let changedRows = 0;
  let comparedRows = 0;
  const examples: NeighborReport['examples'] = [];
  for (let i = 0; i < rows; i++) {
    if (skip[i]) continue;
    comparedRows++;
    let changed = false;
    for (let p = 0; p < k && !changed; p++) {
      const was = b.idx[i * k + p];
      const now = c.idx[i * k + p];
      // A swap between rows the baseline rates equally similar is not a change users can feel.
      if (was !== now && Math.abs(simB(i, was) - simB(i, now)) > TIE) changed = true;
    }
    if (!changed) continue;
    changedRows++;
    if (examples.length < EXAMPLES) {
      examples.push({ row: i, baseline: Array.from(b.idx.subarray(i * k, (i + 1) * k)), current: Array.from(c.idx.subarray(i * k, (i + 1) * k)) });
    }
  }
  return { k, changedRows, comparedRows, examples };
}
