/** Number formatting shared by every report for people. */

import type { MinimumTolerance } from '../compare/summary';
import { isFloatDtype } from '../inputs/arrays';

/** 0 stays "0"; small and large numbers go exponential; others keep 3 significant digits. */
export function num(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return '0';
  const a = Math.abs(x);
  return a < 1e-3 || a >= 1e5 ? x.toExponential(2) : String(Number(x.toPrecision(3)));
}

/** Two significant digits, as summaries and notes quote a difference: 0.19, 2.6, 1.7e-6 (not 0.0000017). */
export function approx(x: number): string {
  return Number.isFinite(x) && x !== 0 && Math.abs(x) < 1e-3 ? x.toExponential(1) : x.toPrecision(2);
}

/** Entries past which sizeList writes runs of consecutive sizes as ranges. */
const LONG_LIST = 20;

/**
 * A list of batch sizes (or a batch's probe positions) for people: as given while short; past 20
 * entries, runs of three or more consecutive integers as a..b ("1..347, 512"). A sweep of every
 * size up to 512 otherwise printed 2,000 characters of numbers on one line, and 512 probes made
 * every row of the table as wide. Exact: a range stands only for values that are listed.
 */
export function sizeList(sizes: readonly number[], separator = ', '): string {
  if (sizes.length <= LONG_LIST) return sizes.join(separator);
  const parts: string[] = [];
  for (let i = 0; i < sizes.length; ) {
    let j = i;
    while (j + 1 < sizes.length && sizes[j + 1] === sizes[j] + 1) j++;
    parts.push(j >= i + 2 ? `${sizes[i]}..${sizes[j]}` : sizes.slice(i, j + 1).join(separator));
    i = j + 1;
  }
  return parts.join(separator);
}

/** A value with full float32 precision, for "expected vs actual" lines. */
export function exact(x: number): string {
  return Number.isFinite(x) ? String(Math.fround(x) === x ? x : x) : num(x);
}

/** A cosine similarity as the tables print it: 1 only when exactly 1, else how far below 1 ("1-4.44e-15"). */
export function cosine(x: number): string {
  return x === 1 ? '1' : 1 - x < 1e-4 ? `1-${num(1 - x)}` : x.toFixed(6);
}

/**
 * check's and compare's "minimum tolerance that passes" line: each kind alone, or, when none
 * passes, why, output by output from what was compared: an integer or bool output differs (they
 * compare exactly), dims differ, or NaN or Infinity on one side meets another value.
 */
export function minimumToleranceLine(
  m: MinimumTolerance,
  outputs: readonly { name: string; dtype: string }[],
  compared: readonly { output: string; maxAbs: number; shapeMismatch?: unknown }[] = [],
): string {
  if ([m.atol, m.rtol, m.ulp, m.cosine].every((v) => v === Infinity)) {
    // Each output's own reason, from what was compared: the outputs alone cannot tell them apart.
    const dtypeOf = (name: string) => outputs.find((x) => x.name === name)?.dtype ?? 'float32';
    const names = (keep: (o: (typeof compared)[number], dtype: string) => boolean, withDtype = false) =>
      [...new Set(compared.filter((o) => keep(o, dtypeOf(o.output))).map((o) => `'${o.output}'${withDtype ? ` ${dtypeOf(o.output)}` : ''}`))];
    const dims = names((o) => Boolean(o.shapeMismatch));
    const exactOnes = names((o, dtype) => !o.shapeMismatch && !isFloatDtype(dtype) && o.maxAbs > 0, true);
    const nonFinite = names((o, dtype) => !o.shapeMismatch && isFloatDtype(dtype) && o.maxAbs === Infinity);
    const why = [
      ...(exactOnes.length ? [`integer and bool outputs (${exactOnes.join(', ')}) compare exactly, whatever the tolerance, and ${exactOnes.length === 1 ? 'it differs' : 'they differ'}`] : []),
      ...(dims.length ? [`the dims of ${dims.join(', ')} differ`] : []),
      ...(nonFinite.length ? [`${nonFinite.join(', ')} hold${nonFinite.length === 1 ? 's' : ''} NaN or Infinity on one side where the other holds another value`] : []),
    ];
    if (!why.length) {
      const ints = outputs.filter((o) => !isFloatDtype(o.dtype)).map((o) => `'${o.name}' ${o.dtype}`);
      why.push(ints.length ? `integer and bool outputs (${ints.join(', ')}) compare exactly, whatever the tolerance, and one differs` : "the outputs' dims differ, or NaN or Infinity on one side meets another value");
    }
    return `minimum tolerance that passes: none: ${why.join('; ')}`;
  }
  return `minimum tolerance that passes: atol=${num(m.atol)} (rtol=0), or rtol=${num(m.rtol)} (atol=0), or ulp=${num(m.ulp)}, ${cosineMinimum(m.cosine)}`;
}

/**
 * The cosine part of a minimum-tolerance line. A distance of 2 or more (a sample's output pointing
 * the opposite way) is one no cosine tolerance can pass: such tolerances are refused, as they pass
 * anything, so the line says so instead of offering one.
 */
export function cosineMinimum(distance: number, prefix = 'or '): string {
  return distance >= 2 ? 'no cosine tolerance (a sample points the opposite way: cosine distance 2)' : `${prefix}cosine=${num(distance)}`;
}
