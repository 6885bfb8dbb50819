import { BadInputError } from '../errors';

/** Parsers for repeatable and list flags; each bad value is one line that shows the right form. */

/**
 * Past 2^53 digits no longer name one number (99999999999999999999 reads as 1e20): refused here,
 * naming the flag, rather than by the API in its own words (`seed must be an integer`).
 */
const TOO_LARGE = `at most ${Number.MAX_SAFE_INTEGER}`;

export function positiveInteger(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !(n > 0)) throw new BadInputError(`${flag} ${value}: expected a positive integer`);
    if (!Number.isSafeInteger(n)) throw new BadInputError(`${flag} ${value}: too large; expected a positive integer, ${TOO_LARGE}`);
    return n;
  };
}

/** A whole number from `min` to `max`; `why` says what the bounds are for, and what to give. */
export function integerIn(flag: string, min: number, max: number, why: string) {
  const parse = positiveInteger(flag);
  return (value: string): number => {
    const n = parse(value);
    if (n < min || n > max) throw new BadInputError(`${flag} ${value}: ${why}`);
    return n;
  };
}

export function integer(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim())) throw new BadInputError(`${flag} ${value}: expected an integer`);
    if (!Number.isSafeInteger(n)) throw new BadInputError(`${flag} ${value}: too large; expected an integer from -${Number.MAX_SAFE_INTEGER} to ${Number.MAX_SAFE_INTEGER}`);
    return n;
  };
}

/**
 * The trimmed items of a comma-separated value (`list`, the part of `value` after NAME= for a
 * pair); [] when it holds none. One trailing comma is
 * allowed, as in a JavaScript array; an empty item before another (`1,,2`, `,1`) is refused, as
 * the API refuses a sparse array: it is a slip, an item left out, not a list to guess at.
 */
function listItems(flag: string, value: string, example: string, list = value): string[] {
  const items = list.split(',').map((p) => p.trim());
  if (items.every((p) => p === '')) return [];
  if (items[items.length - 1] === '') items.pop();
  if (items.includes('')) throw new BadInputError(`${flag} ${value}: the list has an empty item (two commas in a row, or one first); give each item between commas, e.g. ${example}`);
  return items;
}

/**
 * A list flag given twice: commander would keep only the last list. Refused, naming both, rather
 * than merged: which of the two the user meant is theirs to say.
 */
function once<T>(flag: string, parse: (value: string) => T[]) {
  return (value: string, previous?: T[]): T[] => {
    const items = parse(value);
    if (previous !== undefined) {
      const both = [...new Set([...previous, ...items])].join(',');
      throw new BadInputError(`${flag} given twice (${previous.join(',')} and ${value}); give it once, with every item in one comma-separated list, e.g. ${flag} ${both}`);
    }
    return items;
  };
}

/** "1,2,8,64" → [1, 2, 8, 64]. */
export function sizeList(flag: string) {
  return once(flag, (value: string): number[] => {
    const parts = listItems(flag, value, `${flag} 1,2,8,64`);
    if (parts.length === 0) throw new BadInputError(`${flag} ${value}: expected a comma-separated list of positive integers, e.g. 1,2,8,64`);
    return parts.map((p) => {
      if (!/^\d+$/.test(p) || Number(p) === 0 || !Number.isSafeInteger(Number(p))) {
        throw new BadInputError(`${flag} ${value}: '${p}' is not a positive integer${/^\d+$/.test(p) && Number(p) > 0 ? ` (${TOO_LARGE})` : ''}; batch sizes are whole numbers >= 1, e.g. 1,2,8,64`);
      }
      return Number(p);
    });
  });
}

/**
 * A repeatable flag naming one item twice (`--dim seq=16 --dim seq=32`) would keep the last
 * silently, as a flag given twice would: refused, naming both.
 */
function refuseSameName(flag: string, name: string, previous: Record<string, unknown>, value: string, shown: (v: unknown) => string): void {
  if (Object.hasOwn(previous, name)) throw new BadInputError(`${flag} names '${name}' twice (${shown(previous[name])} and ${value}); give each name once`);
}

/** "NAME=VALUE" pairs, collected into a record (repeatable flags). */
function splitPair(flag: string, value: string, form: string): [string, string] {
  const eq = value.indexOf('=');
  if (eq <= 0 || eq === value.length - 1) throw new BadInputError(`${flag} ${value}: expected ${form}`);
  return [value.slice(0, eq).trim(), value.slice(eq + 1).trim()];
}

