import { BadInputError } from './errors';

/** Edit distance, for "did you mean" on misspelt option names. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

/**
 * A misspelt option must not be ignored: `{ tolerence: 'exact' }` would otherwise run with the
 * default tolerance and pass where the user asked for bitwise. One line, with the nearest name.
 */
export function rejectUnknownOptions(options: object | undefined, known: readonly string[], where: string): void {
  if (options === undefined || options === null) return;
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new BadInputError(`${where}: options must be an object, got ${JSON.stringify(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const near = [...known].sort((a, b) => distance(key.toLowerCase(), a.toLowerCase()) - distance(key.toLowerCase(), b.toLowerCase()))[0];
    const close = near !== undefined && distance(key.toLowerCase(), near.toLowerCase()) <= Math.max(2, Math.floor(key.length / 3));
    throw new BadInputError(`${where}: unknown option '${key}'${close ? ` (did you mean '${near}'?)` : ''}; the options are: ${known.join(', ')}`);
  }
}

/** Option names shared by every check that opens a model and feeds it. */
export const SESSION_OPTION_KEYS = ['provider', 'threads', 'interOpThreads', 'optimization', 'deterministic', 'executionMode', 'memoryArena', 'extra', 'providerOptions'] as const;
export const INPUT_OPTION_KEYS = ['shapes', 'dims', 'consts', 'samples', 'inputs', 'seed', 'range', 'vocab'] as const;
export const TOLERANCE_OPTION_KEYS = ['tolerance', 'outputTolerances', 'outputs'] as const;
export const PLAN_OPTION_KEYS = ['batchSizes', 'maxBatch', 'reference', 'probes', 'padTo', 'filler', 'servedSizes'] as const;
