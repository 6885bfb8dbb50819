import { BadInputError, formatValue } from './errors';

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
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new BadInputError(`${where}: options must be an object, got ${formatValue(options)}; leave them out or pass {}`);
  }
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const near = [...known].sort((a, b) => distance(key.toLowerCase(), a.toLowerCase()) - distance(key.toLowerCase(), b.toLowerCase()))[0];
    const close = near !== undefined && distance(key.toLowerCase(), near.toLowerCase()) <= Math.max(2, Math.floor(key.length / 3));
    throw new BadInputError(`${where}: unknown option '${key}'${close ? ` (did you mean '${near}'?)` : ''}; the options are: ${known.join(', ')}`);
  }
}

/** Option names shared by every check that opens a model and feeds it: the session settings' (one table, runtime/settings.ts). */
export { SESSION_OPTION_KEYS } from './runtime/settings';
export const INPUT_OPTION_KEYS = ['shapes', 'dims', 'consts', 'samples', 'inputs', 'seed', 'range', 'vocab'] as const;
export const TOLERANCE_OPTION_KEYS = ['tolerance', 'outputTolerances', 'outputs'] as const;
export const PLAN_OPTION_KEYS = ['batchSizes', 'maxBatch', 'reference', 'probes', 'padTo', 'filler', 'servedSizes', 'maxBytes', 'padding'] as const;
/** Options for a batch function's calls (refused for a model: runtime/function.ts). */
export const FUNCTION_OPTION_KEYS = ['callTimeoutMs'] as const;

/**
 * One declared type per public option name, shared by every function that takes it: a value of
 * the wrong kind (NaN, a BigInt, a string, a sparse array) is one BadInputError here, before any
 * work, instead of a TypeError deep inside or, worse, a plan that runs nothing and passes.
 * `check` returns a problem ("must be ...") or null; `example` shows the right form.
 */
export interface OptionType {
  check: (value: unknown) => string | null;
  example: string;
}

const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * The most runs a determinism check makes: each repeat is a full run of the batch, and a
 * billion of them never ends; a difference that 10000 runs do not show is not one a test finds.
 */
export const MAX_REPEATS = 10_000;

const isPositiveInteger = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);
/** Arrays with holes (`[1, , 4]`) skip their holes in forEach and filter: test each index. */
const everyIndex = (v: unknown[], test: (x: unknown) => boolean): boolean => {
  for (let i = 0; i < v.length; i++) if (!(i in v) || !test(v[i])) return false;
  return true;
};

const positiveInteger = (example: string): OptionType => ({ check: (v) => (isPositiveInteger(v) ? null : 'must be a positive integer'), example });
const oneOf = (values: readonly string[], example: string): OptionType => ({
  check: (v) => (typeof v === 'string' && values.includes(v) ? null : `must be one of ${values.map((x) => `'${x}'`).join(', ')}`),
  example,
});
const sizes = (example: string): OptionType => ({
  check: (v) => {
    if (!Array.isArray(v) || v.length === 0) return 'must be a non-empty list of positive integers';
    for (let i = 0; i < v.length; i++) {
      if (!(i in v)) return `must be a list of positive integers, and has a hole at index ${i}`;
      if (!isPositiveInteger(v[i])) return `must be a list of positive integers, and batch size ${formatValue(v[i])} is not`;
    }
    return null;
  },
  example,
});
const boolean = (example: string): OptionType => ({ check: (v) => (typeof v === 'boolean' ? null : 'must be true or false'), example });
const object = (example: string): OptionType => ({ check: (v) => (isPlainObject(v) ? null : 'must be an object'), example });

