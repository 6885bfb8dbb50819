/**
 * Which probe rows hold bitwise the same outputs: the question a check asks most (a row against
 * its reference, batch against mates, the classes' distinct answers, the recipe's rows). Each
 * output array gets the checksum of its bytes once (kernels/checksum.ts): two that differ are
 * told apart by a number, two that agree by one native byte comparison, and asking again about
 * either costs a lookup. Rows hold arrays of their own (run.ts copies them out of each batch),
 * never changed after, so what is worked out for an array stays true.
 *
 * Bitwise as the comparison scans (compare/metrics.ts) and the table read it: a NaN equals any
 * NaN at the same place, whatever its sign and payload, so float outputs are keyed by their
 * bytes with every NaN as one pattern (the checksum kernel rewrites them in the bytes it has
 * copied, one more SIMD pass; a copy is kept only for an array that holds a NaN). Otherwise
 * batch 1's NaN and batch 8's NaN of another sign (a Neg, a kernel's own default NaN) read
 * bitwise equal in the table yet fell into different stable classes.
 */
import type { TypedArray } from '../inputs/arrays';
import { checksumNumber, floatsChecksumNumber } from '../kernels/checksum';
import type { OutputLayout, ProbeRow } from './run';

interface Identity {
  bytes: Uint8Array;
  sum: number;
}

const identities = new WeakMap<TypedArray, Identity>();

/** The size of a float dtype's values, whose NaNs are read as one; 0 for the rest (bytes as they are). */
const NAN_WIDTH: Record<string, 2 | 4 | 8> = { float16: 2, float32: 4, float64: 8 };

function identityOf(data: TypedArray, dtype: string): Identity {
  let found = identities.get(data);
  if (!found) {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const width = NAN_WIDTH[dtype];
    if (width) {
      const { sum, canonical } = floatsChecksumNumber(bytes, width);
      found = { bytes: canonical ?? bytes, sum };
    } else {
      found = { bytes, sum: checksumNumber(bytes) };
    }
    identities.set(data, found);
  }
  return found;
}

/**
 * Bitwise equality of two output arrays of `dtype`, as the comparison scans read it: -0 is not
 * +0, and NaN equals NaN at the same place whatever its sign and payload.
 */
export function sameOutput(a: TypedArray, b: TypedArray, dtype: string): boolean {
  if (a === b) return true;
  if (a.byteLength !== b.byteLength) return false;
  const x = identityOf(a, dtype);
  const y = identityOf(b, dtype);
  return x.sum === y.sum && Buffer.compare(x.bytes, y.bytes) === 0;
}

/**
 * Names the distinct outputs of probe rows: two rows get the same key ('0', '1', ...) exactly
 * when their outputs are bitwise equal (sameOutput's: NaN equals NaN). Rows are bucketed by
 * their arrays' checksums, then told apart byte for byte.
 */
export function outputKeyer(layouts: readonly OutputLayout[]): (row: ProbeRow) => string {
  const buckets = new Map<number | string, { outputs: TypedArray[]; key: string }[]>();
  let next = 0;
  return (row) => {
    const outputs = layouts.map((l) => row.outputs[l.name]);
    const sum = outputs.length === 1 ? identityOf(outputs[0], layouts[0].dtype).sum : outputs.map((d, i) => identityOf(d, layouts[i].dtype).sum).join('|');
    let bucket = buckets.get(sum);
    if (!bucket) buckets.set(sum, (bucket = []));
    const same = bucket.find((b) => b.outputs.every((d, i) => sameOutput(d, outputs[i], layouts[i].dtype)));
    if (same) return same.key;
    const key = String(next++);
    bucket.push({ outputs, key });
    return key;
  };
}
