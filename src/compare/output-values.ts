import { BadInputError } from '../errors';
import { countNonFinite, everyNonFinite } from '../inputs/arrays';

/**
 * What a run's outputs can show, whichever capability compares them: outputs with nothing
 * finite are refused (NaN equals NaN bitwise, so a pass would mean nothing), partly NaN
 * outputs and outputs of one value throughout the batch are named in a note.
 */
export interface OutputValues {
  name: string;
  dtype: string;
  /** The output's values over every sample compared, in one or more parts (a side's batches). */
  parts: readonly ArrayLike<number | bigint>[];
}

/** The one line every capability throws when no compared value is finite. */
export function nothingFiniteError(names: readonly string[]): BadInputError {
  return new BadInputError(`every output value is NaN or Infinity for these samples (${names.map((n) => `'${n}'`).join(', ')}): NaN compared with NaN proves nothing; check the model on these inputs, or give other samples`);
}

/** The note on outputs that hold some NaN or Infinity (`held`: which, and how many values). */
export function nonFiniteNote(held: string): string {
  return `NaN or Inf in ${held}: NaN is compared as equal to NaN, so only the finite values could show a difference; find where they come from (an empty input, a division by zero, an overflow)`;
}

/**
 * Outputs that hold no values (a dim of 0, such as [N, 0]): equal by default, so nothing a pass
 * could rest on. Throws when every output compared is one; else the note that names them, or
 * null (check on a sample's dims, determinism and compare on a run's, the batch axis where known).
 */
export function emptyOutputsNote(outputs: readonly { name: string; dims: readonly number[]; batchAxis: number | null }[]): string | null {
  const empty = outputs.filter((o) => o.dims.includes(0));
  if (empty.length === 0) return null;
  const shape = (o: (typeof outputs)[number]) => `'${o.name}' [${o.dims.map((d, a) => (a === o.batchAxis ? 'N' : d)).join(', ')}]`;
  if (empty.length === outputs.length) {
    throw new BadInputError(`nothing to compare: every compared output is empty per sample (${empty.map(shape).join(', ')}); compare outputs that hold values (--outputs / outputs)`);
  }
  return `not compared: ${empty.map(shape).join(', ')} ${empty.length === 1 ? 'holds' : 'hold'} no values per sample`;
}

/** True when every value of every output is NaN or Infinity. */
export function nothingFinite(outputs: readonly OutputValues[]): boolean {
  return outputs.length > 0 && outputs.every((o) => o.parts.every((p) => everyNonFinite(p, o.dtype)));
}

/**
 * Notes on one run's outputs over `samples` distinct samples: NaN or Infinity in some values,
 * or one value throughout (the output does not depend on the sample, so it shows little).
 */
export function outputValueNotes(outputs: readonly OutputValues[], samples: number): string[] {
  const notes: string[] = [];
  const lengthOf = (o: OutputValues) => o.parts.reduce((n, p) => n + p.length, 0);
  const held = outputs.map((o) => ({ o, n: o.parts.reduce((k, p) => k + countNonFinite(p, o.dtype), 0) })).filter((x) => x.n > 0);
  if (held.length > 0) notes.push(nonFiniteNote(held.map(({ o, n }) => `'${o.name}' (${n} of ${lengthOf(o)} values)`).join(', ')));
  if (samples >= 2) {
    const constant = outputs.filter((o) => lengthOf(o) >= 2 && o.parts.every((p) => p.length === 0 || oneValue(p, o.parts[0][0])));
    if (constant.length > 0) {
      const list = constant.map((o) => `'${o.name}' (${String(o.parts[0][0])})`).join(', ');
      notes.push(`${list} ${constant.length === 1 ? 'holds' : 'hold'} one value throughout the ${samples} samples: the output does not depend on the sample here, so only that value was compared; check with samples that change the output`);
    }
  }
  return notes;
}

/** Every element equal to `value`, as numbers (+0 equals -0; NaN is never one value). */
function oneValue(data: ArrayLike<number | bigint>, value: number | bigint | undefined): boolean {
  if (value === undefined || value !== value) return false;
  for (let i = 0; i < data.length; i++) if (data[i] !== value) return false;
  return true;
}
