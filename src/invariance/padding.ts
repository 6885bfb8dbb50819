/**
 * Sequence padding: a server pads every text to the longest text in its batch, so a sample's
 * input depends on its batch-mates. This module finds the sequence axis a token input shares
 * with a mask, gives each sample a natural length, feeds every ordinary run padded to the
 * sequence limit (pad tokens, mask 0), and adds the runs that isolate padding as a cause:
 * each probe alone at its own length (unpadded), alone with other token ids in its pad
 * positions, alone padded on the other side, and the probes together padded to their longest.
 *
 * Two paddings, kept apart in every word: batch padding adds filler ROWS (`padTo`, the recipe);
 * sequence padding adds pad TOKENS (this module).
 */
import ort = require('onnxruntime-node');
import { BadInputError, formatValue } from '../errors';
import { allocate, blockAllocator, floatToHalf, halfToFloat, product, TypedArray } from '../inputs/arrays';
import { batchTensor, isMaskName, isPadMaskName, SampleCache, SamplePool } from '../inputs/samples';
import { sumTerms, type InputSpec } from '../inputs/spec';
import type { TableRef } from '../onnx/tables';
import type { ValueInfo } from '../runtime/session';
import type { PlannedRun } from './plan';
import type { OutputLayout, ProbeRow } from './run';

export type PaddingSide = 'left' | 'right';

/** What the user may say about sequence padding (`padding` option). */
export interface PaddingOptions {
  /** The symbolic dim of the sequence axis (default: the one the mask shares with a token input). */
  axis?: string;
  /** The mask input (default: the batched integer input whose name says mask). */
  mask?: string;
  /** The token id put in pad positions (default 0). */
  padId?: number;
  /** Where pads go (default 'right'). */
  side?: PaddingSide;
  /** Natural lengths of the probes, in tokens (default: spread below the sequence limit). */
  lengths?: number[];
}

export type PaddingOption = 'auto' | false | PaddingOptions;

/** How a run's token inputs are laid out, for the runs that test padding. */
export interface TokenLayout {
  /** Tokens along the sequence axis of this run's tensors. */
  length: number;
  side: PaddingSide;
  /** 'pad-id': pads hold padId; 'other-ids': pads hold other token ids (mask still 0). */
  pads: 'pad-id' | 'other-ids';
}

/** What the check knows about padding once it resolved the inputs. */
export interface PaddingSetup {
  axis: string;
  /** The sequence limit: every ordinary run is padded to it. */
  limit: number;
  mask: string;
  /** Inputs on the sequence axis, by role, and their axis index in a sample. */
  roles: Record<string, { role: 'tokens' | 'mask' | 'positions' | 'other'; axis: number; high: number }>;
  padId: number;
  side: PaddingSide;
  /** Natural length of the pool's sample `index`. */
  lengthOf: (index: number) => number;
  /** Lengths of the probes (pool indices 0..probes-1), as the report shows them. */
  probeLengths: number[];
  /** Every symbolic dim's size: which dims span the axis (spansAxis). */
  dims: Record<string, number>;
}

export interface PaddingComparison {
  /** 'unpadded': alone at its own length; 'pad-ids': other ids in its pads; 'other-side': pads on the other side; 'served': the probes together, padded to the longest. */
  run: 'unpadded' | 'pad-ids' | 'other-side' | 'served';
  /** What it is compared with. */
  against: string;
  maxAbs: number;
  bitExact: boolean;
  pass: boolean;
  /** Outputs left out because their sequence axis is unknown (their sizes differ). */
  skipped: string[];
  /** 'other-side' only: within the tolerance of the text alone, unpadded (then the side moves it, not the pads). */
  matchesUnpadded?: boolean;
}

/** The JSON `padding` field. */
export interface PaddingReport {
  tested: boolean;
  axis: string | null;
  mask: string | null;
  padId: number | null;
  side: PaddingSide | null;
  /** The sequence limit every ordinary run is padded to. */
  limit: number | null;
  /** The probes' natural lengths. */
  lengths: number[];
  /** Why padding was not tested (null when it was). */
  reason: string | null;
  comparisons: PaddingComparison[];
}

export function untested(reason: string): PaddingReport {
  return { tested: false, axis: null, mask: null, padId: null, side: null, limit: null, lengths: [], reason, comparisons: [] };
}

