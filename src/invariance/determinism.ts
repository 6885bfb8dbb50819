import ort = require('onnxruntime-node');
import { compareArrays } from '../compare/metrics';
import { ComparisonSummary, type MinimumTolerance } from '../compare/summary';
import { describeTolerance, type ResolvedTolerance } from '../compare/tolerance';
import { BadInputError, formatValue } from '../errors';
import { FUNCTION_OPTION_KEYS, INPUT_OPTION_KEYS, validateOptions, SESSION_OPTION_KEYS, TOLERANCE_OPTION_KEYS } from '../options';
import { Fingerprint, fingerprintFor, functionFingerprint } from '../runtime/fingerprint';
import { isFloatDtype, takeRows, type TypedArray } from '../inputs/arrays';
import { InputOptions, prepareInputs } from '../inputs/prepare';
import { ModelSource, openModel } from '../runtime/handle';
import { SessionSettings } from '../runtime/settings';
import { tool } from '../version';
import { assertSamplesCanShowFailure, samplesDiffer } from '../inputs/degenerate';
import { assertBatchFits, determinismOutputCopies } from '../inputs/memory';
import { assertFunctionOptions, distinctFunctionSamples, assertModelOptions, BatchFunction, sampleChangeNote, FunctionCallOptions, functionHandle, functionInputs, isBatchFunction, isFunctionHandle } from '../runtime/function';
import { guessedIds, ToleranceOptions, resolveTolerances, sampleLabel, selectOutputs } from './check';
import { detectLayouts, feedsFor, runOrExplainFixedBatch, type OutputLayout } from './run';
import { RunLogBook, type Runner } from '../runtime/runner';
import type { ReportEnvelope, ReportTiming } from '../report/envelope';
import { now } from '../runtime/clock';
import { emptyOutputsNote, nothingFinite, nothingFiniteError, outputValueNotes } from '../compare/output-values';

export const DEFAULT_REPEATS = 5;
export const DEFAULT_DETERMINISM_BATCH = 16;

/** Options of checkDeterminism: the repeats, the batch, the inputs, the tolerance and the session settings. */
export interface DeterminismOptions extends InputOptions, ToleranceOptions, SessionSettings, FunctionCallOptions {
  /** How many times to run the same batch (default 5). */
  repeats?: number;
  /** The batch size (default 16, or the number of user samples when fewer). */
  batchSize?: number;
  /** The most memory the batch may need, estimated before it is built; default from the machine. */
  maxBytes?: number;
  /** Called after each run of the batch (and a function's two first calls): the CLI draws a progress bar with it. */
  onProgress?: (done: number, total: number) => void;
}

/** What checkDeterminism returns and `batchproof determinism --json` prints: one batch run again and again. */
export interface DeterminismReport extends ReportEnvelope<'determinism'> {
  model: { path: string };
  fingerprint: Fingerprint;
  /** 'deterministic': every run bitwise equal to the first. */
  verdict: 'deterministic' | 'within-tolerance' | 'nondeterministic';
  causes: 'nondeterminism'[];
  tolerance: Record<string, string>;
  repeats: number;
  batchSize: number;
  /** Runs (1-based, the first is the baseline) that were not bitwise equal to the first. */
  differingRuns: number[];
  maxAbs: number;
  maxUlp: number;
  worst: { output: string; run: number; index: number; expected: number; actual: number; absDiff: number } | null;
  /**
   * A batch function only (null for a model, and at batch size 1, where the first call is run 1):
   * its first call, sample 0 alone, which learns the outputs, against sample 0 alone called again.
   * A first answer unlike the later ones (a warm-up, a cache filled on the first call) is
   * nondeterminism, though every run of the batch after it agrees. Counted in the verdict,
   * `causes`, `maxAbs` and `maxUlp`.
   */
  firstCall: { bitExact: boolean; pass: boolean; maxAbs: number; maxUlp: number; worst: { output: string; index: number; expected: number; actual: number; absDiff: number } | null } | null;
  /**
   * The smallest tolerance of each kind that passes every comparison the verdict rests on (every
   * run against run 1, and `firstCall`), as check's: atol with rtol 0, rtol with atol 0, ulp, and
   * the cosine distance of each sample (of the whole output where no batch axis is known). All 0
   * when every run is bitwise equal; Infinity throughout when none passes (an integer or bool
   * output differs, dims differ, or NaN or Infinity on one side meets another value).
   */
  minimumTolerance: MinimumTolerance;
  /** Per compared output, over the same comparisons: its dtype, difference and minimum tolerance. */
  outputs: { output: string; dtype: string; bitExact: boolean; pass: boolean; maxAbs: number; maxUlp: number; shapeMismatch: boolean; minimumTolerance: MinimumTolerance }[];
  /** What the outputs could not show: NaN or Infinity in some values, one value throughout the batch. */
  notes: string[];
  runs: { batchSize: number; calls: number }[];
  timing: ReportTiming;
}

