import { BadInputError, formatValue } from '../errors';
import type { TokenLayout } from './padding';

/**
 * Batch sizes where kernels tend to switch reduction order: small odd sizes, powers of two and
 * their neighbours. Capped by maxBatch.
 */
export const DEFAULT_SWEEP = [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64];
/** The largest batch the default sweep runs (the `maxBatch` option's default). */
export const DEFAULT_MAX_BATCH = 64;
export const DEFAULT_PROBES = 3;

/** Why a run is in the plan; each purpose isolates one cause (see ARCHITECTURE.md). */
export type RunPurpose =
  | 'reference' // each probe alone at the reference size
  | 'reference-rerun' // the same again: a difference is nondeterminism
  | 'batch' // probes at first, middle, last among batch-mates
  | 'mates' // probes moved to each other's places, other batch-mates: no difference, no leakage or position
  | 'permuted' // batch's rows with probes moved as in mates: splits a difference into position and leakage
  | 'rerun' // the largest batch again: nondeterminism under load
  | 'recipe' // a batch with filler rows that verifies a padding recipe
  // Sequence padding (pad tokens, see padding.ts), each probe alone unless said:
  | 'padded' // padded to the limit (only when the reference batch is not 1: the baseline of the others)
  | 'unpadded' // at its own length, no pad tokens
  | 'pad-ids' // padded to the limit, other token ids in its pad positions
  | 'other-side' // padded to the limit on the other side
  | 'served-padded' // the probes together, padded to the longest, as a server pads a batch
  | 'outlier'; // the smallest batch again with its other rows 100 times larger (outlier.ts)


export interface PlannedRun {
  purpose: RunPurpose;
  /** The batch size being tested; a padded run has more rows than this. */
  size: number;
  /** Sample ids per row; probes are ids 0..probes-1; FILLER_ZEROS rows are zeros. */
  rows: number[];
  /** Which rows hold probes: [probe, position]. */
  probes: { probe: number; position: number }[];
  /** Run only when the size's `mates` run changed a probe (see runsForSize). */
  conditional?: boolean;
  /** Token inputs in another layout than the ordinary (padded to the limit): padding runs only. */
  tokens?: TokenLayout;
  /** Rows other than the first scaled up (an outlier batch-mate, see outlier.ts). */
  outlier?: boolean;
}

/** Which batches the check runs: the sizes swept, the reference, the sizes served, probes, padding and the caps. */
export interface PlanOptions {
  /** Batch sizes to sweep (default DEFAULT_SWEEP, capped by maxBatch). */
  batchSizes?: number[];
  /** Largest batch size of the default sweep (default 64). */
  maxBatch?: number;
  /** Reference batch size (default 1): each probe at position 0 of a batch of this size. */
  reference?: number;
  /** How many probe samples, placed first, middle and last (default 3). */
  probes?: number;
  /** Pad every batch smaller than this up to it, as a server would (see the recipe). */
  padTo?: number;
  /** Filler rows for padding: zeros (default) or copies of the last real sample. */
  filler?: Filler;
  /** Batch sizes the user's system serves, always swept (even above maxBatch). */
  servedSizes?: number[];
  /** The most memory one batch may need (inputs and outputs, estimated before it is built); default from the machine. */
  maxBytes?: number;
}

export type Filler = 'zeros' | 'last';
export const FILLERS: readonly Filler[] = ['zeros', 'last'];
/** The sample id of a row of zeros (padding). */
export const FILLER_ZEROS = -1;

/** Pads `rows` up to `padTo` with filler rows. */
export function padRows(rows: readonly number[], padTo: number, filler: Filler): number[] {
  const last = rows[rows.length - 1];
  return [...rows, ...Array.from({ length: Math.max(0, padTo - rows.length) }, () => (filler === 'zeros' ? FILLER_ZEROS : last))];
}

export interface Plan {
  reference: number;
  probes: number;
  sizes: number[];
  /** Every run, in order: references first, then size by size. */
  runs: PlannedRun[];
  /** The plan is grouped by size so a budget can stop before a size. */
  bySize: Map<number, PlannedRun[]>;
  /** Batch-mates of pool 2 have ids from here on (pool 1 starts right after the probes). */
  pool2Base: number;
}

function positiveInt(value: unknown, what: string, example: string): number {
  if (!(typeof value === 'number' && Number.isSafeInteger(value) && value > 0)) {
    throw new BadInputError(`${what} must be a positive integer, got ${formatValue(value)}; for example ${example}`);
  }
  return value;
}

/** Places for the probes in a batch of `size`: first, middle, last (spread evenly when more). */
export function probePositions(size: number, probes: number): number[] {
  if (probes === 1) return [0];
  const places = Array.from({ length: probes }, (_, k) => Math.round((k * (size - 1)) / (probes - 1)));
  if (probes === 3) places[1] = Math.floor((size - 1) / 2);
  return places;
}

/**
 * The plan. Batch-mates of pool 1 take ids from `probes`, pool 2 from `probes + maxSize`,
 * so the two batches of a size share nothing but the probes.
 */
