import { BadInputError } from '../errors';
import type { ValueInfo } from '../runtime/session';

/** The symbol that marks the batch axis in a `shapes` override (CLI `--shape x=N,3,32,32`). */
export const BATCH_MARK = 'N';
/** The size given to symbolic dims other than the batch axis, unless `dims` says otherwise. */
export const DEFAULT_SYMBOLIC_DIM = 16;

/** Shapes and dims for inputs whose shapes are symbolic, and constant values for inputs that are not batched. */
export interface ShapeOptions {
  /** Per-input (or per-output) dims; 'N' marks the batch axis, other strings are symbols. */
  shapes?: Record<string, readonly (number | string)[]>;
  /** Sizes for symbolic dims other than the batch axis, e.g. `{ seq: 16 }`. */
  dims?: Record<string, number>;
  /** Inputs shared by the whole batch (no batch axis), e.g. `{ sr: 16000 }`. */
  consts?: Record<string, unknown>;
}

/** Tensor types batchproof can synthesize, stack and compare. */
const SUPPORTED_DTYPES = ['float32', 'float16', 'float64', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'bool'];

/** How one model input is fed. */
export interface InputSpec {
  name: string;
  dtype: string;
  /** As the model declares it. */
  declared: (number | string)[];
  /** The axis that indexes samples; null for inputs shared by the whole batch. */
  batchAxis: number | null;
  /** Dims of one sample (the batch axis set to 1), or the full dims of a shared input. */
  sampleDims: number[];
}

export interface ResolvedInputs {
  specs: InputSpec[];
  /** Every symbolic dim's size, and which of them took the default. */
  dims: Record<string, number>;
  defaultedDims: string[];
}

function isSymbolic(d: number | string): boolean {
  return typeof d === 'string' || d < 0;
}

/** The terms of a dim named as a sum (`past_sequence_length + sequence_length`, `past_sequence_length + 1`); null for a plain name. */
export function sumTerms(symbol: string): (number | { sign: 1 | -1; symbol: string })[] | null {
  if (!/[+-]/.test(symbol.replace(/^\s*-/, ''))) return null;
  const parts = symbol.split(/\s*([+-])\s*/).map((p) => p.trim());
  if (parts[0] === '') parts.shift();
  else parts.unshift('+');
  const terms: (number | { sign: 1 | -1; symbol: string })[] = [];
  for (let i = 0; i < parts.length; i += 2) {
    const sign = parts[i] === '-' ? -1 : 1;
    const term = parts[i + 1] ?? '';
    if (/^\d+$/.test(term)) terms.push(sign * Number(term));
    else if (/^[A-Za-z_][A-Za-z0-9_.]*$/.test(term)) terms.push({ sign, symbol: term });
    else return null;
  }
  return terms.some((t) => typeof t !== 'number') ? terms : null;
}

function symbolName(input: string, axis: number, d: number | string): string {
  return typeof d === 'string' && d !== '' ? d : `${input}[${axis}]`;
}

/** Dim names exporters give the batch axis: `batch`, `batch_size`, `N`, `B`, `bs`, any name containing `batch` (any case). */
export function isBatchName(symbol: string): boolean {
  const s = symbol.toLowerCase();
  return s === 'n' || s === 'b' || s === 'bs' || s.includes('batch');
}

/** The axes of `shape` whose symbolic names say batch. */
export function batchNamedAxes(shape: readonly (number | string)[]): number[] {
  return shape.flatMap((d, axis) => (typeof d === 'string' && d !== '' && isBatchName(d) ? [axis] : []));
}

/**
 * The batch axis of each input without a --shape or --const: the dim whose name says batch wins
 * over position (a time-major RNN's `x: [time, batch, 24]` is batched on axis 1); otherwise the
 * first symbolic dim. Ambiguity (two batch names, inputs that name different batch dims) is one
 * line with the cure.
 */