/** Runs one batch `repeats` times with one session and compares every output to the first run. */
export async function checkDeterminism(model: ModelSource | BatchFunction, options: DeterminismOptions = {}): Promise<DeterminismReport> {
  const started = now();
  validateOptions(options, [...INPUT_OPTION_KEYS, ...TOLERANCE_OPTION_KEYS, ...SESSION_OPTION_KEYS, ...FUNCTION_OPTION_KEYS, 'repeats', 'batchSize', 'maxBytes', 'onProgress'], 'checkDeterminism');
  if (isBatchFunction(model)) assertFunctionOptions(options, 'checkDeterminism');
  else assertModelOptions(options, 'checkDeterminism');
  const repeats = options.repeats ?? DEFAULT_REPEATS;
  if (!(Number.isInteger(repeats) && repeats >= 2)) {
    throw new BadInputError(`repeats must be an integer of at least 2, got ${formatValue(repeats)}; for example repeats: 5 (CLI --repeats 5)`);
  }
  const handle = isBatchFunction(model) ? await functionHandle(model, options.samples, { callTimeoutMs: options.callTimeoutMs }) : await openModel(model, options);
  try {
    const outputs = selectOutputs(handle.outputs, options.outputs, isFunctionHandle(handle) ? 'function' : 'model');
    const tolerances = resolveTolerances(outputs, { tolerance: 'exact', ...options }, isFunctionHandle(handle) ? 'function' : 'model');
    const prepared = isFunctionHandle(handle) ? functionInputs(handle) : await prepareInputs(handle, options);
    const batchSize = options.batchSize ?? Math.min(DEFAULT_DETERMINISM_BATCH, prepared.pool.count ?? Infinity);
    if (!(Number.isInteger(batchSize) && batchSize > 0)) {
      throw new BadInputError(`batchSize must be a positive integer, got ${formatValue(batchSize)}`);
    }
    // A function's outputs count as a model's (their dims learned from its first call), as check
    // counts them; its one input, the sample indices, gives the batch axis its size.
    // The first run's outputs are kept while later runs come and go: several copies at once.
    assertBatchFits({ specs: prepared.specs, outputs, batchSize, maxBytes: options.maxBytes, what: `a batch of ${batchSize} (batchSize, CLI --batch-size)`, outputCopies: determinismOutputCopies(batchSize, repeats, isFunctionHandle(handle)), batchFunction: isFunctionHandle(handle) });
    const ids = Array.from({ length: batchSize }, (_, i) => i % (prepared.pool.count ?? Infinity));
    // The same batch again: repeated samples, or one, can show a run that differs (as for a model);
    // a function's samples are taken as they are (assertFunctionSamplesDiffer is batch invariance's).
    if (!isFunctionHandle(handle)) assertSamplesCanShowFailure(prepared.specs, prepared.pool, ids, 'varied', sampleLabel(prepared.source, options));
    const feeds = feedsFor(prepared.specs, prepared.shared, prepared.pool, ids);
    const names = outputs.map((o) => o.name);
    const log = new RunLogBook();
    let first: Record<string, TypedArray> | null = null;
    const differingRuns: number[] = [];
    let maxAbs = 0, maxUlp = 0, allPass = true;
    let worst: DeterminismReport['worst'] = null;
    const notes: string[] = [];
    // As compare says it: a batch larger than the samples repeats them in it.
    const count = prepared.pool.count;
    if (count !== null && batchSize > count) notes.push(`batch of ${batchSize} from ${count} samples: samples repeat in the batch`);
    let firstNothingFinite = false;
    // A cosine tolerance is per sample, as check's: one batch-wide cosine would let the other
    // samples outweigh the one whose output changed. The batch axis of each output, for that.
    let layouts: Record<string, OutputLayout | null> = {};
    let firstCall: DeterminismReport['firstCall'] = null;
    let firstDims: Record<string, string> = {};
    // Per output, the minimum tolerance that passes each comparison made (check's accounting).
    const perOutput = Object.fromEntries(outputs.map((o) => [o.name, { summary: new ComparisonSummary<null>(), bitExact: true, pass: true, maxAbs: 0, maxUlp: 0, shapeMismatch: false }]));
    const account = (o: { name: string; dtype: string }, c: ReturnType<typeof compareRun>, sameDims: boolean) => {
      const acc = perOutput[o.name];
      const layout = { name: o.name, dtype: o.dtype, batchAxis: -1, sampleDims: [] };
      if (sameDims) acc.summary.bound(layout, c);
      else {
        acc.summary.unpassable();
        acc.shapeMismatch = true;
      }
      acc.bitExact &&= c.bitExact && sameDims;
      acc.pass &&= c.pass && sameDims;
      acc.maxAbs = Math.max(acc.maxAbs, c.maxAbs);
      acc.maxUlp = Math.max(acc.maxUlp, c.maxUlp);
    };
    const total = repeats + (isFunctionHandle(handle) && batchSize > 1 ? 2 : 0);
    for (let run = 1; run <= repeats; run++) {
      // Ids beyond a table the graph hides, a batch fixed at 1: the line that names the cure.
      const result = await guessedIds(prepared, () => runOrExplainFixedBatch(handle, prepared, ids, feeds, names, { rows: batchSize, purpose: 'repeat', log }, ', or check determinism at batch 1 (batchSize: 1, CLI --batch-size 1)'), { handle, dims: options.dims });
      options.onProgress?.(run, total);
      const data = Object.fromEntries(names.map((n) => [n, (result[n] as ort.Tensor).data as TypedArray]));
      if (!first) {
        first = data;
        firstDims = Object.fromEntries(names.map((n) => [n, (result[n] as ort.Tensor).dims.join()]));
        // Every output's batch axis, not only a cosine tolerance's: the minimum cosine is per sample too.
        layouts = Object.fromEntries(outputs.map((o) => [o.name, sampleLayout(handle, o.name, batchSize, result as Record<string, ort.Tensor>, options.shapes)]));
        const whole = outputs.filter((o) => tolerances[o.name].kind === 'cosine' && layouts[o.name] === null).map((o) => `'${o.name}'`);
        if (whole.length) notes.push(`${whole.join(', ')}: no batch axis known, so the cosine tolerance is over the whole batch, not per sample; mark it with shapes (CLI --shape NAME=N,...)`);
        // An output of no values ([N, 0]) is equal every run: refused alone, named beside others.
        const empty = emptyOutputsNote(outputs.map((o) => ({ name: o.name, dims: (result[o.name] as ort.Tensor).dims, batchAxis: layouts[o.name]?.batchAxis ?? null })));
        if (empty) notes.push(empty);
        const values = outputs.map((o) => ({ name: o.name, dtype: o.dtype, parts: [data[o.name]] }));
        firstNothingFinite = nothingFinite(values);
        // Samples that repeat are one sample: one value throughout them is no news.
        const distinct = isFunctionHandle(handle) ? distinctFunctionSamples(handle, ids) : samplesDiffer(prepared.specs, prepared.pool, ids) ? Math.min(batchSize, prepared.pool.count ?? batchSize) : 1;
        notes.push(...outputValueNotes(values, distinct));
        continue;
      }
      let exactRun = true;
      for (const o of outputs) {
        const dims = (result[o.name] as ort.Tensor).dims;
        const c = compareRun(first[o.name], data[o.name], o.dtype, tolerances[o.name], layouts[o.name], dims, batchSize);
        const sameDims = dims.join() === firstDims[o.name];
        account(o, c, sameDims);
        exactRun &&= c.bitExact && sameDims;
        allPass &&= c.pass && sameDims;
        maxUlp = Math.max(maxUlp, c.maxUlp);
        // As check's: an integer or bool output is no worst element (its difference is in
        // `outputs` and the minimum tolerance), so the worst is a float's, where a tolerance helps.
        if (!c.bitExact && isFloatDtype(o.dtype) && (!worst || c.maxAbs > worst.absDiff)) {
          worst = { output: o.name, run, index: c.worstIndex, expected: c.expected, actual: c.actual, absDiff: c.maxAbs };
        }
        maxAbs = Math.max(maxAbs, c.maxAbs);
      }
      if (!exactRun) differingRuns.push(run);
    }
    // A function's first call (sample 0 alone) learnt its outputs and is no run of this batch:
    // sample 0 alone once more (after the runs, so their calls come as they did), against it, so
    // a first answer unlike the later ones is seen.
    if (isFunctionHandle(handle) && batchSize > 1) {
      const alone = feedsFor(prepared.specs, prepared.shared, prepared.pool, [0]);
      const learnt = await handle.run(alone, names, { rows: 1, purpose: 'first call', log });
      options.onProgress?.(repeats + 1, total);
      const again = await handle.run(alone, names, { rows: 1, purpose: 'first call again', log });
      options.onProgress?.(total, total);
      firstCall = { bitExact: true, pass: true, maxAbs: 0, maxUlp: 0, worst: null };
      for (const o of outputs) {
        const c = compareRun((learnt[o.name] as ort.Tensor).data as TypedArray, (again[o.name] as ort.Tensor).data as TypedArray, o.dtype, tolerances[o.name], null, (again[o.name] as ort.Tensor).dims, 1);
        const sameDims = (learnt[o.name] as ort.Tensor).dims.join() === (again[o.name] as ort.Tensor).dims.join();
        account(o, c, sameDims);
        firstCall.bitExact &&= c.bitExact && sameDims;
        firstCall.pass &&= c.pass && sameDims;
        firstCall.maxUlp = Math.max(firstCall.maxUlp, c.maxUlp);
        if (!c.bitExact && isFloatDtype(o.dtype) && (!firstCall.worst || c.maxAbs > firstCall.worst.absDiff)) firstCall.worst = { output: o.name, index: c.worstIndex, expected: c.expected, actual: c.actual, absDiff: c.maxAbs };
        firstCall.maxAbs = Math.max(firstCall.maxAbs, c.maxAbs);
      }
      allPass &&= firstCall.pass;
      maxAbs = Math.max(maxAbs, firstCall.maxAbs);
      maxUlp = Math.max(maxUlp, firstCall.maxUlp);
    }
    // Runs all NaN, all alike, prove nothing; a later run that differs is nondeterminism all the same.
    if (firstNothingFinite && differingRuns.length === 0) throw nothingFiniteError(names);
    const differs = differingRuns.length > 0 || (firstCall !== null && !firstCall.bitExact);
    const verdict = !differs ? 'deterministic' : allPass ? 'within-tolerance' : 'nondeterministic';
    // A sample the function changed in place: refused where runs failed (it may be why), else a note.
    const changed = isFunctionHandle(handle) ? sampleChangeNote(handle, verdict === 'nondeterministic') : null;
    if (changed) notes.push(changed);
    const byOutput = outputs.map((o) => {
      const { summary, ...acc } = perOutput[o.name];
      return { output: o.name, dtype: o.dtype, ...acc, minimumTolerance: { ...summary.minimum } };
    });
    const minimumTolerance: MinimumTolerance = { atol: 0, rtol: 0, ulp: 0, cosine: 0 };
    for (const o of byOutput) for (const k of ['atol', 'rtol', 'ulp', 'cosine'] as const) minimumTolerance[k] = Math.max(minimumTolerance[k], o.minimumTolerance[k]);
    // An output no tolerance passes makes every kind fail (check's Infinity throughout).
    if (byOutput.some((o) => Object.values(o.minimumTolerance).every((v) => v === Infinity))) Object.assign(minimumTolerance, { atol: Infinity, rtol: Infinity, ulp: Infinity, cosine: Infinity });
    return {
      schema: 1,
      kind: 'determinism',
      tool,
      model: { path: handle.source },
      fingerprint: isFunctionHandle(handle) ? functionFingerprint() : fingerprintFor(handle.settings),
      verdict,
      causes: differs ? ['nondeterminism'] : [],
      tolerance: Object.fromEntries(Object.entries(tolerances).map(([k, t]) => [k, describeTolerance(t)])),
      repeats,
      batchSize,
      differingRuns,
      maxAbs,
      maxUlp,
      worst,
      firstCall,
      minimumTolerance,
      outputs: byOutput,
      notes,
      runs: [...(firstCall ? [{ batchSize: 1, calls: 2 }] : []), { batchSize, calls: repeats }],
      timing: { totalMs: Math.round(now() - started), inferenceMs: Math.round(log.inferenceMs) },
    };
  } finally {
    if (handle !== model) await handle.close();
  }
}

