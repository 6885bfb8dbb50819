import type * as ort from 'onnxruntime-node';
import { compareArrays } from '../compare/metrics';
import { resolveTolerance } from '../compare/tolerance';
import type { SamplePool } from '../inputs/samples';
import type { InputSpec } from '../inputs/spec';
import type { RunLogBook, Runner } from '../runtime/runner';
import { countNonFinite } from '../inputs/arrays';
import { BatchClass, classRun } from './classes';
import { outputKeyer } from './row-identity';
import { Filler, FILLER_ZEROS, PlannedRun, probePositions } from './plan';
import type { Cause, Verdict } from './report';
import { feedsFor, mapIds, OutputLayout, ProbeRow, probeRows } from './run';

/**
 * The forum's question, answered for this model and machine: pad batches smaller than `padTo`
 * up to it and every served size gives bitwise the same output. `padTo: null` with a reason
 * when no padding is needed or none can work. Narrowed by `padTo`: a number has the filler,
 * the sizes it covers and whether padded batches were verified.
 */
export type Recipe = RowPaddingRecipe | NoRowPaddingRecipe;

/** Batches smaller than `padTo` padded up to it with filler rows. */
export interface RowPaddingRecipe {
  padTo: number;
  /** What the padded rows hold: zeros, copies of the last sample, or ('sample') a batch function's filler sample. */
  filler: Filler | 'sample';
  /** The served sizes the recipe makes bitwise equal. */
  covers: number[];
  /** Padded batches were run with other filler content and the probes stayed bitwise equal. */
  verified: boolean;
  /** With sequence padding as well: see NoRowPaddingRecipe.padLength. */
  padLength?: number;
}

/** No row padding: none needed (`reason: 'not needed'`), or sequence padding alone (`padLength`). */
export interface NoRowPaddingRecipe {
  padTo: null;
  reason?: string;
  /**
   * Sequence padding (tokens, not rows): pad every text to this many tokens and the served sizes
   * are bitwise equal, where a text alone unpadded is not (verified by the sweep, which ran at
   * this length, and by other pad ids changing nothing).
   */
  padLength?: number;
  verified?: boolean;
  filler?: undefined;
  covers?: undefined;
}

/** How the served sizes compare before any padding. */
export interface ServedAnswer {
  sizes: number[];
  equal: boolean;
  maxAbs: number;
}

/** Compares each probe's outputs across the served sizes, from rows the check already ran. */
export function compareServed(rows: readonly ProbeRow[], layouts: readonly OutputLayout[], served: readonly number[]): ServedAnswer {
  let maxAbs = 0;
  let equal = true;
  const usable = rows.filter((r) => served.includes(r.size) && classRun(r.purpose));
  for (const row of usable) {
    const first = usable.find((r) => r.probe === row.probe);
    if (!first || first === row) continue;
    for (const l of layouts) {
      const c = compareArrays(first.outputs[l.name], row.outputs[l.name], l.dtype, resolveTolerance('exact', l.dtype));
      equal &&= c.bitExact;
      maxAbs = Math.max(maxAbs, c.maxAbs);
    }
  }
  return { sizes: [...served], equal, maxAbs };
}

const classOf = (classes: readonly BatchClass[], size: number): BatchClass[] =>
  classes.filter((c) => c.members.some(([s]) => s === size));