function batchAxesByName(inputs: readonly ValueInfo[]): Map<string, number> {
  const hint = (input: ValueInfo, axis: number) =>
    `--shape ${input.name}=${input.shape.map((d, i) => (i === axis ? BATCH_MARK : d === '' || d === BATCH_MARK || (typeof d === 'number' && d < 0) ? String(DEFAULT_SYMBOLIC_DIM) : String(d))).join(',')}`;
  const chosen = new Map<string, { axis: number; symbol: string | null }>();
  for (const input of inputs) {
    const named = batchNamedAxes(input.shape);
    const symbols = [...new Set(named.map((a) => input.shape[a] as string))];
    if (symbols.length > 1) {
      const at = named.map((a) => `'${input.shape[a]}' at axis ${a}`).join(', ');
      throw new BadInputError(
        `input '${input.name}' [${input.shape.join(', ')}] has several dims whose names say batch (${at}), so its batch axis is ambiguous; mark it with ${hint(input, named[0])} (API: shapes)`,
      );
    }
    if (named.length > 0) {
      chosen.set(input.name, { axis: named[0], symbol: symbols[0] });
    } else {
      const axis = input.shape.findIndex(isSymbolic);
      if (axis >= 0) chosen.set(input.name, { axis, symbol: typeof input.shape[axis] === 'string' && input.shape[axis] !== '' ? (input.shape[axis] as string) : null });
    }
  }
  // Every named batch dim must be the same symbol; an input without one that falls back on another
  // named dim (`seq`) disagrees with them too. Unnamed dims cannot be judged and are left as today.
  const byName = [...chosen].filter(([name]) => batchNamedAxes(inputs.find((i) => i.name === name)?.shape ?? []).length > 0);
  const batchSymbols = [...new Set(byName.map(([, c]) => c.symbol))];
  if (batchSymbols.length > 0) {
    const disagree = [...chosen].filter(([, c]) => c.symbol !== null && c.symbol !== batchSymbols[0]);
    if (batchSymbols.length > 1 || disagree.length > 0) {
      const listed = [...chosen]
        .filter(([, c]) => c.symbol !== null)
        .map(([name, c]) => `'${name}' on '${c.symbol}' (axis ${c.axis})`)
        .join(', ');
      const first = inputs.find((i) => i.name === disagree[0][0]) as ValueInfo;
      throw new BadInputError(
        `the inputs disagree on the batch dim: ${listed}; mark each input's batch axis with N in --shape (e.g. ${hint(first, (chosen.get(first.name) as { axis: number }).axis)}), or feed an input without one with --const`,
      );
    }
  }
  return new Map([...chosen].map(([name, c]) => [name, c.axis]));
}

/**
 * Inputs whose batch axis was a guess: taken by position (the first dynamic dim) from several
 * dynamic dims, none named like batch (`[unk__1, unk__2, 4]`, torch's export without
 * dynamic_axes names), with no --shape for it. A time-major input is then batched on its time
 * axis; the report names the guess and how to mark the batch axis (one line: see guessedBatchLine).
 */
export function guessedBatchAxes(specs: readonly InputSpec[], options: ShapeOptions): InputSpec[] {
  return specs.filter(
    (s) => s.batchAxis !== null && !options.shapes?.[s.name] && batchNamedAxes(s.declared).length === 0 && s.declared.filter(isSymbolic).length >= 2,
  );
}

/** One line: which axis was taken as the batch, and the --shape (API: shapes) that marks another. */
export function guessedBatchLine(guessed: readonly InputSpec[]): string | null {
  if (guessed.length === 0) return null;
  const which = guessed.map((s) => `axis ${s.batchAxis} of '${s.name}' [${s.declared.join(', ')}]`).join(', ');
  // A dim's name where --shape takes it as one (it keeps its --dim), else its size.
  const dim = (s: InputSpec, d: number | string, a: number) =>
    typeof d === 'string' && /^[A-Za-z_][\w.]*$/.test(d) ? d : !isSymbolic(d) ? d : a === s.batchAxis ? DEFAULT_SYMBOLIC_DIM : s.sampleDims[a];
  // The example marks the next dynamic dim: a time-major input's batch.
  const other = (s: InputSpec) => {
    const next = s.declared.findIndex((d, a) => a > (s.batchAxis as number) && isSymbolic(d));
    const alt = next >= 0 ? next : s.declared.findIndex((d, a) => a !== s.batchAxis && isSymbolic(d));
    return s.declared.map((d, a) => (a === alt ? BATCH_MARK : dim(s, d, a)));
  };
  const flags = guessed.map((s) => `--shape ${s.name}=${other(s).join(',')}`).join(' ');
  const api = guessed.map((s) => `${/^[A-Za-z_$][\w$]*$/.test(s.name) ? s.name : `'${s.name}'`}: [${other(s).map((d) => (typeof d === 'number' ? d : `'${d}'`)).join(', ')}]`).join(', ');
  return `batch axis guessed: ${which}, the first dynamic dim, as no dim name says batch; if the batch is another axis, mark it with N: ${flags} (API: shapes: { ${api} })`;
}

