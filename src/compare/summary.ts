import { isFloatDtype } from '../inputs/arrays';
import type { Comparison } from './metrics';

/**
 * The smallest tolerance of each kind that would have passed every comparison. Infinity where
 * none of that kind passes: every kind when an integer or bool output differs (they compare
 * exactly, whatever the tolerance) or when outputs' dims differ (--json writes "Infinity").
 */
export interface MinimumTolerance {
  atol: number;
  rtol: number;
  ulp: number;
  cosine: number;
}

/** How one output's samples are laid out: what `indexInSample` needs to name an element. */
export interface SampleLayout {
  name: string;
  dtype: string;
  /** The batch axis, or -1 when the output is compared whole. */
  batchAxis: number;
  /** One sample's dims (the batch axis holds the rows per sample, often 1). */
  sampleDims: readonly number[];
}

/** The worst element of one comparison, before the caller says where it was. */
export interface WorstDetail {
  /** Index within the sample's output (the batch axis left out when it holds one row per sample). */
  index: number[];
  expected: number;
  actual: number;
  absDiff: number;
  ulp: number;
}

/**
 * A flat index into one sample's slice as an index within the sample. The batch axis is left
 * out when it holds one row per sample (an output [batch, 64] gives [46], not [0, 46]); an
 * output compared whole (batchAxis -1) keeps all its axes.
 */
export function indexInSample(flat: number, layout: Pick<SampleLayout, 'batchAxis' | 'sampleDims'>): number[] {
  const dims = layout.sampleDims.filter((d, axis) => axis !== layout.batchAxis || d !== 1);
  const index: number[] = [];
  for (let i = dims.length - 1; i >= 0; i--) {
    index.unshift(flat % dims[i]);
    flat = Math.floor(flat / dims[i]);
  }
  return index;
}

/**
 * The smallest rtol that passes a largest relative difference `rel` = abs / |expected|: the check
 * computes rtol * |expected|, which rounds below abs for about a quarter of the values, so rel
 * itself, given back as the tolerance, would fail. 8 units in the last place above it always pass.
 */
export function passingRtol(rel: number): number {
  return rel > 0 && Number.isFinite(rel) ? rel * (1 + 2 ** -50) : rel;
}

/**
 * Accumulates, over many comparisons, the minimum tolerance that passes all of them and the
 * worst element. One implementation for `check` (batch invariance) and `compare` (providers), so
 * their `minimumTolerance` and `worst` mean the same thing.
 */
export class ComparisonSummary<W> {
  readonly minimum: MinimumTolerance = { atol: 0, rtol: 0, ulp: 0, cosine: 0 };
  worst: W | null = null;
  private worstAbs = -Infinity;

  /**
   * Accounts one output's comparison. Integers and bools compare exactly: a difference is passed
   * by no tolerance (all of them Infinity) and is not a worst element. `where` turns the
   * worst element's details into the report's worst (adding which output, sample, side...), and
   * is called only when this comparison is the new worst.
   */
  add(layout: SampleLayout, c: Pick<Comparison, 'bitExact' | 'maxAbs' | 'maxRel' | 'maxUlp' | 'cosine' | 'worstIndex' | 'expected' | 'actual'>, where: (detail: WorstDetail) => W): void {
    this.bound(layout, c);
    if (!isFloatDtype(layout.dtype)) return;
    if (!c.bitExact && (this.worst === null || c.maxAbs > this.worstAbs)) {
      this.worstAbs = c.maxAbs;
      this.worst = where({ index: indexInSample(c.worstIndex, layout), expected: c.expected, actual: c.actual, absDiff: c.maxAbs, ulp: c.maxUlp });
    }
  }

  /**
   * Accounts a comparison in the minimum tolerance only: one whose expected side is not a
   * reference (two batches of one size), so it cannot be the report's worst element.
   */
  bound(layout: SampleLayout, c: Pick<Comparison, 'bitExact' | 'maxAbs' | 'maxRel' | 'maxUlp' | 'cosine'>): void {
    const m = this.minimum;
    if (!isFloatDtype(layout.dtype)) {
      if (!c.bitExact) this.unpassable();
      return;
    }
    m.atol = Math.max(m.atol, c.maxAbs);
    m.rtol = Math.max(m.rtol, passingRtol(c.maxRel));
    m.ulp = Math.max(m.ulp, c.maxUlp);
    m.cosine = Math.max(m.cosine, Number.isNaN(c.cosine) ? Infinity : 1 - c.cosine);
  }

  /** Outputs that no tolerance makes pass (integers that differ, dims that differ). */
  unpassable(): void {
    Object.assign(this.minimum, { atol: Infinity, rtol: Infinity, ulp: Infinity, cosine: Infinity });
  }
}