export const OPTION_TYPES: Record<string, OptionType> = {
  threads: positiveInteger('threads: 2'),
  interOpThreads: positiveInteger('interOpThreads: 2'),
  deterministic: boolean('deterministic: true'),
  memoryArena: boolean('memoryArena: false'),
  extra: object("extra: { session: { use_deterministic_compute: '1' } }"),
  providerOptions: object('providerOptions: { deviceId: 0 }'),
  shapes: {
    check: (v) =>
      isPlainObject(v) && Object.values(v).every((d) => Array.isArray(d) && everyIndex(d, (x) => (typeof x === 'number' && Number.isSafeInteger(x) && x >= 0) || (typeof x === 'string' && x !== '')))
        ? null
        : 'must map input or output names to lists of dims (whole numbers, or names such as N for the batch axis)',
    example: "shapes: { state: [2, 'N', 128] }",
  },
  dims: {
    check: (v) => (isPlainObject(v) && Object.values(v).every((x) => x === 0 || isPositiveInteger(x)) ? null : 'must map symbolic dim names to whole numbers (0 for an empty dim)'),
    example: 'dims: { seq: 16 }',
  },
  consts: object('consts: { sr: 16000 }'),
  inputs: { check: (v) => (typeof v === 'string' && v !== '' ? null : 'must be the path of an .npy, .npz or .safetensors file'), example: "inputs: 'samples.npz'" },
  seed: { check: (v) => (typeof v === 'number' && Number.isSafeInteger(v) ? null : 'must be an integer'), example: 'seed: 0' },
  range: {
    check: (v) => {
      if (!Array.isArray(v) || v.length !== 2 || !everyIndex(v, (x) => typeof x === 'number' && Number.isFinite(x))) return 'must be [low, high], two finite numbers';
      const [lo, hi] = v as [number, number];
      if (!(lo < hi)) return 'must have low < high: a range of one value makes every sample the same';
      if (Math.abs(lo) > FLOAT32_MAX || Math.abs(hi) > FLOAT32_MAX) return 'must lie within float32 (about ±3.4e38): beyond it samples are Infinity';
      return null;
    },
    example: 'range: [-1, 1]',
  },
  vocab: positiveInteger('vocab: 100'),
  outputTolerances: object("outputTolerances: { logits: { ulp: 4 } }"),
  outputs: {
    check: (v) => (Array.isArray(v) && v.length > 0 && everyIndex(v, (x) => typeof x === 'string' && x !== '') ? null : 'must be a non-empty list of output names'),
    example: "outputs: ['embedding']",
  },
  batchSizes: sizes('batchSizes: [1, 2, 8, 64] (CLI --batch-sizes 1,2,8,64)'),
  servedSizes: sizes('servedSizes: [1, 512] (CLI --serve-sizes 1,512)'),
  maxBatch: positiveInteger('maxBatch: 32 (CLI --max-batch 32)'),
  reference: positiveInteger('reference: 1 (CLI --reference 1)'),
  probes: positiveInteger('probes: 3 (CLI --probes 3)'),
  padTo: {
    check: (v) => (!isPositiveInteger(v) ? 'must be a positive integer' : (v as number) < 2 ? 'must be 2 or more (padding to 1 pads nothing: every batch has a row already)' : null),
    example: 'padTo: 8, the batch size your server pads to (CLI --pad-to 8)',
  },
  filler: oneOf(['zeros', 'last'], "filler: 'zeros'"),
  batchSize: positiveInteger('batchSize: 16 (CLI --batch-size 16)'),
  repeats: {
    check: (v) => (!(isPositiveInteger(v) && (v as number) >= 2) ? 'must be an integer of at least 2' : (v as number) > MAX_REPEATS ? `must be at most ${MAX_REPEATS} (each repeat runs the whole batch again)` : null),
    example: 'repeats: 5 (CLI --repeats 5)',
  },
  maxBytes: {
    check: (v) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? null : 'must be a positive number of bytes'),
    example: 'maxBytes: 4e9 (CLI --max-memory 4GB)',
  },
  callTimeoutMs: {
    check: (v) => (typeof v === 'number' && v > 0 ? null : 'must be a positive number of milliseconds (Infinity: no limit)'),
    example: 'callTimeoutMs: 300000 (CLI --call-timeout 5m)',
  },
  budget: {
    check: (v) => (isPlainObject(v) && typeof v.seconds === 'number' && Number.isFinite(v.seconds) && v.seconds > 0 && Object.keys(v).length === 1 ? null : 'must be { seconds: N } with N > 0'),
    example: 'budget: { seconds: 30 } (CLI --budget 30s)',
  },
  padding: {
    check: (v) => (v === 'auto' || v === false || isPlainObject(v) ? null : "must be 'auto', false or { axis, mask, padId, side, lengths }"),
    example: "padding: { mask: 'attention_mask', side: 'right' } (CLI --padding auto|off, --mask, --pad-side)",
  },
  onProgress: { check: (v) => (typeof v === 'function' ? null : 'must be a function (done, total) => void'), example: 'onProgress: (done, total) => {}' },
};

/**
 * rejectUnknownOptions, then every option present checked against OPTION_TYPES (or `types`,
 * for a function whose option of the same name means something else). Undefined values are
 * "not given", as everywhere in the API.
 */
export function validateOptions(options: object | undefined, known: readonly string[], where: string, types: Record<string, OptionType | null> = {}): void {
  rejectUnknownOptions(options, known, where);
  if (options === undefined) return;
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue;
    const type = key in types ? types[key] : OPTION_TYPES[key];
    const problem = type?.check(value);
    if (problem) throw new BadInputError(`${where}: ${key} ${problem}, got ${formatValue(value)}; for example ${type?.example}`);
  }
}