/** A size given for a dim the model does not have would be ignored without a word: a typo, or the wrong model. */
export function checkDimNames(inputs: readonly ValueInfo[], dims: Record<string, number> | undefined): void {
  const symbols = new Set<string>();
  for (const input of inputs) input.shape.forEach((d, axis) => isSymbolic(d) && symbols.add(symbolName(input.name, axis, d)));
  for (const symbol of Object.keys(dims ?? {})) {
    if (!symbols.has(symbol)) {
      throw new BadInputError(`dims names '${symbol}' (CLI --dim ${symbol}=N), but the model has no symbolic dim '${symbol}'; its symbolic dims are: ${[...symbols].join(', ') || 'none'}`);
    }
  }
}

/**
 * Decides, per input, its batch axis and the concrete dims of one sample.
 * `known` carries dims read from user samples (they fix the symbols they cover).
 */
export function resolveInputs(
  inputs: readonly ValueInfo[],
  options: ShapeOptions,
  known: Record<string, readonly number[]> = {},
): ResolvedInputs {
  const names = inputs.map((i) => i.name);
  // Messages name the API option and the CLI flag beside it: the CLI calls this same code.
  for (const key of Object.keys(options.consts ?? {})) {
    if (!names.includes(key)) {
      throw new BadInputError(`consts names '${key}' (CLI --const ${key}=...), which is not an input of the model; its inputs are: ${names.join(', ')}`);
    }
  }
  for (const [symbol, size] of Object.entries(options.dims ?? {})) {
    if (!(Number.isInteger(size) && size >= 0)) {
      throw new BadInputError(`dims: ${symbol}: ${size} (CLI --dim ${symbol}=${size}): a dim must be a whole number (0 for an empty dim, such as a KV cache's past_sequence_length on the first step); for example dims: { ${symbol}: 16 } (CLI --dim ${symbol}=16)`);
    }
  }

  const dims: Record<string, number> = { ...(options.dims ?? {}) };
  const defaulted = new Set<string>();
  const byName = batchAxesByName(inputs.filter((i) => i.dtype !== 'non-tensor' && !options.shapes?.[i.name] && !(options.consts !== undefined && i.name in options.consts)));
  const specs: InputSpec[] = [];
  for (const input of inputs) {
    if (input.dtype === 'non-tensor') {
      throw new BadInputError(`input '${input.name}' is not a tensor (a sequence or map); batchproof checks tensor inputs only`);
    }
    if (!SUPPORTED_DTYPES.includes(input.dtype)) {
      throw new BadInputError(`input '${input.name}' has dtype ${input.dtype}, which batchproof cannot batch; it feeds numeric and bool tensors (${SUPPORTED_DTYPES.join(', ')})`);
    }
    const isConst = options.consts !== undefined && input.name in options.consts;
    if (isConst && input.shape.some(isSymbolic) && !options.shapes?.[input.name]) {
      throw new BadInputError(
        `consts names '${input.name}' (CLI --const ${input.name}=...), but input '${input.name}' has a batch axis ([${input.shape.join(', ')}]), so each sample needs its own value; give samples instead (CLI --inputs)`,
      );
    }
    const override = options.shapes?.[input.name];
    const layout = override ? checkOverride(input, override) : input.shape;
    let batchAxis: number | null = null;
    if (!isConst) {
      batchAxis = override ? layout.indexOf(BATCH_MARK) : (byName.get(input.name) ?? -1);
      if (batchAxis < 0) batchAxis = null;
    }
    const fromSamples = known[input.name];
    if (fromSamples && layout.length > 0 && fromSamples.length !== layout.length) {
      throw new BadInputError(
        `samples for input '${input.name}' have ${fromSamples.length} dims [${fromSamples.join(', ')}] but the model expects ${layout.length} [${layout.join(', ')}]; reshape them`,
      );
    }
    const sampleDims = layout.map((d, axis) => {
      if (axis === batchAxis) return 1;
      if (fromSamples) {
        const given = fromSamples[axis];
        if (typeof d === 'number' && d >= 0 && given !== d) {
          throw new BadInputError(
            `samples for input '${input.name}' have dim ${given} at axis ${axis} where the model fixes ${d} (expected [${layout.join(', ')}]); reshape them`,
          );
        }
        if (isSymbolic(d)) dims[symbolName(input.name, axis, d)] = given;
        return given;
      }
      if (!isSymbolic(d)) return d as number;
      const symbol = symbolName(input.name, axis, d);
      if (dims[symbol] === undefined) {
        // A dim exported as a sum of others (optimum's attention_mask [batch_size, 'past_sequence_length +
        // sequence_length']) is their sum: sized on its own it would not fit the inputs it spans.
        const terms = typeof d === 'string' ? sumTerms(d) : null;
        if (terms) {
          dims[symbol] = terms.reduce<number>((total, t) => {
            if (typeof t === 'number') return total + t;
            if (dims[t.symbol] === undefined) {
              dims[t.symbol] = DEFAULT_SYMBOLIC_DIM;
              defaulted.add(t.symbol);
            }
            return total + t.sign * dims[t.symbol];
          }, 0);
          if (dims[symbol] < 0) {
            throw new BadInputError(`input '${input.name}' dim '${d}' comes to ${dims[symbol]} from the sizes of its terms; give the terms larger sizes with --dim (API: dims)`);
          }
        } else {
          dims[symbol] = DEFAULT_SYMBOLIC_DIM;
          defaulted.add(symbol);
        }
      }
      return dims[symbol];
    });
    specs.push({ name: input.name, dtype: input.dtype, declared: [...input.shape], batchAxis, sampleDims });
  }

  checkDimNames(inputs, options.dims);
  if (!specs.some((s) => s.batchAxis !== null)) {
    const first = inputs[0];
    throw new BadInputError(
      inputs.length === 0
        ? 'the model has no inputs; there is nothing to batch'
        : first.shape.length === 0
          ? `input '${first.name}' declares no dims (a scalar, or no shape in the graph), so its batch axis is unknown; give its layout with --shape ${first.name}=N,... (API: shapes: { ${first.name}: ['N', ...] }) or re-export it with a dynamic batch dim`
          : `the model has no dynamic batch axis (input '${first.name}' is fixed at [${first.shape.join(', ')}]); re-export it with one, e.g. torch.onnx.export(..., dynamic_axes={'${first.name}': {0: 'batch'}})` +
            ' (onnxruntime refuses other sizes for a fixed dim, so --shape cannot make one)',
    );
  }
  // A dim of 0 (an empty KV cache) on every batched input leaves nothing to feed: every check would pass on nothing.
  const batchedSpecs = specs.filter((s) => s.batchAxis !== null);
  if (batchedSpecs.length > 0 && batchedSpecs.every((s) => s.sampleDims.includes(0))) {
    const zero = [...new Set(batchedSpecs.flatMap((s) => s.declared.flatMap((d, axis) => (s.sampleDims[axis] === 0 && isSymbolic(d) ? [symbolName(s.name, axis, d)] : []))))];
    throw new BadInputError(
      `every batched input is empty (${batchedSpecs.map((s) => `'${s.name}' [${s.sampleDims.map((d, a) => (a === s.batchAxis ? 'N' : d)).join(', ')}]`).join(', ')}${zero.length ? `: ${zero.map((z) => `${z}=0`).join(', ')}` : ''}), so no sample holds a value and nothing could differ; give the dims sizes of 1 or more (--dim)`,
    );
  }
  return { specs, dims, defaultedDims: [...defaulted] };
}

