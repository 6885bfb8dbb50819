/**
 * An outlier batch-mate: a model that quantizes dynamically (one scale over the whole tensor,
 * batch included) gives bitwise the same output for batch-mates of similar magnitude, whose
 * scales round alike, and leaks as soon as one batch-mate is large. One extra run catches it:
 * the smallest swept batch again, the first probe in place and every other row 100 times larger.
 */
import ort = require('onnxruntime-node');
import { allocate, isFloatDtype, TypedArray } from '../inputs/arrays';
import type { SamplePool } from '../inputs/samples';
import type { InputSpec } from '../inputs/spec';
import { feedsFor } from './run';
import type { Plan, PlannedRun } from './plan';

export const OUTLIER_SCALE = 100;
/** Pool indices from here on are outlier copies of index - OUTLIER_BASE. */
const OUTLIER_BASE = 2 ** 40;

/** The run, or null when no input is a float (ids and masks cannot be scaled) or no batch has mates. */
export function outlierRun(plan: Plan, specs: readonly InputSpec[]): PlannedRun | null {
  if (!specs.some((s) => s.batchAxis !== null && isFloatDtype(s.dtype))) return null;
  const size = plan.sizes.find((s) => s > 1);
  const batch = size === undefined ? undefined : plan.bySize.get(size)?.find((r) => r.purpose === 'batch');
  const first = batch?.probes.find((p) => p.position === 0);
  if (!batch || !first) return null;
  return { purpose: 'outlier', size: batch.size, rows: [...batch.rows], probes: [first], outlier: true };
}

/** Feeds of the outlier run: row 0 as in its batch, the others scaled (pool indices as mapped). */
export function outlierFeeds(specs: readonly InputSpec[], shared: Record<string, ort.Tensor>, pool: SamplePool, ids: readonly number[]): Record<string, ort.Tensor> {
  const scaled: SamplePool = {
    count: pool.count,
    sample(spec, index) {
      if (index < OUTLIER_BASE || !isFloatDtype(spec.dtype) || spec.dtype === 'float16') return pool.sample(spec, index < OUTLIER_BASE ? index : index - OUTLIER_BASE);
      const base = pool.sample(spec, index - OUTLIER_BASE);
      const out = allocate(spec.dtype, base.length) as Float32Array | Float64Array;
      for (let i = 0; i < base.length; i++) out[i] = (base[i] as number) * OUTLIER_SCALE;
      return out as TypedArray;
    },
  };
  return feedsFor(specs, shared, scaled, ids.map((id, row) => (row === 0 || id < 0 ? id : id + OUTLIER_BASE)));
}
