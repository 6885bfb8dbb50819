import { elementAsNumber, type TypedArray } from '../inputs/arrays';

/**
 * Counts of non-negative values (element errors, cosine distances) by decade, as Polygraphy's
 * error histograms show them: what a log-scale chart draws without recomputing anything.
 */
export interface LogHistogram {
  /** Values exactly 0 (equal elements; rows whose distance is 0). */
  zero: number;
  /** Values that are NaN or ±Infinity (a NaN against a number, +Inf against -Inf or a finite value). */
  nonFinite: number;
  /**
   * Powers of ten, ascending, spanning the data: from the decade of the smallest value above 0
   * to the one above the largest. Empty when no value is finite and above 0.
   */
  edges: number[];
  /** counts[k]: values v with edges[k] <= v < edges[k + 1] (edges.length - 1 entries). */
  counts: number[];
}

// Decades 10^-324 .. 10^308 cover every positive double. 1e-324 underflows to 0 and 1e309
// overflows, so the outermost edges are the smallest and largest doubles instead.
const LOW = -324;
const HIGH = 308;
const EDGES: number[] = [];
for (let k = LOW; k <= HIGH + 1; k++) EDGES.push(k === LOW ? Number.MIN_VALUE : k > HIGH ? Number.MAX_VALUE : Number(`1e${k}`));

/** The decade index (into EDGES) holding v > 0, finite. */
function decade(v: number): number {
  let i = Math.floor(Math.log10(v)) - LOW;
  // log10 rounds near powers of ten: settle on the edge the value really lies above.
  if (i > 0 && v < EDGES[i]) i--;
  else if (i < HIGH - LOW && v >= EDGES[i + 1]) i++;
  return Math.max(0, Math.min(HIGH - LOW, i));
}

/**
 * Accumulates one LogHistogram, value by value or over a pair of arrays; `result()` trims it to
 * the decades the data spans. A fixed array of counts: no allocation per value.
 */
export class DecadeHistogram {
  private readonly bins = new Float64Array(HIGH - LOW + 1);
  private lo = Infinity;
  private hi = -Infinity;
  zero = 0;
  nonFinite = 0;

  /** One value: 0 (or below, as a rounding of 0) counts as zero, NaN and ±Inf as nonFinite. */
  add(v: number): void {
    if (v <= 0) this.zero++;
    else if (!(v < Infinity)) this.nonFinite++;
    else this.bin(decade(v));
  }

  /** Values counted in `zero` without being looked at (rows known to be bitwise equal). */
  addZeros(n: number): void {
    this.zero += n;
  }

  /**
   * |actual - expected| of every element pair, in one pass over the two arrays: equal values
   * (and NaN against NaN, which batchproof's metrics treat as equal) count as zero.
   */
  addDifferences(expected: TypedArray, actual: TypedArray, dtype: string): void {
    const n = Math.min(expected.length, actual.length);
    if (dtype === 'float32' || dtype === 'float64') {
      const e = expected as Float32Array;
      const a = actual as Float32Array;
      for (let i = 0; i < n; i++) {
        const x = e[i];
        const y = a[i];
        if (x === y || (x !== x && y !== y)) this.zero++;
        else this.add(Math.abs(y - x));
      }
      return;
    }
    for (let i = 0; i < n; i++) {
      const x = elementAsNumber(expected, dtype, i);
      const y = elementAsNumber(actual, dtype, i);
      if (x === y || (x !== x && y !== y)) this.zero++;
      else this.add(Math.abs(y - x));
    }
  }

  private bin(i: number): void {
    this.bins[i]++;
    if (i < this.lo) this.lo = i;
    if (i > this.hi) this.hi = i;
  }

  /** The counts so far, trimmed to the decades the data spans. */
  result(): LogHistogram {
    if (this.hi < this.lo) return { zero: this.zero, nonFinite: this.nonFinite, edges: [], counts: [] };
    return {
      zero: this.zero,
      nonFinite: this.nonFinite,
      edges: EDGES.slice(this.lo, this.hi + 2),
      counts: Array.from(this.bins.subarray(this.lo, this.hi + 1)),
    };
  }
}

/** The histogram of nothing compared (outputs whose shapes differ). */
export function emptyHistogram(): LogHistogram {
  return { zero: 0, nonFinite: 0, edges: [], counts: [] };
}
