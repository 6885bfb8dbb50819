/**
 * An error the user can fix: a bad file, flag or option. Its message is one line that names the
 * problem and the fix. The CLI prints it and exits 2; the API throws it as it is.
 */
export class BadInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadInputError';
  }
}

/**
 * A value as a message shows it: NaN, Infinity and BigInt as themselves (JSON.stringify would
 * print null, or throw on a BigInt), strings quoted, long values cut.
 */
export function formatValue(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n (a BigInt)`;
  if (typeof value === 'number') return String(value);
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol' || value === undefined) return String(value);
  let text: string;
  try {
    text = JSON.stringify(value, (_k, v) =>
      typeof v === 'bigint' ? `${v}n` : typeof v === 'number' && !Number.isFinite(v) ? String(v) : v === undefined ? '<empty>' : v,
    );
    // Holes in a sparse array are skipped by JSON: show them.
    if (Array.isArray(value) && Object.keys(value).length < value.length) text = `[${Array.from(value, (v, i) => (i in value ? formatValue(v) : '<empty>')).join(', ')}]`;
  } catch {
    text = Object.prototype.toString.call(value);
  }
  text = text.replace(/"(-?Infinity|NaN|-?\d+n|<empty>)"/g, '$1');
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** A value in a few words for a message: "an array of length 3", "an object (Map)", 'string "x"'. */
export function describeValue(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return `an array of length ${x.length}`;
  if (typeof x === 'object') return `an object (${(x as object).constructor?.name ?? 'Object'})`;
  if (typeof x === 'function') return `a function (${x.name || 'anonymous'})`;
  return `${typeof x} ${JSON.stringify(x)}`;
}

/** A message on one line: runs of whitespace (newlines from native errors included) become one space. */
export function oneLine(message: string): string {
  return message.replace(/\s+/g, ' ').trim();
}