/** Picks the smallest tested pad size P that puts every served size into one class. */
export function findPadSize(
  classes: readonly BatchClass[],
  served: readonly number[],
  causes: readonly Cause[],
): { padTo: number; target: BatchClass } | { reason: string; padTo: null } {
  if (causes.includes('nondeterminism')) return { padTo: null, reason: 'nondeterminism: the same batch differs run to run, so no padding makes outputs repeatable' };
  if (causes.includes('leakage')) return { padTo: null, reason: 'leakage: samples affect each other, so the filler would change the output' };
  const largest = Math.max(...served);
  const home = classOf(classes, largest);
  // Without the cause 'position' the rows differ within the tolerance only, with their place or
  // their batch-mates (a function padding each batch to its longest text): not called position.
  const byRow = (size: number, tail: string): string => causes.includes('position')
    ? `position: at batch ${size} the output depends on the row${tail}`
    : `rows: at batch ${size} the output differs bitwise from row to row${tail}, within the tolerance (with the row's place or its batch-mates, as when each batch is padded to its longest text)`;
  if (home.length !== 1) return { padTo: null, reason: `${byRow(largest, '')}, so no padding makes every row equal` };
  const target = home[0];
  for (const s of served) {
    const spread = classOf(classes, s);
    if (spread.length > 1 && s >= Math.min(...target.sizes)) {
      return { padTo: null, reason: byRow(s, ' within the class') };
    }
  }
  if (served.every((s) => classOf(classes, s)[0] === target)) return { padTo: null, reason: 'not needed' };
  // Candidates: tested sizes whose every probed position sits in the target class, above which
  // every served size is already in it.
  const candidates = [...new Set(target.members.map(([s]) => s))].sort((a, b) => a - b);
  for (const p of candidates) {
    if (classOf(classes, p).length !== 1 || target.positions !== 'all') continue;
    if (served.filter((s) => s >= p).every((s) => classOf(classes, s)[0] === target)) return { padTo: p, target };
  }
  return { padTo: null, reason: 'no tested batch size holds every served size in one class; add sizes to the sweep' };
}

export interface VerifyContext {
  handle: Runner;
  /** The check's run log: recipe runs are counted in it. */
  log: RunLogBook;
  specs: readonly InputSpec[];
  shared: Record<string, ort.Tensor>;
  pool: SamplePool;
  layouts: readonly OutputLayout[];
  index: (id: number) => number;
  probes: number;
  pool1Base: number;
  pool2Base: number;
  /** What filler rows are: zeros for a model, the user's filler sample for a batch function. */
  filler: 'zeros' | 'sample';
  /** The check's own trim (sequence padding keeps real token positions only): recipe rows are compared as the check's rows were kept. */
  trimRow?: (row: ProbeRow, run: PlannedRun, layouts: readonly OutputLayout[]) => ProbeRow;
}

/**
 * Runs each served size below `padTo` padded up to it with three fillers (zeros, copies of the
 * last sample, other samples) and checks every probe is bitwise equal across fillers and to its
 * output in the target class. Its runs are counted in the check's run log. Returns null when
 * verified, else why not (the first failure found).
 */