/** An output's batch axis from the declared dims (or shapes), null when none is known. */
function sampleLayout(handle: Runner, name: string, batchSize: number, result: Record<string, ort.Tensor>, shapes: InputOptions['shapes']): OutputLayout | null {
  try {
    return detectLayouts(handle, [name], batchSize, result, null, null, shapes)[0];
  } catch (e) {
    if (e instanceof BadInputError) return null;
    throw e;
  }
}

/**
 * One run against the first: the metrics over the whole output (maxAbs, ULP and allclose are
 * element by element), and, with a known batch axis, `cosine` the smallest of the samples' own
 * (what a cosine tolerance must pass): a cosine tolerance passes only when every sample's cosine
 * distance is within it.
 */
function compareRun(expected: TypedArray, actual: TypedArray, dtype: string, tolerance: ResolvedTolerance, layout: OutputLayout | null, dims: readonly number[], batchSize: number) {
  const whole = compareArrays(expected, actual, dtype, tolerance);
  if (layout === null || whole.bitExact || !isFloatDtype(dtype) || expected.length !== actual.length) return whole;
  const per = dims[layout.batchAxis] / batchSize;
  let pass = true;
  let cosine = 1;
  for (let s = 0; s < batchSize; s++) {
    const rows = Array.from({ length: per }, (_, j) => s * per + j);
    const row = (data: TypedArray) => takeRows(data, dims, layout.batchAxis, rows, dtype);
    const c = compareArrays(row(expected), row(actual), dtype, tolerance);
    pass &&= c.pass;
    // NaN (a NaN against a number) stays NaN: no cosine passes it.
    cosine = Number.isNaN(c.cosine) || Number.isNaN(cosine) ? NaN : Math.min(cosine, c.cosine);
  }
  return { ...whole, cosine, pass: tolerance.kind === 'cosine' ? pass : whole.pass };
}
