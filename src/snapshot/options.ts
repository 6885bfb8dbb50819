import { resolveTolerance, Tolerance } from '../compare/tolerance';
import { BadInputError, formatValue } from '../errors';
import { OptionType, validateOptions } from '../options';

/**
 * The option types of the embedding snapshot functions (toMatchEmbeddingSnapshot,
 * compareEmbeddings, diffBaselines), checked before anything is read or written: a BigInt, NaN or
 * a string where a number is taken is one BadInputError naming the option, never a TypeError
 * from deep inside or a loop that compares nothing. `dims` here is the matcher's [rows, dim], not
 * the model option of the same name, so every key is declared here rather than taken from
 * OPTION_TYPES.
 */
const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);
const isWhole = (v: unknown, min: number): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= min;

export const SNAPSHOT_OPTION_TYPES: Record<string, OptionType | null> = {
  // Checked by checkTolerance, whose messages say which part of the tolerance is wrong.
  tolerance: null,
  neighbors: {
    check: (v) => (isPlainObject(v) && Object.keys(v).length === 1 && isWhole(v.k, 1) ? null : 'must be { k } with k a positive whole number'),
    example: 'neighbors: { k: 5 }',
  },
  name: { check: (v) => (typeof v === 'string' && v.trim() !== '' ? null : 'must be a non-empty string'), example: "name: 'catalogue v2'" },
  dims: {
    check: (v) => {
      if (!Array.isArray(v) || v.length < 2) return 'must be [rows, dim] (or [rows, ...] to flatten)';
      for (let i = 0; i < v.length; i++) if (!(i in v) || !isWhole(v[i], 0)) return 'must hold whole numbers (no holes)';
      return null;
    },
    example: 'dims: [64, 384]',
  },
  directory: {
    check: (v) => (typeof v === 'string' && v.trim() !== '' && !v.includes('\0') ? null : 'must be a folder path (a non-empty string)'),
    example: "directory: 'baselines'",
  },
  fingerprint: { check: (v) => (isPlainObject(v) ? null : 'must be a fingerprint object (await fixture.fingerprint())'), example: 'fingerprint: await fx.fingerprint()' },
  baselineFingerprint: { check: (v) => (v === null || isPlainObject(v) ? null : 'must be a fingerprint object or null'), example: 'baselineFingerprint: null' },
  currentFingerprint: { check: (v) => (v === null || isPlainObject(v) ? null : 'must be a fingerprint object or null'), example: 'currentFingerprint: null' },
  chunkBytes: { check: (v) => (isWhole(v, 1) ? null : 'must be a positive whole number of bytes'), example: 'chunkBytes: 4194304' },
};

/** The option names, validated, with `tolerance` resolved once so a bad one fails before any file is touched. */
export function checkSnapshotOptions(options: unknown, known: readonly string[], where: string): void {
  if (options !== undefined && !isPlainObject(options)) {
    throw new BadInputError(`${where}: options must be an object like { tolerance: { cosine: 1e-6 } }, got ${formatValue(options)}; leave them out or pass {}`);
  }
  validateOptions(options, known, where, SNAPSHOT_OPTION_TYPES);
  const tolerance = (options as { tolerance?: unknown } | undefined)?.tolerance;
  if (tolerance !== undefined) checkTolerance(tolerance as Tolerance, where);
}

/** resolveTolerance's checks (finite, non-negative, known kinds), its line prefixed with where it came from. */
export function checkTolerance(tolerance: Tolerance, where: string): void {
  try {
    resolveTolerance(tolerance, 'float32');
  } catch (e) {
    if (e instanceof BadInputError) throw new BadInputError(`${where}: ${e.message}`);
    throw new BadInputError(`${where}: tolerance ${formatValue(tolerance)} is not a tolerance; use 'exact', { atol, rtol }, { ulp } or { cosine }`);
  }
}