/** An override must agree with the model's rank and fixed dims; exactly one 'N' marks the batch axis. */
function checkOverride(input: ValueInfo, override: readonly (number | string)[]): (number | string)[] {
  const shown = `--shape ${input.name}=${override.join(',')}`;
  const marks = override.filter((d) => d === BATCH_MARK).length;
  if (marks > 1) throw new BadInputError(`${shown}: 'N' marks the batch axis and may appear once`);
  for (const d of override) {
    if (typeof d === 'number' && !(Number.isInteger(d) && d > 0)) {
      throw new BadInputError(`${shown}: dims must be positive integers or names; got ${d}`);
    }
  }
  if (input.shape.length > 0 && override.length !== input.shape.length) {
    throw new BadInputError(
      `${shown} has ${override.length} dims but the model declares ${input.shape.length} [${input.shape.join(', ')}]; give one entry per dim`,
    );
  }
  override.forEach((d, axis) => {
    const declared = input.shape[axis];
    if (typeof declared === 'number' && declared >= 0 && d !== declared) {
      throw new BadInputError(
        `${shown} contradicts the model: axis ${axis} is fixed at ${declared}${d === BATCH_MARK ? ', so it cannot be the batch axis; re-export the model with a dynamic batch dim' : ''}`,
      );
    }
  });
  return [...override];
}
