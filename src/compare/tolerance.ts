import { BadInputError, formatValue } from '../errors';

/**
 * How close is close enough.
 * - 'exact': bitwise equal (NaN equals NaN at the same place).
 * - 'default': dtype-aware allclose, as torch.testing.assert_close (float32: atol 1e-5, rtol 1.3e-6).
 * - a number: an absolute tolerance (rtol 0).
 * - { atol, rtol }: |actual - expected| <= atol + rtol * |expected| for every element.
 * - { ulp }: at most this many units in the last place apart.
 * - { cosine }: per-sample cosine distance (1 - cos) at most this.
 */
export type Tolerance = 'exact' | 'default' | number | { atol?: number; rtol?: number } | { ulp: number } | { cosine: number };

export type ResolvedTolerance =
  | { kind: 'exact' }
  | { kind: 'allclose'; atol: number; rtol: number }
  | { kind: 'ulp'; ulp: number }
  | { kind: 'cosine'; cosine: number };

/** torch.testing.assert_close's defaults. */
const ALLCLOSE_DEFAULTS: Record<string, { atol: number; rtol: number }> = {
  float32: { atol: 1e-5, rtol: 1.3e-6 },
  float16: { atol: 1e-5, rtol: 1e-3 },
  float64: { atol: 1e-7, rtol: 1e-7 },
};

const TOLERANCE_HELP = "use 'exact', 'default', atol=A,rtol=R, ulp=N or cosine=C";

function nonNegative(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new BadInputError(`tolerance ${name} must be a non-negative number, got ${formatValue(value)}; ${TOLERANCE_HELP}`);
  }
  return value;
}

/** Checks a user's tolerance and resolves it for one output dtype (integers always compare exactly). */
export function resolveTolerance(tolerance: Tolerance | undefined, dtype: string): ResolvedTolerance {
  const t = tolerance ?? 'default';
  const resolved = resolveAny(t, dtype);
  return ALLCLOSE_DEFAULTS[dtype] ? resolved : { kind: 'exact' };
}

function resolveAny(t: Tolerance, dtype: string): ResolvedTolerance {
  if (t === 'exact') return { kind: 'exact' };
  if (t === 'default') return { kind: 'allclose', ...(ALLCLOSE_DEFAULTS[dtype] ?? { atol: 0, rtol: 0 }) };
  if (typeof t === 'number') return { kind: 'allclose', atol: nonNegative(t, 'atol'), rtol: 0 };
  if (typeof t === 'object' && t !== null) {
    const keys = Object.keys(t);
    if ('ulp' in t && keys.length === 1) {
      const ulp = nonNegative(t.ulp, 'ulp');
      if (!Number.isInteger(ulp)) throw new BadInputError(`tolerance ulp must be a whole number, got ${ulp}`);
      return { kind: 'ulp', ulp };
    }
    if ('cosine' in t && keys.length === 1) {
      const cosine = nonNegative(t.cosine, 'cosine');
      // 1 - cos lies in [0, 2]: a bound of 2 or more passes any two outputs, so it tests nothing.
      if (cosine >= 2) throw new BadInputError(`tolerance cosine must be below 2, got ${cosine}: the cosine distance (1 - cos) is at most 2, so this would pass any outputs; give a small distance such as cosine=1e-6`);
      return { kind: 'cosine', cosine };
    }
    if (keys.length > 0 && keys.every((k) => k === 'atol' || k === 'rtol')) {
      const a = t as { atol?: number; rtol?: number };
      return { kind: 'allclose', atol: nonNegative(a.atol ?? 0, 'atol'), rtol: nonNegative(a.rtol ?? 0, 'rtol') };
    }
  }
  throw new BadInputError(`unknown tolerance ${formatValue(t)}; ${TOLERANCE_HELP}`);
}

/**
 * Parses the CLI form: exact | default | atol=A,rtol=R | ulp=N | cosine=C | a bare number (atol).
 * `given` is the flag as written, for the message (default `--tolerance TEXT`).
 */
export function parseTolerance(text: string, given = `--tolerance ${text}`): Tolerance {
  if (typeof text !== 'string') throw new BadInputError(`parseTolerance takes the CLI's text form, got ${formatValue(text)}; ${TOLERANCE_HELP} (pass a number or an object as the tolerance option itself)`);
  const s = text.trim();
  if (s === 'exact' || s === 'default') return s;
  if (/^[0-9.eE+-]+$/.test(s) && Number.isFinite(Number(s))) return checkedText(Number(s), given);
  const parts = s.split(',').map((p) => p.split('='));
  const entries: Record<string, number> = {};
  for (const [key, value] of parts) {
    const n = Number(value);
    if (!key || value === undefined || value.trim() === '' || !Number.isFinite(n) || !['atol', 'rtol', 'ulp', 'cosine'].includes(key.trim())) {
      throw new BadInputError(`${given}: not a tolerance; ${TOLERANCE_HELP}`);
    }
    // atol=1,atol=2 would keep the last one silently.
    if (key.trim() in entries) throw new BadInputError(`${given}: ${key.trim()} is given twice; give it once`);
    entries[key.trim()] = n;
  }
  const keys = Object.keys(entries);
  if (keys.length > 1 && !keys.every((k) => k === 'atol' || k === 'rtol')) {
    throw new BadInputError(`${given}: ${keys.join(' and ')} do not go together (atol and rtol do; ulp and cosine stand alone); ${TOLERANCE_HELP}`);
  }
  return checkedText(entries as Tolerance, given);
}

/**
 * resolveAny's checks, its line said about the flag as the user wrote it: a CLI user typed
 * `--tolerance atol=-1`, not the API's `{ atol: -1 }`.
 */
function checkedText(tol: Tolerance, given: string): Tolerance {
  try {
    resolveAny(tol, 'float32');
  } catch (e) {
    if (e instanceof BadInputError) throw new BadInputError(`${given}: ${e.message.replace(/^tolerance /, '')}`);
    throw e;
  }
  return tol;
}

/**
 * Short text for reports: "exact (bitwise)", "atol=1e-5, rtol=1.3e-6", "ulp<=4", "cosine distance<=1e-6".
 * Numbers as a user writes them in --tolerance, exactly as given: 1, 0.5 and 100 plainly (not
 * 1e+0), small and large ones as 1e-5 and 1e6.
 */
export function describeTolerance(t: ResolvedTolerance): string {
  const short = (x: number) => (x === 0 || (x >= 0.01 && x < 1e5) ? String(x) : x.toExponential().replace('e+', 'e'));
  switch (t.kind) {
    case 'exact': return 'exact (bitwise)';
    case 'allclose': return `atol=${short(t.atol)}, rtol=${short(t.rtol)}`;
    case 'ulp': return `ulp<=${t.ulp}`;
    case 'cosine': return `cosine distance<=${short(t.cosine)}`;
  }
}
