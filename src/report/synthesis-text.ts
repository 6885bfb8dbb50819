/**
 * One line for people: how each input's samples were made (model.inputs[].synthesis in the JSON).
 * e.g. `inputs: input_ids ids in [0, 1000) (table word_emb, 1000 rows, Gather /embeddings/Gather),
 * attention_mask mask (1 on tokens, 0 on pads), token_type_ids ids in [0, 2) (table type_emb, 2 rows, Gather G)`
 */
import type { SynthesisFact } from '../inputs/samples';
import type { TableRef } from '../onnx/tables';

/** The note of 8-bit inputs synthesized over their dtype's whole range (pixels, not ids). */
export const WHOLE_RANGE_NOTE = 'values over the whole range of';

function table(t: TableRef): string {
  return `table ${t.initializer}, ${t.rows} rows, ${t.node}`;
}

/** The note's reason (`<why>: ids below ...`) and whether the range was the default. */
function untabled(note: string | undefined): string {
  if (!note) return '';
  const cut = note.lastIndexOf(': ids below');
  const why = cut >= 0 ? note.slice(0, cut) : note;
  return ` (${/vocab default/.test(note) ? 'vocab default, set vocab' : 'vocab'}: ${why})`;
}

function ids(low: number, high: number, t: TableRef | null | undefined, note?: string): string {
  return `ids in [${low}, ${high})${t ? ` (${table(t)})` : untabled(note)}`;
}

/**
 * How one input's samples are made, in a few words. `padded`: false for a mask the check did not
 * pad (another mask was padded, or padding went untested), which then held 1 on every token.
 */
export function describeSynthesis(fact: SynthesisFact, name = 'NAME', padded = true): string {
  switch (fact.kind) {
    case 'floats':
      return `floats in [${fact.range[0]}, ${fact.range[1]})`;
    case 'ids':
      if (fact.note?.startsWith(WHOLE_RANGE_NOTE)) return `values in [${fact.low}, ${fact.high}) (${fact.note})`;
      return ids(fact.low, fact.high, fact.table, fact.note);
    case 'mask':
      if (fact.pads) return 'padding mask (True on pads), all False: no pads';
      return padded ? 'mask (1 on tokens, 0 on pads)' : 'mask, all 1s (no pads)';
    case 'positions':
      return `positions 0..len-1${fact.table ? ` (${table(fact.table)})` : ''}`;
    case 'bool':
      // --const takes numbers: 1 for true, 0 for false.
      return fact.shared
        ? `bool shared by the batch: ${fact.shared.length === 1 ? String(fact.shared[0]) : `[${fact.shared.join(', ')}]`} (seeded at random, so only that branch of the model runs; choose with --const ${name}=1 or ${name}=0)`
        : 'bool (random bits, seeded)';
    case 'const':
      return 'shared by the batch (const)';
    case 'user': {
      if (fact.role === 'samples') return `${fact.source === 'samples' ? 'as given' : `from ${fact.source}`}, each passed to the function as it is`;
      const allowed = fact.role === 'ids' && fact.high !== undefined && fact.table ? ` (table ${fact.table.initializer} allows [${fact.low ?? 0}, ${fact.high}))` : '';
      return `${fact.role} from ${fact.source}${allowed}`;
    }
  }
}

/**
 * `inputs: <name> <how>, ...`; an empty string when there are no inputs. `paddedMask`, where
 * given, is the mask the check padded (the report's padding.mask; null when none was): any other
 * mask was fed all 1s, and the line says so.
 */
export function synthesisLine(inputs: readonly { name: string; synthesis: SynthesisFact; batchAxis?: number | null }[], paddedMask?: string | null): string {
  if (inputs.length === 0) return '';
  return `inputs: ${inputs.map((i) => `${i.name} ${describeSynthesis(i.synthesis, i.name, paddedMask === undefined || i.name === paddedMask)}${sharedGuess(i)}`).join(', ')}`;
}

/**
 * An input without a batch axis that nobody gave a value for (an audio model's `sr`) got one
 * made-up value for the whole check: say so, and how to give the value the model is served with.
 */
function sharedGuess(input: { name: string; synthesis: SynthesisFact; batchAxis?: number | null }): string {
  // A shared bool flag already says which value it got and how to choose (describeSynthesis).
  if (input.batchAxis !== null || input.synthesis.kind === 'const' || input.synthesis.kind === 'user' || (input.synthesis.kind === 'bool' && input.synthesis.shared)) return '';
  return ` (no batch axis: one synthesized value shared by the whole check; give the one you serve with consts, CLI --const ${input.name}=VALUE)`;
}