/** --shape state=2,N,128 (N marks the batch axis). */
export function collectShape(value: string, previous: Record<string, (number | string)[]> = {}): Record<string, (number | string)[]> {
  const [name, dims] = splitPair('--shape', value, 'NAME=d0,d1,... with N marking the batch axis, e.g. --shape state=2,N,128');
  refuseSameName('--shape', name, previous, value, (d) => `${name}=${(d as unknown[]).join(',')}`);
  const parsed = listItems('--shape', value, '--shape state=2,N,128', dims).map((t) => {
    if (/^\d+$/.test(t) && Number.isSafeInteger(Number(t))) return Number(t);
    if (/^[A-Za-z_][\w.]*$/.test(t)) return t;
    throw new BadInputError(`--shape ${value}: '${t}' is neither a number nor a name; e.g. --shape state=2,N,128`);
  });
  return { ...previous, [name]: parsed };
}

/** --dim seq=16 */
export function collectDim(value: string, previous: Record<string, number> = {}): Record<string, number> {
  const [name, size] = splitPair('--dim', value, 'SYMBOL=N, e.g. --dim seq=16');
  refuseSameName('--dim', name, previous, value, (n) => `${name}=${String(n)}`);
  // 0 is an empty dim: a KV cache's past_sequence_length on a decoder's first step.
  if (!/^\d+$/.test(size) || !Number.isSafeInteger(Number(size))) throw new BadInputError(`--dim ${value}: the size must be a whole number (0 for an empty dim), e.g. --dim ${name}=16`);
  return { ...previous, [name]: Number(size) };
}

/** --const sr=16000 (a number, or a comma-separated list of numbers). */
export function collectConst(value: string, previous: Record<string, unknown> = {}): Record<string, unknown> {
  const [name, raw] = splitPair('--const', value, 'NAME=VALUE, e.g. --const sr=16000');
  refuseSameName('--const', name, previous, value, (v) => `${name}=${Array.isArray(v) ? v.join(',') : String(v)}`);
  const numbers = listItems('--const', value, '--const sr=16000 or --const w=0.5,0.25', raw).map(Number);
  if (numbers.length === 0 || numbers.some((n) => !Number.isFinite(n))) throw new BadInputError(`--const ${value}: the value must be a number or a comma-separated list of numbers`);
  return { ...previous, [name]: numbers.length === 1 ? numbers[0] : numbers };
}

/** --output-tolerance logits:ulp=4 */
export function collectOutputTolerance(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const colon = value.indexOf(':');
  if (colon <= 0) throw new BadInputError(`--output-tolerance ${value}: expected OUTPUT:TOLERANCE, e.g. --output-tolerance logits:atol=1e-4`);
  refuseSameName('--output-tolerance', value.slice(0, colon), previous, value, (t) => `${value.slice(0, colon)}:${String(t)}`);
  return { ...previous, [value.slice(0, colon)]: value.slice(colon + 1) };
}

const SECONDS: Record<string, number> = { ms: 1e-3, s: 1, m: 60, h: 3600 };

/**
 * --budget 30s | 2m | 1h | 500ms | 45 (seconds), as do other durations (--call-timeout);
 * `none` (no limit: Infinity seconds) only where `none` is allowed.
 */
export function duration(flag: string, { none = false }: { none?: boolean } = {}) {
  return (value: string): { seconds: number } => {
    if (none && value.trim().toLowerCase() === 'none') return { seconds: Infinity };
    const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/i.exec(value.trim());
    const seconds = m ? Number(m[1]) * SECONDS[(m[2] ?? 's').toLowerCase()] : NaN;
    if (!(seconds > 0 && Number.isFinite(seconds))) throw new BadInputError(`${flag} ${value}: expected a duration such as 30s, 2m, 1h or 500ms${none ? ', or none for no limit' : ''}`);
    return { seconds };
  };
}

/** "embedding,logits" → ['embedding', 'logits']; an empty list would compare nothing. */
export function nameList(flag: string) {
  return once(flag, (value: string): string[] => {
    const names = listItems(flag, value, `${flag} embedding,logits`);
    if (names.length === 0) throw new BadInputError(`${flag} ${JSON.stringify(value)}: no names given; expected a comma-separated list of output names, e.g. ${flag} embedding,logits`);
    return names;
  });
}

const UNITS: Record<string, number> = { '': 1, b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40 };

/** --max-memory 512MB | 4GB | 2GiB | 8g | 1000000 (bytes): KB/MB/GB are powers of 10, KiB/MiB/GiB and K/M/G powers of 2. */
export function byteSize(flag: string) {
  return (value: string): number => {
    const m = /^(\d+(?:\.\d+)?|\.\d+)(?:e(\d+))?\s*([a-z]*)$/i.exec(value.trim());
    const unit = m ? UNITS[m[3].toLowerCase()] : undefined;
    const bytes = m && unit !== undefined ? Math.floor(Number(m[1]) * 10 ** Number(m[2] ?? 0) * unit) : NaN;
    if (!(bytes >= 1) || !Number.isSafeInteger(bytes)) throw new BadInputError(`${flag} ${value}: expected a size such as 512MB, 4GB or 2GiB (or a number of bytes)`);
    return bytes;
  };
}
