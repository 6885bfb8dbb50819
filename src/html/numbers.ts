/** Numbers as reports hold them (JSON writes Infinity and NaN as strings) and as the page prints them. */

/** A report's number: a number, or "Infinity", "-Infinity", "NaN" as --json writes them; anything else is NaN. */
export function num(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  return NaN;
}

export function isNum(v: unknown): boolean {
  return typeof v === 'number' || v === 'Infinity' || v === '-Infinity' || v === 'NaN';
}

/** Three significant digits, 0 as 0, large and small in exponent form. */
export function fmt(v: unknown): string {
  const x = num(v);
  if (typeof v !== 'number' && !isNum(v)) return String(v ?? '');
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return '0';
  if (Number.isInteger(x) && Math.abs(x) < 1e6) return String(x);
  const a = Math.abs(x);
  return a >= 1e-3 && a < 1e6 ? String(Number(x.toPrecision(3))) : x.toExponential(2).replace(/\.?0+e/, 'e').replace('e+', 'e');
}

/**
 * A floor for a log scale: a decade below the smallest value above 0, so values of exactly 0
 * (bitwise equal) can be drawn there and said to be.
 */
export function logFloor(values: readonly number[], fallback: number): number {
  const positive = values.filter((v) => v > 0 && Number.isFinite(v));
  if (positive.length === 0) return fallback;
  return 10 ** (Math.floor(Math.log10(Math.min(...positive))) - 1);
}