export async function verifyPadding(
  ctx: VerifyContext,
  padTo: number,
  served: readonly number[],
  target: BatchClass,
  referenceRows: readonly ProbeRow[],
): Promise<string | null> {
  // Each probe's outputs in the target class: bitwise the same in every member (that is what
  // makes it a class), so one row a probe is keyed, not every row of the check (about 2 ms).
  const targetKeys = new Map<number, string>();
  const keyOf = outputKeyer(ctx.layouts);
  const members = new Set(target.members.map(([s, p]) => `${s}:${p}`));
  for (const row of referenceRows) {
    if (!targetKeys.has(row.probe) && classRun(row.purpose) && members.has(`${row.size}:${row.position}`)) targetKeys.set(row.probe, keyOf(row));
  }
  let failure: string | null = null;
  const fail = (why: string): void => {
    failure ??= why;
  };
  for (const size of served.filter((s) => s < padTo)) {
    const placed: { probe: number; position: number }[] = [];
    probePositions(size, Math.min(ctx.probes, size)).forEach((position, probe) => {
      if (!placed.some((p) => p.position === position)) placed.push({ probe, position });
    });
    const real = Array.from({ length: size }, (_, r) => placed.find((p) => p.position === r)?.probe ?? ctx.pool1Base + r);
    const fillers: number[][] = [
      Array(padTo - size).fill(FILLER_ZEROS),
      Array(padTo - size).fill(real[size - 1]),
      Array.from({ length: padTo - size }, (_, k) => ctx.pool2Base + size + k),
    ];
    const seen = new Map<number, string>();
    for (const filler of fillers) {
      if (failure !== null) break; // one failure refutes the recipe: no more runs
      const run: PlannedRun = { purpose: 'recipe', size, rows: [...real, ...filler], probes: placed };
      const result = await ctx.handle.run(feedsFor(ctx.specs, ctx.shared, ctx.pool, mapIds(run.rows, ctx.index)), ctx.layouts.map((l) => l.name), { rows: run.rows.length, purpose: run.purpose, log: ctx.log });
      for (const kept of probeRows(run, result, ctx.layouts)) {
        const row = ctx.trimRow ? ctx.trimRow(kept, run, ctx.layouts) : kept;
        // NaN is bitwise equal to NaN: a recipe is verified on finite outputs only.
        if (ctx.layouts.some((l) => countNonFinite(row.outputs[l.name], l.dtype) > 0)) fail(`batch ${size} padded to ${padTo} gave NaN or Inf`);
        const key = keyOf(row);
        // Within a run, a filler that matters is named before a mismatch with the target (the
        // first run, zeros, has no earlier filler to differ from: it can only miss the target).
        const before = seen.get(row.probe);
        if (before !== undefined && before !== key) fail(`batch ${size} padded to ${padTo} changes with what the filler rows hold`);
        const target = targetKeys.get(row.probe);
        if (target !== undefined && target !== key) fail(`batch ${size} padded to ${padTo} still differs from batch ${Math.max(...served)} (bitwise)`);
        seen.set(row.probe, key);
      }
    }
  }
  return failure;
}

/** What the check already knows when it looks for a recipe. */
export interface RecipeInputs {
  verdict: Verdict;
  causes: readonly Cause[];
  classes: readonly BatchClass[];
  served: readonly number[];
  servedAnswer: ServedAnswer;
  rows: readonly ProbeRow[];
  /** No compared output holds NaN or Infinity (NaN equals NaN bitwise: no recipe is verified on it). */
  finite: boolean;
}

/**
 * The recipe for the served sizes: the user's own (`padTo` given: the check itself ran every
 * batch padded, so it verified it), none needed, or the smallest pad size found in the classes
 * and verified with three fillers. `recipe: null` comes with the reason no padding can work.
 */
export async function recipeFor(
  ctx: VerifyContext,
  facts: RecipeInputs,
  options: { padTo?: number; filler?: Filler },
): Promise<{ recipe: Recipe | null; recipeReason: string | null }> {
  const covers = [...facts.served];
  if (options.padTo !== undefined) {
    const holds = facts.finite && facts.servedAnswer.equal && !facts.causes.includes('leakage') && !facts.causes.includes('nondeterminism');
    return { recipe: { padTo: options.padTo, filler: ctx.filler === 'sample' ? 'sample' : options.filler ?? 'zeros', covers, verified: holds }, recipeReason: null };
  }
  if (facts.verdict === 'invariant' || facts.servedAnswer.equal) return { recipe: { padTo: null, reason: 'not needed' }, recipeReason: null };
  const found = findPadSize(facts.classes, facts.served, facts.causes);
  if (found.padTo === null) {
    return found.reason === 'not needed'
      ? { recipe: { padTo: null, reason: 'not needed' }, recipeReason: null }
      : { recipe: null, recipeReason: found.reason };
  }
  const failure = await verifyPadding(ctx, found.padTo, facts.served, found.target, facts.rows);
  return failure === null
    ? { recipe: { padTo: found.padTo, filler: ctx.filler, covers, verified: true }, recipeReason: null }
    : { recipe: null, recipeReason: `padding to ${found.padTo} was tried: ${failure}` };
}