const INTEGER = new Set(['int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'bool']);
const FLOATS = new Set(['float32', 'float64', 'float16']);
const isPositionName = (name: string) => /position/i.test(name);

/** Checks the `padding` option's form (the option table checks only that it is given). */
export function checkPaddingOption(option: unknown): PaddingOption {
  if (option === undefined || option === 'auto') return 'auto';
  if (option === false) return false;
  if (typeof option !== 'object' || option === null || Array.isArray(option)) {
    throw new BadInputError(`padding must be 'auto', false or { axis, mask, padId, side, lengths }, got ${formatValue(option)}; for example padding: { mask: 'attention_mask' } (CLI --padding auto|off)`);
  }
  const o = option as Record<string, unknown>;
  const known = ['axis', 'mask', 'padId', 'side', 'lengths'];
  for (const key of Object.keys(o)) if (!known.includes(key)) throw new BadInputError(`padding: unknown option '${key}'; the options are: ${known.join(', ')}`);
  for (const key of ['axis', 'mask'] as const) {
    if (o[key] !== undefined && (typeof o[key] !== 'string' || o[key] === '')) throw new BadInputError(`padding.${key} must be a name, got ${formatValue(o[key])}`);
  }
  if (o.padId !== undefined && !(typeof o.padId === 'number' && Number.isSafeInteger(o.padId) && o.padId >= 0)) {
    throw new BadInputError(`padding.padId must be a token id (an integer >= 0), got ${formatValue(o.padId)}; for example padId: 0 (CLI --pad-id 0)`);
  }
  if (o.side !== undefined && o.side !== 'left' && o.side !== 'right') throw new BadInputError(`padding.side must be 'left' or 'right', got ${formatValue(o.side)} (CLI --pad-side right)`);
  if (o.lengths !== undefined) {
    const l = o.lengths;
    if (!Array.isArray(l) || l.length === 0 || ![...l.keys()].every((i) => i in l && typeof l[i] === 'number' && Number.isSafeInteger(l[i]) && l[i] > 0)) {
      throw new BadInputError(`padding.lengths must be a non-empty list of token counts (positive integers), got ${formatValue(l)}; for example lengths: [4, 7, 11]`);
    }
  }
  return o as PaddingOptions;
}

/**
 * Whether the dim `d` spans exactly the tokens of the sequence axis `axis`: it is `axis`, or a sum
 * of `axis` and terms that are all 0 with these dims (a decoder's `past_sequence_length +
 * sequence_length` on a first step, `--dim past_sequence_length=0`).
 */
export function spansAxis(d: number | string, axis: string, dims: Record<string, number>): boolean {
  if (d === axis) return true;
  if (typeof d !== 'string') return false;
  const terms = sumTerms(d);
  if (!terms) return false;
  const own = terms.filter((t) => typeof t !== 'number' && t.symbol === axis);
  const rest = terms.filter((t) => typeof t === 'number' || t.symbol !== axis);
  return own.length === 1 && (own[0] as { sign: number }).sign === 1 && rest.every((t) => (typeof t === 'number' ? t === 0 : dims[t.symbol] === 0));
}

/** The sequence symbols of an input: its symbolic dims other than the batch axis. */
function sequenceSymbols(spec: InputSpec): string[] {
  return spec.declared.filter((d, axis): d is string => typeof d === 'string' && d !== '' && axis !== spec.batchAxis);
}

/**
 * Decides whether padding is tested and how. `highOf` gives an id input's exclusive bound (from
 * the graph's tables when known). `maskRows` gives the mask of each user sample, when the user
 * gave samples: their real lengths come from it. Returns the setup, or the reason it is not tested.
 */
export function resolvePadding(
  specs: readonly InputSpec[],
  dims: Record<string, number>,
  option: PaddingOption,
  context: {
    probes: number;
    highOf: (input: string) => number;
    userSamples?: SamplePool | null;
    tableOf?: (input: string) => TableRef | null;
    roleOf?: (input: string) => string | undefined;
    /** True where a float input is added to other values as it is (an additive mask), from the graph. */
    additive?: (input: string) => boolean;
  },
): PaddingSetup | { reason: string } {
  if (option === false) return { reason: 'padding: false' };
  const explicit = option === 'auto' ? {} : option;
  const batched = specs.filter((s) => s.batchAxis !== null);
  const names = specs.map((s) => s.name);
  if (explicit.mask !== undefined && !names.includes(explicit.mask)) {
    throw new BadInputError(`--mask ${explicit.mask}: the model has no input '${explicit.mask}'; its inputs are: ${names.join(', ')}`);
  }
  const isPositions = (s: InputSpec) => context.roleOf?.(s.name) === 'positions' || isPositionName(s.name);
  // Evidently not a mask: token ids or positions, which a mask (1 on tokens, 0 on pads) would overwrite.
  const notMask = (s: InputSpec): string | null => {
    const table = context.tableOf?.(s.name) ?? null;
    if (isPositions(s)) return `holds positions${table ? ` (it indexes '${table.initializer}', ${table.rows} rows, ${table.node})` : ''}`;
    // A 2-row lookup of a 0/1 mask can be a mask's own (to an additive bias); a wider table is a vocabulary.
    if (table && (table.rows > 2 || !isMaskName(s.name))) return `indexes the embedding table '${table.initializer}' (${table.rows} rows, ${table.node}), so it holds token ids`;
    return null;
  };
  const named = batched.filter((s) => isMaskName(s.name));
  // Of several masks (a decoder's attention_mask and encoder_attention_mask), the one on a token input's axis, whatever the input order.
  const onTokenAxis = (m: InputSpec) => sequenceSymbols(m).some((sym) => batched.some((s) => s !== m && INTEGER.has(s.dtype) && !isPositions(s) && !isMaskName(s.name) && sequenceSymbols(s).includes(sym)));
  const maskSpec = explicit.mask !== undefined ? specs.find((s) => s.name === explicit.mask) : (named.find((s) => !notMask(s) && onTokenAxis(s)) ?? named.find((s) => !notMask(s)));
  if (maskSpec && explicit.mask !== undefined) {
    const why = notMask(maskSpec);
    if (why) {
      const found = named.find((s) => s !== maskSpec && !notMask(s));
      const cure = found ? `leave --mask out (the mask '${found.name}' is found by its name) or name it with --mask ${found.name}` : `name the model's mask input with --mask (its inputs: ${names.join(', ')}), or leave padding off (--padding off)`;
      throw new BadInputError(`--mask ${maskSpec.name}: '${maskSpec.name}' ${why}, not a mask (1 on tokens, 0 on pads); ${cure}`);
    }
  }
  if (!maskSpec) {
    const ids = named.map((s) => `'${s.name}' ${notMask(s)}`);
    // Any detail of how to pad asks for padding: on a model with no mask it would be ignored.
    const asked = (['axis', 'padId', 'side', 'lengths'] as const).find((k) => explicit[k] !== undefined);
    if (asked !== undefined) {
      const flag = { axis: ' (CLI --pad-axis)', padId: ' (CLI --pad-id)', side: ' (CLI --pad-side)', lengths: '' }[asked];
      throw new BadInputError(`padding.${asked}${flag} ${formatValue(explicit[asked])} asks for sequence padding, but the model has no mask input (an input named *mask*${ids.length ? `; ${ids.join(', ')}` : ''}); name it with padding.mask (CLI --mask NAME), or leave it out`);
    }
    const cure = "if the model takes a mask, name it with --mask NAME (API: padding: { mask: 'NAME' })";
    if (ids.length > 0) return { reason: `the inputs named *mask* are not masks: ${ids.join(', ')}; ${cure}` };
    // Token ids on a sequence axis and no input named as a mask: a text model whose mask (`attn`, `am`) the name does not reveal.
    const idsOnSequence = batched.filter((s) => INTEGER.has(s.dtype) && s.dtype !== 'bool' && !isPositions(s) && sequenceSymbols(s).length > 0 && (context.tableOf?.(s.name) || !/^u?int8$/.test(s.dtype)));
    const tokens = idsOnSequence.find((s) => context.tableOf?.(s.name)) ?? idsOnSequence[0];
    if (tokens) return { reason: `no input is named as a mask (*mask*), so padding of the token input '${tokens.name}' [${tokens.declared.join(', ')}] is untested; ${cure}` };
    return { reason: 'no mask input (a batched input named *mask*): not a padded text model' };
  }
  // PyTorch's key padding mask: True on pads, the other way round from the 1s on tokens batchproof pads with.
  if (isPadMaskName(maskSpec.name)) {
    const why = `'${maskSpec.name}' reads as PyTorch's key padding mask (True on pads, False on tokens), the other way round from an attention_mask (1 on tokens), which is how batchproof pads`;
    if (explicit.mask !== undefined) throw new BadInputError(`--mask ${maskSpec.name}: ${why}; give samples padded your way (--inputs) with --padding off`);
    return { reason: `${why}: its samples are all False (no pads); give samples padded your way (--inputs) to test padding` };
  }
  if (!INTEGER.has(maskSpec.dtype) && !FLOATS.has(maskSpec.dtype)) {
    throw new BadInputError(`--mask ${maskSpec.name}: the mask has dtype ${maskSpec.dtype}; a mask holds 1 on tokens and 0 on pads, as an integer, bool or float input`);
  }
  // A float mask added straight to the scores is additive (0 on tokens, -inf on pads): 1s and 0s would unmask the pads.
  if (FLOATS.has(maskSpec.dtype) && context.additive?.(maskSpec.name)) {
    const why = `'${maskSpec.name}' (${maskSpec.dtype}) is added to the model's values as it is (an additive mask: 0 on tokens, a large negative number on pads), while batchproof pads with 1 on tokens and 0 on pads`;
    if (explicit.mask !== undefined) throw new BadInputError(`--mask ${maskSpec.name}: ${why}; give samples padded your way (--inputs) with --padding off`);
    return { reason: `${why}: give samples padded your way (--inputs) to test them` };
  }
  if (maskSpec.batchAxis === null) throw new BadInputError(`--mask ${maskSpec.name}: the mask has no batch axis; every sample needs its own mask`);
  const symbols = sequenceSymbols(maskSpec);
  if (explicit.axis !== undefined && !symbols.some((sym) => spansAxis(sym, explicit.axis as string, dims))) {
    // A decoder's mask over its KV cache and the new tokens ('past_sequence_length + sequence_length'):
    // the axis is one of its terms, and the mask spans it alone once the cache is empty.
    for (const symbol of symbols) {
      const terms = sumTerms(symbol) ?? [];
      if (!terms.some((t) => typeof t !== 'number' && t.symbol === explicit.axis && t.sign === 1)) continue;
      const past = [...new Set(terms.flatMap((t) => (typeof t !== 'number' && t.symbol !== explicit.axis && dims[t.symbol] !== 0 ? [t.symbol] : [])))];
      if (past.length === 0) continue;
      throw new BadInputError(
        `--pad-axis ${explicit.axis}: the mask '${maskSpec.name}' spans '${symbol}' (a KV cache's past tokens and the new ones), not '${explicit.axis}' alone, and batchproof pads a mask and its tokens along one axis; run a first step, the cache empty, where the mask spans the new tokens only and padding is tested (${past.map((p) => `--dim ${p}=0`).join(' ')}; API: dims: { ${past.map((p) => `${p}: 0`).join(', ')} }), or leave padding off (--padding off)`,
      );
    }
    const all = [...new Set(specs.flatMap(sequenceSymbols))];
    const batchDim = maskSpec.declared[maskSpec.batchAxis as number] === explicit.axis;
    throw new BadInputError(`--pad-axis ${explicit.axis}: ${batchDim ? `'${explicit.axis}' is the batch axis of the mask '${maskSpec.name}', not a sequence axis` : `the mask '${maskSpec.name}' has no dim '${explicit.axis}'`}; its sequence dims are: ${symbols.join(', ') || 'none'} (the model's: ${all.join(', ') || 'none'})`);
  }
  const tokenInputs = (symbol: string) => batched.filter((s) => s !== maskSpec && INTEGER.has(s.dtype) && !isPositions(s) && sequenceSymbols(s).includes(symbol));
  let axis = explicit.axis ?? symbols.find((s) => tokenInputs(s).length > 0);
  if (explicit.axis !== undefined && tokenInputs(explicit.axis).length === 0) {
    const tokenDims = [...new Set(batched.filter((s) => s !== maskSpec && INTEGER.has(s.dtype) && !isPositions(s)).flatMap(sequenceSymbols))];
    throw new BadInputError(`--pad-axis ${explicit.axis}: no token input (integer ids) has the dim '${explicit.axis}', so there are no tokens to pad along it; the token inputs' sequence dims are: ${tokenDims.join(', ') || 'none'}; name one of them, or leave padding off (--padding off)`);
  }
  if (axis === undefined) {
    // A fixed length (an export without dynamic_axes for the sequence): no text can take another length.
    const fixed = maskSpec.declared.findIndex((d, a) => a !== maskSpec.batchAxis && typeof d === 'number' && d > 1 && batched.some((s) => s !== maskSpec && INTEGER.has(s.dtype) && !isPositions(s) && s.declared[a] === d));
    if (fixed >= 0) {
      const n = maskSpec.declared[fixed];
      const why = `the sequence axis is fixed at ${n} tokens in the export ('${maskSpec.name}' [${maskSpec.declared.join(', ')}]), so no text can run at another length`;
      const cure = `re-export with a dynamic sequence axis (dynamic_axes={'${maskSpec.name}': {${fixed}: 'sequence'}, ...}) or give samples with your own pads (--inputs)`;
      if (option !== 'auto') throw new BadInputError(`padding asked for, but ${why}; ${cure}, or leave padding off`);
      return { reason: `${why}; synthesized masks are all 1s (no pads); ${cure}` };
    }
    // A decoder's mask over its KV cache and the new tokens ('past_sequence_length + sequence_length'): its axis is the
    // tokens' only when the cache is empty (past_sequence_length 0, a first step); then they are padded together.
    for (const symbol of symbols) {
      const terms = sumTerms(symbol) ?? [];
      const tokens = batched.find((s) => s !== maskSpec && INTEGER.has(s.dtype) && !isPositions(s) && terms.some((t) => typeof t !== 'number' && sequenceSymbols(s).includes(t.symbol)));
      if (!tokens) continue;
      const own = sequenceSymbols(tokens).find((sym) => spansAxis(symbol, sym, dims));
      if (own !== undefined) {
        axis = own;
        break;
      }
      const past = terms.flatMap((t) => (typeof t !== 'number' && !sequenceSymbols(tokens).includes(t.symbol) ? [t.symbol] : []));
      const why = `the mask '${maskSpec.name}' spans '${symbol}' (a KV cache's past tokens and the new ones), not the axis of the token input '${tokens.name}' [${tokens.declared.join(', ')}], and batchproof pads a mask and its tokens along one axis`;
      const first = past.length ? `run a first step, the cache empty, where the mask spans the new tokens only and padding is tested (${past.map((p) => `--dim ${p}=0`).join(' ')}; API: dims: { ${past.map((p) => `${p}: 0`).join(', ')} }), ` : '';
      const cure = `${first}check the export without a cache (optimum's decoder_model.onnx) for padding, or give samples with your own pads (--inputs)`;
      if (option !== 'auto') throw new BadInputError(`padding asked for, but ${why}; ${cure}, or leave padding off`);
      return { reason: `${why}; synthesized masks are all 1s (no pads); ${cure}` };
    }
  }
  if (axis === undefined) {
    if (option !== 'auto') throw new BadInputError(`padding asked for, but no token input shares a sequence axis with the mask '${maskSpec.name}'; name the axis with --pad-axis or leave padding off`);
    return { reason: `the mask '${maskSpec.name}' shares no sequence axis with a token input` };
  }
  const limit = dims[axis];
  if (!(limit >= 2)) return { reason: `the sequence axis '${axis}' has ${limit} token: nothing to pad` };

  const roles: PaddingSetup['roles'] = {};
  for (const s of batched) {
    const at = s.declared.findIndex((d, a) => a !== s.batchAxis && spansAxis(d, axis as string, dims));
    if (at < 0) continue;
    const role = s === maskSpec ? 'mask' : isPositions(s) && INTEGER.has(s.dtype) ? 'positions' : tokenInputs(axis).includes(s) ? 'tokens' : 'other';
    roles[s.name] = { role, axis: at, high: role === 'tokens' ? context.highOf(s.name) : 0 };
  }
  // The token input proper is the one with the largest table (input_ids, not token_type_ids).
  const tokenNames = Object.keys(roles).filter((n) => roles[n].role === 'tokens');
  const main = tokenNames.reduce((a, b) => (roles[b].high > roles[a].high ? b : a), tokenNames[0]);
  for (const n of tokenNames) if (n !== main) roles[n].role = 'other';
  const padId = explicit.padId ?? 0;
  if (padId >= roles[main].high) {
    const high = roles[main].high;
    const table = context.tableOf?.(main) ?? null;
    // The bound is the table's rows only where a table gives it; else it is batchproof's (100, or --vocab).
    if (table && table.rows <= high) throw new BadInputError(`--pad-id ${padId}: '${main}' takes ids below ${high} (its table's rows); give a pad id in [0, ${high})`);
    const why = table ? `--vocab ${high}; its table '${table.initializer}' has ${table.rows} rows` : 'no table found in the graph';
    throw new BadInputError(`--pad-id ${padId}: '${main}' is synthesized with ids below ${high} (${why}); give a pad id in [0, ${high}), or raise the bound with --vocab N (API: vocab)`);
  }
  const side = explicit.side ?? 'right';

  let lengthOf: (index: number) => number;
  const user = context.userSamples;
  if (user) {
    const cache = new Map<number, number>();
    lengthOf = (index) => {
      const hit = cache.get(index);
      if (hit !== undefined) return hit;
      const raw = user.sample(maskSpec, index);
      const mask = maskSpec.dtype === 'float16' ? Float32Array.from(raw as Uint16Array, halfToFloat) : raw;
      const n = realLength(mask, side, `samples '${maskSpec.name}' row ${index}`);
      cache.set(index, n);
      return n;
    };
  } else {
    // Probes shorter than the limit (so padding shows); batch-mates spread over 1..limit.
    lengthOf = (index) => (index < context.probes ? probeLength(index, context.probes, limit) : 1 + ((index * 7 + 3) % limit));
  }
  const probeLengths = Array.from({ length: context.probes }, (_, p) => lengthOf(user?.count ? p % user.count : p));
  if (explicit.lengths) {
    const given = explicit.lengths;
    for (const n of given) if (n > limit) throw new BadInputError(`padding.lengths: ${n} tokens is longer than the sequence limit ${limit} of '${axis}'; give lengths up to ${limit} (or raise it with --dim ${axis}=N)`);
    const base = lengthOf;
    lengthOf = (index) => (index < context.probes ? given[index % given.length] : base(index));
    probeLengths.splice(0, probeLengths.length, ...Array.from({ length: context.probes }, (_, p) => given[p % given.length]));
  }
  if (probeLengths.every((n) => n >= limit)) {
    return { reason: `every probe fills the sequence limit of ${limit} tokens, so no probe can be padded; give shorter samples or padding.lengths` };
  }
  return { axis, limit, mask: maskSpec.name, roles, padId, side, lengthOf, probeLengths, dims };
}

function probeLength(p: number, probes: number, limit: number): number {
  return Math.min(limit - 1, Math.max(1, Math.round((limit * (p + 1)) / (probes + 1.5))));
}

/** Tokens in a user's mask row: 1s then 0s (right padding) or 0s then 1s (left); anything else is bad input. */
function realLength(mask: TypedArray, side: PaddingSide, label: string): number {
  const values = Array.from(mask as ArrayLike<number | bigint>, (v) => Number(v));
  const odd = values.find((v) => v !== 0 && v !== 1);
  if (odd !== undefined) {
    throw new BadInputError(`${label}: holds ${odd}, so it is not a mask (1 on tokens, 0 on pads): token ids or another input; name the mask input with --mask (API: padding.mask), or fix the samples`);
  }
  const n = values.filter((v) => v !== 0).length;
  const expected = values.map((_, i) => (side === 'right' ? (i < n ? 1 : 0) : i >= values.length - n ? 1 : 0));
  if (n === 0 || values.some((v, i) => (v !== 0) !== (expected[i] === 1))) {
    throw new BadInputError(
      `${label}: the mask is not ${side === 'right' ? '1s then 0s (right padding)' : '0s then 1s (left padding)'}${n === 0 ? ' (it has no tokens)' : ''}; fix the samples, or set padding.side (CLI --pad-side ${side === 'right' ? 'left' : 'right'})`,
    );
  }
  return n;
}

/** Strides of a sample's axis: how many elements before it (outer) and after it (inner). */
function around(dims: readonly number[], axis: number): { outer: number; inner: number } {
  return { outer: product(dims.slice(0, axis)), inner: product(dims.slice(axis + 1)) };
}

/**
 * One sample of `spec` with `layout.length` tokens on the sequence axis: its first `len` real
 * tokens come from the base sample (at the limit), the rest are pads: padId (or other ids), mask
 * 0, positions 0, other inputs 0. Left padding puts the pads first. Masks and positions need no
 * base sample (null). Written by runs of tokens (set, fill), not element by element: a check
 * makes a few hundred of these once each, in code V8 has not optimized yet.
 */
function tokenSample(spec: InputSpec, base: TypedArray | null, setup: PaddingSetup, len: number, layout: TokenLayout, seed: number, alloc: (dtype: string, length: number) => TypedArray): TypedArray {
  const role = setup.roles[spec.name];
  const total = layout.length;
  const { outer, inner } = around(spec.sampleDims, role.axis);
  const out = alloc(spec.dtype, outer * total * inner);
  const big = spec.dtype === 'int64' || spec.dtype === 'uint64';
  const value = (v: number) => (big ? BigInt(v) : v) as never;
  const start = layout.side === 'right' ? 0 : total - len;
  // Pads fill tokens [padFrom, padFrom + total - len): after the real ones, or before them.
  const padFrom = layout.side === 'right' ? len : 0;
  for (let o = 0; o < outer; o++) {
    const row = o * total * inner;
    const real = row + start * inner;
    if (role.role === 'mask') {
      out.fill(spec.dtype === 'float16' ? (floatToHalf(1) as never) : value(1), real, real + len * inner);
    } else if (role.role === 'positions') {
      for (let t = 0; t < len; t++) out.fill(value(t), real + t * inner, real + (t + 1) * inner);
    } else {
      const from = o * setup.limit * inner;
      out.set((base as TypedArray).subarray(from, from + len * inner) as never, real);
      if (role.role !== 'tokens') continue;
      if (layout.pads === 'pad-id') {
        out.fill(value(setup.padId), row + padFrom * inner, row + (padFrom + total - len) * inner);
        continue;
      }
      for (let t = padFrom; t < padFrom + total - len; t++) out.fill(value(otherId(setup.padId, role.high, seed + t)), row + t * inner, row + (t + 1) * inner);
    }
  }
  return out;
}

/** A token id other than the pad id, below `high`, varied by `k`. */
function otherId(padId: number, high: number, k: number): number {
  if (high < 2) return padId;
  const id = (Math.imul(k + 1, 2654435761) >>> 0) % (high - 1);
  return id >= padId ? id + 1 : id;
}

/** Specs with the sequence axis at `length` tokens. */
function specsAt(specs: readonly InputSpec[], setup: PaddingSetup, length: number): InputSpec[] {
  return specs.map((s) => (setup.roles[s.name] ? { ...s, sampleDims: s.sampleDims.map((d, i) => (i === setup.roles[s.name].axis ? length : d)) } : s));
}

/**
 * The pool every ordinary run uses: each sample padded to the limit with pad tokens, mask 0 on
 * the pads. `index` is the pool's own numbering (after the check mapped the plan's ids).
 */
export function paddedPool(base: SamplePool, setup: PaddingSetup): SamplePool {
  return variantPool(base, setup, { length: setup.limit, side: setup.side, pads: 'pad-id' });
}

function variantPool(base: SamplePool, setup: PaddingSetup, layout: TokenLayout, blockBytes?: number): SamplePool {
  const cache = new SampleCache();
  const alloc = blockAllocator(blockBytes);
  // The spec of a base sample (at the limit), made once per input: a pool is asked per row.
  const baseSpecs = new Map<InputSpec, InputSpec>();
  const baseSpecOf = (spec: InputSpec): InputSpec => {
    let made = baseSpecs.get(spec);
    if (!made) baseSpecs.set(spec, (made = { ...spec, sampleDims: spec.sampleDims.map((d, i) => (i === setup.roles[spec.name].axis ? setup.limit : d)) }));
    return made;
  };
  return {
    count: base.count,
    sample(spec, index) {
      const role = setup.roles[spec.name];
      if (!role) return base.sample(spec, index);
      const hit = cache.get(spec.name, index);
      if (hit) return hit;
      const len = Math.min(setup.lengthOf(index), layout.length);
      const made = role.role === 'mask' || role.role === 'positions' ? null : base.sample(baseSpecOf(spec), index);
      const out = tokenSample(spec, made, setup, len, layout, index * 131, alloc);
      cache.set(spec.name, index, out);
      return out;
    },
  };
}

/** Feeds of a run whose token inputs take another layout (length, side, pad content). */
export function tokenFeeds(specs: readonly InputSpec[], shared: Record<string, ort.Tensor>, base: SamplePool, setup: PaddingSetup, layout: TokenLayout, ids: readonly number[]): Record<string, ort.Tensor> {
  const pool = variantPool(base, setup, layout, 4096); // a run's few probes: a small block
  const feeds: Record<string, ort.Tensor> = {};
  for (const spec of specsAt(specs, setup, layout.length)) feeds[spec.name] = spec.batchAxis === null ? shared[spec.name] : batchTensor(spec, pool, ids);
  return feeds;
}

/**
 * The runs that isolate padding, each probe alone (batch 1) unless said: unpadded (its own
 * length), other ids in its pads, pads on the other side; then the probes together, padded to
 * the longest of them, as a server pads a batch.
 */
export function paddingRuns(setup: PaddingSetup, probes: number, reference: number): PlannedRun[] {
  const runs: PlannedRun[] = [];
  const other: PaddingSide = setup.side === 'right' ? 'left' : 'right';
  for (let p = 0; p < probes; p++) {
    const len = setup.probeLengths[p];
    if (len >= setup.limit) continue;
    const alone = { size: 1, rows: [p], probes: [{ probe: p, position: 0 }] };
    // With a reference batch of 1 the reference run is this baseline already.
    if (reference !== 1) runs.push({ ...alone, purpose: 'padded', tokens: { length: setup.limit, side: setup.side, pads: 'pad-id' } });
    runs.push({ ...alone, purpose: 'unpadded', tokens: { length: len, side: setup.side, pads: 'pad-id' } });
    runs.push({ ...alone, purpose: 'pad-ids', tokens: { length: setup.limit, side: setup.side, pads: 'other-ids' } });
    runs.push({ ...alone, purpose: 'other-side', tokens: { length: setup.limit, side: other, pads: 'pad-id' } });
  }
  if (probes > 1) {
    const longest = Math.max(...setup.probeLengths);
    runs.push({
      purpose: 'served-padded',
      size: probes,
      rows: Array.from({ length: probes }, (_, p) => p),
      probes: Array.from({ length: probes }, (_, p) => ({ probe: p, position: p })),
      tokens: { length: longest, side: setup.side, pads: 'pad-id' },
    });
  }
  return runs;
}

/** Each output's sequence axis, from its declared dims (the symbol the inputs' sequence axis carries). */
export function outputSequenceAxes(outputs: readonly ValueInfo[], setup: PaddingSetup): Record<string, number> {
  const axes: Record<string, number> = {};
  for (const o of outputs) {
    // present.N.key's 'past_sequence_length + sequence_length' holds the new tokens only with an empty cache.
    const at = o.shape.findIndex((d) => spansAxis(d, setup.axis, setup.dims));
    if (at >= 0) axes[o.name] = at;
  }
  return axes;
}

/**
 * Keeps only a probe's real token positions in outputs with a sequence axis: a pad position's
 * output means nothing, and differs in length from run to run.
 */
export function realTokensOnly(row: ProbeRow, run: PlannedRun, layouts: readonly OutputLayout[], setup: PaddingSetup, seqAxes: Record<string, number>, poolIndex: (id: number) => number): ProbeRow {
  const layout = run.tokens ?? { length: setup.limit, side: setup.side, pads: 'pad-id' as const };
  const len = Math.min(setup.lengthOf(poolIndex(row.probe)), layout.length);
  const outputs = { ...row.outputs };
  for (const l of layouts) {
    const axis = seqAxes[l.name];
    if (axis === undefined) continue;
    const dims = l.sampleDims.map((d, i) => (i === axis ? layout.length : d));
    const data = row.outputs[l.name];
    if (product(dims) !== data.length) continue;
    const { outer, inner } = around(dims, axis);
    const start = layout.side === 'right' ? 0 : layout.length - len;
    const kept = allocate(l.dtype, outer * len * inner);
    for (let o = 0; o < outer; o++) {
      const from = (o * layout.length + start) * inner;
      kept.set(data.subarray(from, from + len * inner) as never, o * len * inner);
    }
    outputs[l.name] = kept;
  }
  return { ...row, outputs };
}
