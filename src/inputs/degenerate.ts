/**
 * Can these samples show a failure at all? A check that feeds identical batch-mates cannot see
 * them leak into each other (a training-mode BatchNorm normalises identical rows to identical
 * rows), one fed all zeros may take a path where every kernel agrees, and one fed NaN compares
 * NaN with NaN. Each of those would pass without proving anything, so they are refused before
 * the run, with the cure.
 */
import { BadInputError } from '../errors';
import { countNonFinite, TypedArray } from './arrays';
import { isMaskName, type SamplePool } from './samples';
import type { InputSpec } from './spec';
import { sameBytes } from '../compare/metrics';

/**
 * - 'distinct': the samples must not all be bitwise identical (batch invariance, locate: the
 *   batch-mates must differ for leakage to show);
 * - 'varied': they may repeat, but not be one constant value everywhere (determinism and
 *   provider comparison only need inputs that exercise the model).
 */
export type SampleNeed = 'distinct' | 'varied';

const FLOATS = new Set(['float32', 'float64', 'float16']);

/** True when every element of every array equals the first element of the first (bitwise); the arrays are made as it goes. */
function oneConstant(count: number, array: (j: number) => TypedArray): boolean {
  let value: number | bigint | undefined;
  for (let j = 0; j < count; j++) {
    const a = array(j);
    for (let i = 0; i < a.length; i++) {
      value ??= a[i];
      if (a[i] !== value) return false;
    }
  }
  return true;
}

/**
 * Checks the samples a run will feed (pool indices `indices`, as the pool numbers them) and
 * throws a BadInputError naming the problem and the cure. `label` names where the samples came
 * from ("samples", a file name, "synthesized samples").
 */
export function assertSamplesCanShowFailure(specs: readonly InputSpec[], pool: SamplePool, indices: readonly number[], need: SampleNeed, label: string): void {
  const batched = specs.filter((s) => s.batchAxis !== null);
  const unique = [...new Set(indices)].sort((a, b) => a - b);
  if (batched.length === 0 || unique.length === 0) return;
  // Made when first looked at: a check of ids and masks usually settles on its first few
  // samples, and synthesizing all of them here (hundreds, for a text model) cost more than the rest.
  const made = batched.map(() => new Map<number, TypedArray>());
  const sample = (k: number, j: number): TypedArray => {
    let data = made[k].get(j);
    if (!data) made[k].set(j, (data = pool.sample(batched[k], unique[j])));
    return data;
  };

  batched.forEach((spec, k) => {
    if (!FLOATS.has(spec.dtype)) return;
    unique.forEach((_, j) => {
      const data = sample(k, j);
      const bad = countNonFinite(data, spec.dtype);
      if (bad > 0) {
        throw new BadInputError(
          `${label}: sample ${unique[j]} of input '${spec.name}' holds ${bad} NaN or Infinity value${bad > 1 ? 's' : ''}; non-finite inputs give outputs that compare as NaN, which proves nothing; give finite samples`,
        );
      }
    });
  });

  const cure = 'give distinct, varied samples (or leave samples out and batchproof synthesizes them)';
  // Inputs other than floats (masks of ones, a fixed id) may well be constant: judge the floats
  // (a float attention_mask is a mask), or the ids when there are no floats.
  const data = (s: InputSpec) => FLOATS.has(s.dtype) && !isMaskName(s.name);
  const judged = batched.some(data) ? batched.map((s, k) => (data(s) ? k : -1)).filter((k) => k >= 0) : batched.map((_, k) => k);
  const everyValue = judged.every((k) => oneConstant(unique.length, (j) => sample(k, j)));
  if (everyValue && unique.length * judged.reduce((n, k) => n + sample(k, 0).length, 0) > 1) {
    const value = sample(judged[0], 0)[0];
    throw new BadInputError(
      `${label}: every value of every sample is ${String(value)}: a constant input cannot show the model's outputs moving; ${cure}`,
    );
  }
  if (need === 'distinct' && unique.length > 1 && unique.every((_, j) => j === 0 || batched.every((_, k) => sameBytes(sample(k, 0), sample(k, j))))) {
    throw new BadInputError(
      `${label}: the ${unique.length} samples this check feeds are bitwise identical: identical batch-mates cannot show leakage between them; ${cure}`,
    );
  }
  if (need === 'distinct' && unique.length === 1) {
    throw new BadInputError(`${label}: one sample only: its batch-mates would be copies of it, which cannot show leakage between them; ${cure}`);
  }
}

/** Do the pool's samples at `ids` differ at all (in any batched input's bytes)? Repeats are one sample. */
export function samplesDiffer(specs: readonly InputSpec[], pool: SamplePool, ids: readonly number[]): boolean {
  const batched = specs.filter((s) => s.batchAxis !== null);
  return ids.some((id) => batched.some((s) => !sameBytes(pool.sample(s, ids[0]), pool.sample(s, id))));
}