export function makePlan(options: PlanOptions = {}): Plan {
  const maxBatch = positiveInt(options.maxBatch ?? DEFAULT_MAX_BATCH, 'maxBatch', '--max-batch 32');
  const reference = positiveInt(options.reference ?? 1, 'the reference batch size', '--reference 1');
  let probes = positiveInt(options.probes ?? DEFAULT_PROBES, 'probes', '--probes 3');
  const requested = options.batchSizes ?? DEFAULT_SWEEP.filter((s) => s <= maxBatch);
  if (!Array.isArray(requested) || requested.length === 0) {
    throw new BadInputError('batch sizes must be a non-empty list of positive integers; for example batchSizes: [1, 2, 8, 64] (CLI --batch-sizes 1,2,8,64)');
  }
  // Indexed loops: forEach and for-of skip the holes of a sparse array ([1, , 4]).
  for (let i = 0; i < requested.length; i++) positiveInt(requested[i], `batch size ${formatValue(requested[i])}`, '--batch-sizes 1,2,8,64');
  const served = options.servedSizes ?? [];
  if (!Array.isArray(served)) throw new BadInputError(`servedSizes must be a list of positive integers, got ${formatValue(served)}; for example servedSizes: [1, 512]`);
  for (let i = 0; i < served.length; i++) positiveInt(served[i], `served batch size ${formatValue(served[i])}`, '--serve-sizes 1,512');
  const padTo = options.padTo === undefined ? undefined : positiveInt(options.padTo, 'padTo', '--pad-to 2');
  const filler = options.filler ?? 'zeros';
  if (!FILLERS.includes(filler)) throw new BadInputError(`unknown filler '${filler}'; use ${FILLERS.join(' or ')}`);
  const sizes = [...new Set([...requested, ...(options.servedSizes ?? [])])].sort((a, b) => a - b);
  if (sizes.every((s) => s === reference)) {
    throw new BadInputError(`batch sizes ${sizes.join(', ')} only repeat the reference batch size ${reference}: nothing about the batch would be tested; add other sizes, e.g. batchSizes: [${reference}, ${reference * 2}, ${reference * 8}] (CLI --batch-sizes ${reference},${reference * 2},${reference * 8})`);
  }
  const maxSize = Math.max(reference, ...sizes);
  // More probes than the largest batch has rows would never be placed: say what really ran.
  probes = Math.min(probes, Math.max(...sizes));
  const pool1 = probes;
  const pool2 = probes + maxSize;

  const runs: PlannedRun[] = [];
  const bySize = new Map<number, PlannedRun[]>();
  for (let p = 0; p < probes; p++) {
    const rows = Array.from({ length: reference }, (_, r) => (r === 0 ? p : pool1 + r));
    runs.push({ purpose: 'reference', size: reference, rows, probes: [{ probe: p, position: 0 }] });
  }
  for (let p = 0; p < probes; p++) {
    runs.push({ ...runs[p], purpose: 'reference-rerun' });
  }
  for (const size of sizes) {
    const group = runsForSize(size, probes, pool1, pool2);
    if (size === sizes[sizes.length - 1] && size > 1) group.push({ ...group[0], purpose: 'rerun' });
    bySize.set(size, group);
    runs.push(...group);
  }
  if (padTo !== undefined) for (const run of runs) run.rows = padRows(run.rows, padTo, filler);
  return { reference, probes, sizes, runs, bySize, pool2Base: pool2 };
}

/**
 * Two runs per size, a third only when needed:
 * - batch: probes first, middle and last among batch-mates;
 * - mates: probes rotated to each other's places, every other row a new batch-mate. If each
 *   probe's output is bitwise what it was in `batch`, neither the batch-mates nor the position
 *   matter at this size;
 * - permuted (conditional: only when `mates` differed): `batch`'s rows with the probes rotated as
 *   in `mates`. Against `batch` only positions changed; against `mates` only batch-mates did.
 */
function runsForSize(size: number, probes: number, pool1: number, pool2: number): PlannedRun[] {
  // Probes claim their places in order; a place already taken (small sizes) drops the probe.
  const placed: { probe: number; position: number }[] = [];
  probePositions(size, Math.min(probes, size)).forEach((position, probe) => {
    if (!placed.some((p) => p.position === position)) placed.push({ probe, position });
  });
  const rowsOf = (holders: { probe: number; position: number }[], pool: number): number[] =>
    Array.from({ length: size }, (_, r) => holders.find((p) => p.position === r)?.probe ?? pool + r);
  const batch: PlannedRun = { purpose: 'batch', size, rows: rowsOf(placed, pool1), probes: placed };
  if (size === 1) return [batch];
  const rotated = placed.map((p, k) => ({ probe: p.probe, position: placed[(k + 1) % placed.length].position }));
  // When probes fill the whole batch, keep one so something around it changes.
  const kept = placed.length < size ? rotated : rotated.slice(0, 1);
  const group: PlannedRun[] = [batch, { purpose: 'mates', size, rows: rowsOf(kept, pool2), probes: kept }];
  if (placed.length > 1) {
    const rows = [...batch.rows];
    for (const p of rotated) rows[p.position] = p.probe;
    // When probes fill the batch, `mates` moved only one of them: the others are moved here,
    // always (a row or two: these are the smallest sizes).
    group.push({ purpose: 'permuted', size, rows, probes: rotated, conditional: kept.length === placed.length });
  }
  return group;
}
