/**
 * Per-channel mean and population variance, accumulated in float64 with the streaming merge
 * of Chan, Golub and LeVeque: each batch is reduced to (count, mean, M2) per channel and merged
 * into the running totals, so no activation is ever held beyond its batch.
 */

export class ChannelMoments {
  count = 0;
  readonly mean: Float64Array;
  /** Sum of squared deviations from the mean. */
  readonly m2: Float64Array;

  /**
   * Per channel, 1 while every value seen is the same: every plane mean bitwise equal to the
   * first and every plane flat. The float32 reduction leaves rounding noise (E[x²] - E[x]² of a
   * constant plane is seldom exactly 0), so without this a constant channel's variance would be
   * a tiny number instead of 0.
   */
  readonly constant: Uint8Array;
  private first: Float64Array | null = null;

  constructor(readonly channels: number) {
    this.mean = new Float64Array(channels);
    this.m2 = new Float64Array(channels);
    this.constant = new Uint8Array(channels).fill(1);
  }

  /** Channels whose values were all the same (0 variance); meaningful once values were added. */
  constantChannels(): number {
    if (this.count === 0) return 0;
    let k = 0;
    for (let c = 0; c < this.channels; c++) k += this.constant[c] as number;
    return k;
  }

  /** Merges a group of `count` values per channel with the given means and M2 (Chan et al.). */
  merge(count: number, mean: ArrayLike<number>, m2: ArrayLike<number>): void {
    if (count === 0) return;
    for (let c = 0; c < this.channels; c++) {
      if ((m2[c] as number) !== 0 || (this.count > 0 && (mean[c] as number) !== this.mean[c])) this.constant[c] = 0;
    }
    this.mergeGroup(count, mean, m2);
  }

  /** merge without the constancy bookkeeping (addPlaneVariances does its own). */
  private mergeGroup(count: number, mean: ArrayLike<number>, m2: ArrayLike<number>): void {
    const total = this.count + count;
    const wb = count / total;
    const cross = (this.count * count) / total;
    for (let c = 0; c < this.channels; c++) {
      const delta = (mean[c] as number) - (this.mean[c] as number);
      this.mean[c] += delta * wb;
      this.m2[c] += (m2[c] as number) + delta * delta * cross;
    }
    this.count = total;
  }

  /**
   * Merges one batch given per-plane means of x and of x² (what the instrumented graph computes:
   * GlobalAveragePool over each sample's channel plane of `plane` values), laid out [n, channels].
   * `shift` (per channel) was subtracted from x before both means; it is added back to the mean.
   */
  addPlanes(n: number, plane: number, means: ArrayLike<number>, meanSquares: ArrayLike<number>, shift?: ArrayLike<number>): void {
    const within = new Float64Array(n * this.channels);
    for (let i = 0; i < within.length; i++) {
      const mu = means[i] as number;
      // E[x²] - E[x]² within one plane, never below 0 (float rounding).
      within[i] = Math.max(0, (meanSquares[i] as number) - mu * mu);
    }
    this.addPlaneVariances(n, plane, means, within, shift);
  }

  /** As addPlanes, given each plane's (population) variance instead of its mean square. */
  addPlaneVariances(n: number, plane: number, means: ArrayLike<number>, variances: ArrayLike<number>, shift?: ArrayLike<number>): void {
    if (n === 0 || plane === 0) return;
    const C = this.channels;
    const first = (this.first ??= Float64Array.from({ length: C }, (_, c) => means[c] as number));
    for (let s = 0; s < n; s++) {
      for (let c = 0; c < C; c++) {
        if (!this.constant[c]) continue;
        const mu = means[s * C + c] as number;
        // Flat within 1e-4 of its mean squared: float32 rounding of a constant plane, not spread.
        if (!Object.is(mu, first[c]) || !((variances[s * C + c] as number) <= 1e-4 * mu * mu)) this.constant[c] = 0;
      }
    }
    const mean = new Float64Array(C);
    const m2 = new Float64Array(C);
    for (let s = 0; s < n; s++) {
      for (let c = 0; c < C; c++) mean[c] += means[s * C + c] as number;
    }
    for (let c = 0; c < C; c++) mean[c] /= n;
    for (let s = 0; s < n; s++) {
      for (let c = 0; c < C; c++) {
        // Within the plane, plus between planes (exact, from the plane means).
        const d = (means[s * C + c] as number) - (mean[c] as number);
        m2[c] += plane * ((variances[s * C + c] as number) + d * d);
      }
    }
    if (shift) for (let c = 0; c < C; c++) mean[c] += shift[c] as number;
    this.mergeGroup(n * plane, mean, m2);
  }

  /** Merges raw values laid out [n, channels, plane] (two passes per plane, float64). */
  addValues(n: number, plane: number, data: ArrayLike<number>): void {
    const C = this.channels;
    const means = new Float64Array(n * C);
    const variances = new Float64Array(n * C);
    for (let s = 0; s < n; s++) {
      for (let c = 0; c < C; c++) {
        const o = (s * C + c) * plane;
        let sum = 0;
        for (let k = 0; k < plane; k++) sum += data[o + k] as number;
        const mu = sum / plane;
        let sq = 0;
        for (let k = 0; k < plane; k++) {
          const d = (data[o + k] as number) - mu;
          sq += d * d;
        }
        means[s * C + c] = mu;
        variances[s * C + c] = sq / plane;
      }
    }
    this.addPlaneVariances(n, plane, means, variances);
  }

  /** Population variance per channel. */
  variance(): Float64Array {
    const out = new Float64Array(this.channels);
    for (let c = 0; c < this.channels; c++) out[c] = this.count === 0 ? NaN : this.constant[c] ? 0 : (this.m2[c] as number) / this.count;
    return out;
  }
}
