/**
 * Which probe rows hold bitwise the same outputs: the question a check asks most (a row against
 * its reference, batch against mates, the classes' distinct answers, the recipe's rows). Each
 * output array gets the checksum of its bytes once (kernels/checksum.ts): two that differ are
 * told apart by a number, two that agree by one native byte comparison, and asking again about
 * either costs a lookup. Rows hold arrays of their own (run.ts copies them out of each batch),
 * never changed after, so what is worked out for an array stays true.
 */
import type { TypedArray } from '../inputs/arrays';
import { checksumNumber } from '../kernels/checksum';
import type { OutputLayout, ProbeRow } from './run';

interface Identity {
  bytes: Uint8Array;
  sum: number;
}

const identities = new WeakMap<TypedArray, Identity>();

function identityOf(data: TypedArray): Identity {
  let found = identities.get(data);
  if (!found) {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    found = { bytes, sum: checksumNumber(bytes) };
    identities.set(data, found);
  }
  return found;
}

/** Bitwise equality of two output arrays (NaN equals NaN with the same bits). */
export function sameOutput(a: TypedArray, b: TypedArray): boolean {
  if (a === b) return true;
  if (a.byteLength !== b.byteLength) return false;
  const x = identityOf(a);
  const y = identityOf(b);
  return x.sum === y.sum && Buffer.compare(x.bytes, y.bytes) === 0;
}

/**
 * Names the distinct outputs of probe rows: two rows get the same key ('0', '1', ...) exactly
 * when their outputs are bitwise equal. Rows are bucketed by their arrays' checksums, then told
 * apart byte for byte.
 */
export function outputKeyer(layouts: readonly OutputLayout[]): (row: ProbeRow) => string {
  const buckets = new Map<number | string, { outputs: TypedArray[]; key: string }[]>();
  let next = 0;
  return (row) => {
    const outputs = layouts.map((l) => row.outputs[l.name]);
    const sum = outputs.length === 1 ? identityOf(outputs[0]).sum : outputs.map((d) => identityOf(d).sum).join('|');
    let bucket = buckets.get(sum);
    if (!bucket) buckets.set(sum, (bucket = []));
    const same = bucket.find((b) => b.outputs.every((d, i) => sameOutput(d, outputs[i])));
    if (same) return same.key;
    const key = String(next++);
    bucket.push({ outputs, key });
    return key;
  };
}
