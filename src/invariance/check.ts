import { resolveTolerance, describeTolerance, Tolerance, ResolvedTolerance } from '../compare/tolerance';
import { approx, sizeList } from '../report/format';
import { BadInputError, formatValue } from '../errors';
import { FUNCTION_OPTION_KEYS, INPUT_OPTION_KEYS, PLAN_OPTION_KEYS, validateOptions, SESSION_OPTION_KEYS, TOLERANCE_OPTION_KEYS } from '../options';
import { fingerprintFor, functionFingerprint } from '../runtime/fingerprint';
import { InputOptions, PreparedInputs, prepareInputs, userSampleIndex } from '../inputs/prepare';
import { BATCH_MARK, guessedBatchAxes, guessedBatchLine, InputSpec } from '../inputs/spec';
import { assertBatchFits, checkOutputCopies, DeclaredOutput, planFootprint } from '../inputs/memory';
import { assertSamplesCanShowFailure, samplesDiffer } from '../inputs/degenerate';
import { graphOf, ModelHandle, modelBytesOf, ModelSource, openModel, readHandleGraph } from '../runtime/handle';
import { RunFailure, runFailure } from '../runtime/runner';
import { positionTables } from '../onnx/tables';
import { SessionSettings } from '../runtime/settings';
import type { Diagnosis } from '../diagnosis';
import { tool } from '../version';
import { analyse } from './analyse';
import { describeClasses, sameAnswerForEveryProbe, stableClasses } from './classes';
import { Filler, makePlan, Plan, PlannedRun, PlanOptions } from './plan';
import { compareServed, findPadSize, recipeFor, Recipe, ServedAnswer } from './recipe';
import type { Cause, InvarianceReport, BatchReport } from './report';
import { ExecuteOptions, executePlan, OutputLayout, ProbeRow } from './run';
import { checkPaddingOption, outputSequenceAxes, paddedPool, PaddingComparison, PaddingOption, PaddingSide, PaddingReport, paddingRuns, realTokensOnly, resolvePadding, spansAxis, tokenFeeds, untested } from './padding';
import { OUTLIER_SCALE, outlierFeeds, outlierRun } from './outlier';
import { assertFunctionOptions, assertFunctionSamplesDiffer, assertModelOptions, BatchFunction, distinctFunctionSamples, FunctionCallOptions, functionFiller, functionHandle, functionInputs, isBatchFunction, isFunctionHandle, SAMPLE_VALUES, sampleChangeNote } from '../runtime/function';
import { DEFAULT_VOCAB, inputRole } from '../inputs/samples';
import type { TableRef } from '../onnx/tables';
import { everyNonFinite } from '../inputs/arrays';
import { emptyOutputsNote, nonFiniteNote, nothingFiniteError } from '../compare/output-values';
import { now } from '../runtime/clock';

/** How close two outputs must be to count as the same answer, for every output or per output. */
export interface ToleranceOptions {
  /** Tolerance for every output (default 'default': dtype-aware allclose). */
  tolerance?: Tolerance;
  /** Per-output overrides, by output name. */
  outputTolerances?: Record<string, Tolerance>;
  /** Output names to compare (default all). */
  outputs?: string[];
}

/** Every option checkBatchInvariance takes: the plan, the inputs, the tolerance and the session settings. */
export interface CheckOptions extends Omit<PlanOptions, 'filler'>, InputOptions, ToleranceOptions, SessionSettings, FunctionCallOptions {
  /**
   * What padded rows hold (padTo, and the rows a recipe is verified with). For a model: 'zeros'
   * (default) or 'last' (copies of the last sample). For a batch function: the sample your system
   * pads a batch with (e.g. `filler: ''` for a text pipeline); without one, functions get no recipe.
   */
  filler?: Filler | unknown;
  /**
   * Sequence padding (pad tokens, not filler rows): 'auto' (default) tests it when a token input
   * shares a sequence axis with a mask; false turns it off; or { axis, mask, padId, side, lengths }.
   */
  padding?: PaddingOption;
  /** Trims the sweep (largest sizes first) to fit; the report lists what it skipped. */
  budget?: { seconds: number };
  /** Called after each session.run (the CLI draws a progress bar with it). */
  onProgress?: (done: number, total: number) => void;
}

/** Resolves the tolerance of every compared output, checking names and values. */
export function resolveTolerances(outputs: { name: string; dtype: string }[], options: ToleranceOptions, of: 'model' | 'function' = 'model'): Record<string, ResolvedTolerance> {
  for (const name of Object.keys(options.outputTolerances ?? {})) {
    if (!outputs.some((o) => o.name === name)) {
      const has = of === 'model' ? 'which the model does not have; its outputs are' : 'which the function does not return; it returns';
      throw new BadInputError(`outputTolerances (CLI --output-tolerance) names output '${name}', ${has}: ${outputs.map((o) => o.name).join(', ')}`);
    }
  }
  return Object.fromEntries(outputs.map((o) => [o.name, resolveTolerance(options.outputTolerances?.[o.name] ?? options.tolerance, o.dtype)]));
}

/** Output names to compare, checked against the model. */
export function selectOutputs<T extends { name: string; dtype: string }>(all: T[], wanted: string[] | undefined, of: 'model' | 'function' = 'model'): T[] {
  if (!wanted) return all;
  return wanted.map((name) => {
    const found = all.find((o) => o.name === name);
    if (!found) {
      const has = of === 'model' ? `which the model does not have; its outputs are` : `which the function does not return; it returns`;
      throw new BadInputError(`outputs (CLI --outputs) names '${name}', ${has}: ${all.map((o) => o.name).join(', ')}`);
    }
    return found;
  });
}

/** Every option checkBatchInvariance takes; anything else is a misspelling, not silently ignored. */
export const CHECK_OPTION_KEYS = [...PLAN_OPTION_KEYS, ...INPUT_OPTION_KEYS, ...TOLERANCE_OPTION_KEYS, ...SESSION_OPTION_KEYS, ...FUNCTION_OPTION_KEYS, 'budget', 'onProgress'];

/**
 * Does the model give each sample the same output whatever the batch around it: its size, the
 * sample's position, its batch-mates, the pad tokens it gets, the run?
 *
 * `model` is a path to an .onnx file, its bytes, an InferenceSession, a fixture's handle, or your
 * own batch function (`fn(samples[]) => outputs`, with `samples` in the options). The model is
 * opened once and its session reused; every run is listed in the report's `runs`. Returns the
 * report (`verdict`, `causes`, `padding`, `diagnosis`, ...), the same object `batchproof check
 * --json` prints. Throws a BadInputError (one line, with the fix) for bad input, and for samples
 * or plans that could not show a failure.
 *
 *   const report = await checkBatchInvariance('model.onnx', { tolerance: 'exact', servedSizes: [1, 512] });
 */
export async function checkBatchInvariance(model: ModelSource | BatchFunction, options: CheckOptions = {}): Promise<InvarianceReport> {
  const started = now();
  const fn = isBatchFunction(model);
  // A function's filler is one of its own samples (any value); a model's is 'zeros' or 'last'.
  validateOptions(fn ? { ...options, filler: undefined } : options, CHECK_OPTION_KEYS, 'checkBatchInvariance');
  if (fn) assertFunctionOptions(options, 'checkBatchInvariance');
  else assertModelOptions(options, 'checkBatchInvariance');
  if (!fn && options.filler !== undefined && options.padTo === undefined) {
    throw new BadInputError(`filler '${options.filler}' applies to padding: give padTo as well (CLI: --pad-to N --filler ${options.filler})`);
  }
  if (options.budget !== undefined && !(typeof options.budget?.seconds === 'number' && options.budget.seconds > 0)) {
    throw new BadInputError(`budget must be { seconds: N } with N > 0, got ${formatValue(options.budget)}; for example budget: { seconds: 30 } (CLI --budget 30s)`);
  }
  // Before the function's first call, which may load a model.
  if (fn && options.padTo !== undefined && options.filler === undefined) {
    throw new BadInputError("padTo (CLI --pad-to) adds filler rows: for a batch function, give filler (CLI --filler) as well, the sample your system pads a batch with, e.g. filler: '' (CLI --filler ''), or leave padTo out");
  }
  const handle = fn ? await functionHandle(model, options.samples, { filler: options.filler, callTimeoutMs: options.callTimeoutMs, distinct: true }) : await openModel(model, options);
  try {
    const outputs = selectOutputs(handle.outputs, options.outputs, fn ? 'function' : 'model');
    const tolerances = resolveTolerances(outputs, options, fn ? 'function' : 'model');
    for (const name of Object.keys(options.shapes ?? {})) {
      if (!handle.inputs.some((i) => i.name === name) && !handle.outputs.some((o) => o.name === name)) {
        throw new BadInputError(`shapes names '${name}' (CLI --shape ${name}=...), which is neither an input nor an output of the model; its inputs are: ${handle.inputs.map((i) => i.name).join(', ')}`);
      }
    }
    const { prepared, count, probes, plan, poolIndex, padding, hooks } = await prepareCheck(handle, outputs, options);
    const notes: string[] = [];
    // Which axis is the batch was guessed from generic dims (a time-major input's time axis would be taken): say which, and how to mark another.
    const guessed = guessedBatchLine(guessedBatchAxes(prepared.specs, options));
    if (guessed) notes.push(guessed);
    // Another mask on another axis (encoder_attention_mask) is synthesized all 1s: its padding goes untested.
    if (padding.tested && prepared.source !== 'user') {
      const others = prepared.specs.filter((s) => s.batchAxis !== null && s.name !== padding.mask && prepared.synthesis[s.name]?.kind === 'mask' && !(prepared.synthesis[s.name] as { pads?: true }).pads && !s.declared.some((d) => spansAxis(d, padding.axis as string, prepared.dims)));
      if (others.length > 0) {
        notes.push(`sequence padding: ${others.map((s) => `'${s.name}' [${s.declared.join(', ')}]`).join(', ')} held all 1s (no pads): only '${padding.axis}' ('${padding.mask}') was padded, so a model that ignores ${others.length > 1 ? 'those masks' : 'that mask'} was not tested; give samples with your own pads in ${others.length > 1 ? 'them' : 'it'} (--inputs)`);
      }
    }
    if (count !== null && count < Math.max(...plan.sizes)) {
      notes.push(`${count} samples for batches of up to ${Math.max(...plan.sizes)}: larger batches repeat samples`);
    }
    if (count !== null && count - probes < 2 && count > 1) {
      notes.push(`only ${count} samples for ${probes} probes: batch-mates repeat the probes, so leakage is tested weakly; give at least ${probes + 2} samples`);
    }
    const execution = await guessedIds(prepared, () => executePlan(handle, prepared.specs, prepared.shared, prepared.pool, plan, {
      outputs: outputs.map((o) => o.name),
      shapes: options.shapes,
      budgetMs: options.budget ? options.budget.seconds * 1000 : undefined,
      // The sizes the user asked about are answered whatever the budget, and at least one real
      // batch is always run: a budget must never turn an untested model into 'invariant'.
      keepSizes: [plan.reference, ...(options.servedSizes ?? []), ...plan.sizes.filter((s) => s > plan.reference).slice(0, 1)],
      sampleIndex: count !== null ? poolIndex : undefined,
      maxBytes: options.maxBytes,
      onProgress: options.onProgress,
      ...hooks,
    }), { handle, dims: options.dims });
    if (execution.skipped.length > 0) {
      notes.push(`the budget of ${options.budget?.seconds}s skipped batch sizes ${sizeList(execution.skipped)}`);
    }
    const layouts = comparedLayouts(execution.rows, execution.layouts, notes);
    const analysis = analyse(execution.rows, layouts, tolerances);
    // A sample the function changed in place: refused where outputs failed (it may be why), else a note.
    const changed = fn ? sampleChangeNote(handle, analysis.verdict === 'violated') : null;
    if (changed) notes.push(changed);
    const { paddingComparisons, paddingNotCompared, unseenFailures, ...analysisFields } = analysis;
    const outlierMaxAbs = analysis.outlier?.maxAbs ?? null;
    const untrimmed = [...new Set([...paddingComparisons, ...paddingNotCompared].flatMap((c) => ('skipped' in c ? c.skipped : c.outputs)))];
    if (untrimmed.length > 0) {
      const none = paddingNotCompared.map((c) => c.run);
      notes.push(`sequence padding: ${untrimmed.map((o) => `'${o}'`).join(', ')} left out of the padding runs, their sequence axis unknown (their dims do not name '${padding.axis}')${none.length ? `, so nothing was compared in the ${none.join(', ')} runs` : ''}; name the axis in the export (dynamic_axes) or compare other outputs`);
    }
    // Where the same batch differs run to run, the outlier run differs for that reason alone: no claim about magnitudes.
    if (outlierMaxAbs !== null && outlierMaxAbs > 0 && !analysis.batches.some((b) => b.causes.includes('leakage')) && !analysis.causes.includes('nondeterminism')) {
      notes.push(`batch-mates ${OUTLIER_SCALE} times larger moved the first probe by ${approx(outlierMaxAbs)} (ordinary batch-mates did not): the output depends on the batch-mates' magnitude, as with dynamic quantization's one scale per tensor`);
    } else if (outlierMaxAbs !== null && outlierMaxAbs > Math.max(0, ...analysis.batches.map((b) => b.maxAbs))) {
      // Not a row of the table: say why the worst element and the minimum tolerance exceed it.
      notes.push(`batch-mates ${OUTLIER_SCALE} times larger (the outlier run) moved the first probe by ${approx(outlierMaxAbs)}, more than any batch of the table: the worst element and the minimum tolerance include that run`);
    }
    const sidePad = paddingComparisons.find((c) => c.run === 'other-side');
    if (sidePad && !sidePad.bitExact && sidePad.pass) {
      // Within the tolerance, the move can be float drift from the pads' other place: no claim about positions.
      notes.push(`padded on the ${padding.side === 'right' ? 'left' : 'right'} instead, outputs move by ${approx(sidePad.maxAbs)}, within the tolerance: float drift from where the pads sit (or a small effect of it), so the padding side does not matter here`);
    } else if (sidePad && !sidePad.bitExact && wrongSide(paddingComparisons)) {
      // The side the check padded on is the one that moves it: the model expects the other.
      const other = padding.side === 'right' ? 'left' : 'right';
      notes.push(`padded on the ${other} instead, a text matches itself alone and unpadded (padded on the ${padding.side} it moves by ${approx(sidePad.maxAbs)}): this is a ${other}-padding model (its positions do not follow the mask); serve it ${other}-padded`);
    } else if (sidePad && !sidePad.bitExact) {
      notes.push(`padded on the ${padding.side === 'right' ? 'left' : 'right'} instead, outputs move by ${approx(sidePad.maxAbs)}: this is a ${padding.side}-padding model (its positions do not follow the mask); serve it ${padding.side}-padded`);
    }
    if (analysis.nonFinite.length > 0) {
      const held = analysis.nonFinite.map((n) => `'${n.output}' (${n.count} value${n.count === 1 ? '' : 's'} over the runs)`).join(', ');
      notes.push(nonFiniteNote(held));
    }
    if (sameAnswerForEveryProbe(execution.rows, layouts, plan.reference)) {
      // Probes that are copies of one sample (a samples file that starts with a repeated line) get one answer by right.
      const probeIds = Array.from({ length: plan.probes }, (_, i) => poolIndex(i));
      const differ = fn ? distinctFunctionSamples(handle, probeIds) > 1 : samplesDiffer(prepared.specs, prepared.pool, probeIds);
      notes.push(
        differ
          ? `the ${plan.probes} probes, though their samples differ, get the same outputs: the output does not depend on the sample here, so a row given another sample's answer (rows swapped or mixed in the batch) cannot show; check with samples that change the output`
          : `the ${plan.probes} probes are one sample given ${plan.probes} times (samples ${probeIds.join(', ')} are equal): sizes and positions were tested on that one sample, and a row given another probe's answer cannot show; put ${plan.probes} different samples first`,
      );
    }
    if (analysis.causes.includes('nondeterminism')) {
      notes.push('the same batch gave different outputs run to run, so leakage, position and batch-size effects cannot be told apart; make the model deterministic first (e.g. deterministic: true, or remove random ops)');
    }
    const tested = plan.sizes.filter((s) => !execution.skipped.includes(s));
    // Where samples leak or runs differ, outputs are not a function of (size, position): no classes.
    const unstable = analysis.causes.find((c) => c === 'leakage' || c === 'nondeterminism');
    const classes = unstable ? [] : stableClasses(execution.rows, layouts);
    // The reference batch is always run, whether or not the sweep lists its size.
    const served = [...new Set(options.servedSizes ?? [plan.reference, Math.max(...tested)])].filter((s) => s === plan.reference || tested.includes(s)).sort((a, b) => a - b);
    const servedAnswer = compareServed(execution.rows, layouts, served);
    const index = poolIndex;
    const fnFiller = fn ? functionFiller(handle) : null;
    // A function without a filler gets no recipe, unless none is needed (recipeFor says so first);
    // it is told to give one only where padding could help: leakage or noise is its own reason.
    const needsFiller = fnFiller && !fnFiller.given && !(analysis.verdict === 'invariant' || servedAnswer.equal) && findPadSize(classes, served, analysis.causes).padTo !== null;
    const { recipe: rowRecipe, recipeReason } = needsFiller ? { recipe: null, recipeReason: "a batch function: a padding recipe pads batches with filler rows; give filler (CLI --filler), the sample your system pads a batch with, e.g. filler: '' (CLI --filler '')" } : await recipeFor(
      { handle, log: execution.log, filler: fnFiller ? 'sample' : 'zeros', specs: prepared.specs, shared: prepared.shared, pool: prepared.pool, layouts, index, probes, pool1Base: probes, pool2Base: plan.pool2Base, trimRow: hooks.trimRow },
      { verdict: analysis.verdict, causes: analysis.causes, classes, served, servedAnswer, rows: execution.rows, finite: analysis.nonFinite.length === 0 },
      { padTo: options.padTo, filler: fn ? undefined : (options.filler as Filler | undefined) },
    );
    const recipe = withPadLength(rowRecipe, padding, paddingComparisons, servedAnswer, analysis.causes);
    const diagnosis = await diagnosisFor(handle, { causes: analysis.causes, verdict: analysis.verdict, padding, paddingComparisons, outputs: layouts.map((l) => l.name) }, prepared, hooks, options);
    // A function's graph is out of sight, so no diagnosis names the culprit: say where to look.
    if (fn && analysis.causes.includes('leakage')) notes.push(FUNCTION_LEAKAGE_NOTE);
    const settings = handle.settings;
    const layoutOf = (name: string) => layouts.find((l) => l.name === name);
    return {
      schema: 1,
      kind: 'batch-invariance',
      tool,
      model: {
        path: handle.source,
        inputs: prepared.specs.map((s) => ({ name: s.name, dtype: s.dtype, shape: s.declared, batchAxis: s.batchAxis, synthesis: prepared.synthesis[s.name] })),
        outputs: handle.outputs
          .filter((o) => outputs.some((x) => x.name === o.name))
          .map((o) => ({ name: o.name, dtype: o.dtype, shape: o.shape, batchAxis: layoutOf(o.name)?.batchAxis ?? null })),
        dims: prepared.dims,
        defaultedDims: prepared.defaultedDims,
      },
      samples: { source: prepared.source, seed: prepared.seed, count },
      plan: {
        reference: plan.reference,
        probes: plan.probes,
        sizes: plan.sizes.filter((s) => !execution.skipped.includes(s)),
        skipped: execution.skipped,
        budgetSeconds: options.budget?.seconds ?? null,
      },
      fingerprint: fn ? functionFingerprint() : fingerprintFor(settings),
      tolerance: Object.fromEntries(Object.entries(tolerances).map(([k, t]) => [k, describeTolerance(t)])),
      ...analysisFields,
      padding: { ...padding, comparisons: paddingComparisons },
      diagnosis,
      summary: summarize(analysis, plan.reference, paddingComparisons, padding.side),
      answer: answerLine(servedAnswer, recipe, recipeReason),
      classes: classes.map(({ sizes, positions }) => ({ sizes, positions })),
      classesText: unstable ? `none (${unstable}: outputs are not a function of batch size and position)` : describeClasses(classes, tested, formatSizes),
      served: servedAnswer,
      recipe,
      recipeReason,
      notes,
      runs: execution.log.entries(),
      timing: { totalMs: Math.round(now() - started), inferenceMs: Math.round(execution.log.inferenceMs) },
    };
  } finally {
    if (handle !== model) await handle.close();
  }
}

/**
 * What makes samples leak inside a batch function, most likely first (the model it runs is not
 * seen, so the diagnosis is empty). transformers.js' 8-bit models (q8, its default on wasm;
 * int8, uint8) are onnxruntime's quantize_dynamic: one activation scale over the whole batch,
 * pads included, which moves an embedding by about 1e-3 with its batch-mates.
 */
export const FUNCTION_LEAKAGE_NOTE =
  "a batch function: the model it runs is out of batchproof's sight, so no diagnosis names the nodes; what usually makes samples leak: dynamic quantization (DynamicQuantizeLinear, one scale over the whole batch, pads included: transformers.js' 8-bit models, dtype 'q8' (its default on wasm), 'int8' or 'uint8'; load dtype: 'fp32' (or 'fp16'), or quantize statically), attention or pooling that ignores the attention mask (the pads a longer batch-mate adds get in), BatchNorm in training mode; check the ONNX file it loads (npx batchproof check model.onnx) for a diagnosis";

/**
 * The outputs that hold something to compare. An output with no values per sample ([N, 0]) is
 * left out with a note; when nothing is left, or every value is NaN or Infinity, there is
 * nothing a pass could mean, so the check refuses instead of answering 'invariant'.
 */
export function comparedLayouts(rows: readonly ProbeRow[], layouts: readonly OutputLayout[], notes: string[]): OutputLayout[] {
  const note = emptyOutputsNote(layouts.map((l) => ({ name: l.name, dims: l.sampleDims, batchAxis: l.batchAxis })));
  if (note) notes.push(note);
  const kept = layouts.filter((l) => !l.sampleDims.includes(0));
  const allNonFinite = kept.every((l) => rows.every((r) => everyNonFinite(r.outputs[l.name], l.dtype)));
  if (allNonFinite) {
    throw nothingFiniteError(kept.map((l) => l.name));
  }
  return kept;
}

/** What a check feeds: samples, the plan, sequence padding, and how plan ids map to samples. */
export interface CheckSetup {
  prepared: PreparedInputs;
  count: number | null;
  probes: number;
  plan: Plan;
  poolIndex: (id: number) => number;
  padding: PaddingReport;
  /** executePlan's hooks for runs with other token layouts (empty without padding). */
  hooks: Pick<ExecuteOptions, 'specialFeeds' | 'trimRow'>;
}

/**
 * Prepares samples, plans the runs and sets up sequence padding, refusing before any run what
 * cannot fit or cannot show a failure. Shared by check and locate, so both feed the same batches.
 */
export async function prepareCheck(handle: ModelHandle, outputs: readonly DeclaredOutput[], options: CheckOptions): Promise<CheckSetup> {
  const fn = isFunctionHandle(handle);
  const prepared = fn ? functionInputs(handle) : await prepareInputs(handle, options);
  const count = prepared.pool.count;
  // Before the plan's row lists or any sample exist: an absurd size is one line, not an abort.
  // A function's filler rows are FILLER_ZEROS ids, which its runner maps to the user's filler sample.
  const planOptions: PlanOptions = { ...options, probes: Math.min(options.probes ?? 3, count ?? Infinity), filler: fn ? undefined : (options.filler as Filler | undefined) };
  assertPlanFits(prepared.specs.filter((s) => s.dtype !== SAMPLE_VALUES), fn ? [] : outputs, planOptions);
  const plan = makePlan(planOptions);
  // The plan places no more probes than its largest batch has rows: the padding runs, the sample
  // ids and the recipe's batch-mates follow it (3 probes at --batch-sizes 1,2 ran a batch of 3).
  const probes = plan.probes;
  const poolIndex = count !== null ? userSampleIndex(count, probes, plan.pool2Base) : (id: number) => id;
  const base = prepared.pool;
  const synthesis = prepared.synthesis as Record<string, { high?: number; table?: TableRef | null }>;
  const resolved = fn ? { reason: 'a batch function: its own tokenizer pads, so sequence padding is tested on models' } : resolvePadding(prepared.specs, prepared.dims, checkPaddingOption(options.padding), {
    probes,
    highOf: (name) => synthesis?.[name]?.high ?? options.vocab ?? DEFAULT_VOCAB,
    userSamples: prepared.source === 'user' ? base : null,
    tableOf: (name) => synthesis?.[name]?.table ?? null,
    roleOf: (name) => (prepared.synthesis[name] ? inputRole(prepared.synthesis[name]) : undefined),
    // Asked for float masks only: the graph is read then, and its flow module loaded.
    additive: (name) => {
      const graph = graphOf(handle);
      return graph !== null && (require('../diagnosis/flow') as typeof import('../diagnosis/flow')).addedAsIs(graph, name);
    },
  });
  let padding: PaddingReport;
  const outlier = outlierRun(plan, prepared.specs);
  if (outlier) plan.runs.push(outlier);
  let hooks: CheckSetup['hooks'] = { specialFeeds: (_run, ids) => outlierFeeds(prepared.specs, prepared.shared, prepared.pool, ids) };
  if ('reason' in resolved) {
    padding = untested(resolved.reason);
  } else {
    const setup = resolved;
    padding = { tested: true, axis: setup.axis, mask: setup.mask, padId: setup.padId, side: setup.side, limit: setup.limit, lengths: setup.probeLengths, reason: null, comparisons: [] };
    prepared.pool = paddedPool(base, setup);
    // A mask named with --mask that its name did not reveal (`attn`) was planned as ids; the padded pool feeds it 1s and 0s.
    const fact = prepared.synthesis[setup.mask];
    if (fact && inputRole(fact) !== 'mask') prepared.synthesis[setup.mask] = fact.kind === 'user' ? { kind: 'user', source: fact.source, role: 'mask' } : { kind: 'mask' };
    plan.runs.push(...paddingRuns(setup, probes, plan.reference));
    const seqAxes = outputSequenceAxes(handle.outputs, setup);
    hooks = {
      specialFeeds: (run, ids) => (run.tokens ? tokenFeeds(prepared.specs, prepared.shared, base, setup, run.tokens, ids) : outlierFeeds(prepared.specs, prepared.shared, prepared.pool, ids)),
      trimRow: (row, run, layouts) => realTokensOnly(row, run, layouts, setup, seqAxes, poolIndex),
    };
  }
  // Before any run: samples that cannot show a failure must not produce a pass.
  const fed = new Set<number>();
  for (const run of plan.runs) for (const id of run.rows) if (id >= 0) fed.add(poolIndex(id));
  // A function's pool hands out sample indices: its samples are judged as they are.
  if (fn) assertFunctionSamplesDiffer(handle, [...fed]);
  else assertSamplesCanShowFailure(prepared.specs, prepared.pool, [...fed], 'distinct', sampleLabel(prepared.source, options));
  return { prepared, count, probes, plan, poolIndex, padding, hooks };
}

/**
 * Named culprits and fixes, from graph facts and what the check saw. Read only when something
 * leaked or the pads got in (the graph costs a parse; a clean model never pays for it). Where
 * padding failed, the first node whose real tokens change with the pad ids is searched for.
 */
async function diagnosisFor(
  handle: ModelHandle,
  seen: { causes: readonly Cause[]; verdict: string; padding: PaddingReport; paddingComparisons: readonly PaddingComparison[]; outputs: readonly string[] },
  prepared: PreparedInputs,
  hooks: CheckSetup['hooks'],
  tolerance: ToleranceOptions,
): Promise<Diagnosis[]> {
  // Padded on the wrong side, the pads do not get in (other ids change nothing): where they sit moves it, and the summary says so.
  const paddingFailed = seen.paddingComparisons.some((c) => (c.run === 'unpadded' || c.run === 'pad-ids') && !c.pass) && !wrongSide(seen.paddingComparisons);
  if (!seen.causes.includes('leakage') && !paddingFailed && seen.verdict !== 'violated') return [];
  const graph = graphOf(handle);
  const bytes = modelBytesOf(handle);
  if (!graph) return [];
  const { diagnose, firstPaddingNode } = await import('../diagnosis');
  let firstNode: string | null = null;
  const p = seen.padding;
  const feeds = paddingFailed && bytes ? padIdFeeds(p, hooks) : null;
  if (feeds && bytes) {
    const found = await firstPaddingNode(bytes, feeds[0], feeds[1], {
      lengths: p.lengths[0],
      paddedLength: p.limit as number,
      side: p.side as PaddingSide,
      settings: handle.settings,
      source: handle.source,
      outputs: seen.outputs,
      tolerance: tolerance.tolerance,
      outputTolerances: tolerance.outputTolerances,
      plain: handle,
    }).catch(() => null);
    firstNode = found?.first?.node ?? found?.firstBitwise?.node ?? null;
  }
  const batchAxes = Object.fromEntries(prepared.specs.filter((s) => s.batchAxis !== null).map((s) => [s.name, s.batchAxis as number]));
  return diagnose(graph, { causes: seen.causes, padding: { tested: p.tested, failed: paddingFailed, mask: p.mask, firstNode, idsChange: !seen.paddingComparisons.some((c) => c.run === 'pad-ids' && c.bitExact) }, firstDivergence: null, batchAxes }, { modelBytes: bytes ?? undefined, seqAxis: maskSeqAxis(prepared, p), outputs: seen.outputs });
}

type PadFeeds = ReturnType<NonNullable<ExecuteOptions['specialFeeds']>>;

/**
 * Probe 0 alone at the padding limit, with the pad id and with other ids in its pads (mask 0
 * there): the two feeds firstPaddingNode compares. Null where padding was not tested.
 */
export function padIdFeeds(p: PaddingReport, hooks: CheckSetup['hooks']): [PadFeeds, PadFeeds] | null {
  if (!p.tested || !hooks.specialFeeds || p.limit === null || p.side === null) return null;
  const run = (pads: 'pad-id' | 'other-ids'): PlannedRun => ({ purpose: 'pad-ids', size: 1, rows: [0], probes: [{ probe: 0, position: 0 }], tokens: { length: p.limit as number, side: p.side as PaddingSide, pads } });
  return [hooks.specialFeeds(run('pad-id'), [0]), hooks.specialFeeds(run('other-ids'), [0])];
}

/** Where the mask's sequence axis is, for the diagnosis (which reads the mask's dims). */
function maskSeqAxis(prepared: PreparedInputs, padding: PaddingReport): number | undefined {
  const mask = prepared.specs.find((s) => s.name === padding.mask);
  const at = mask && padding.axis !== null ? mask.declared.findIndex((d, a) => a !== mask.batchAxis && spansAxis(d, padding.axis as string, prepared.dims)) : -1;
  return at >= 0 ? at : undefined;
}

/**
 * A Gather out of bounds on ids batchproof synthesized without finding their table: the range was
 * a guess (the vocab default), so the cure is the vocab, not the shapes the generic line names.
 */
export async function guessedIds<T>(prepared: PreparedInputs, run: () => Promise<T>, given?: { handle: ModelHandle; dims?: Record<string, number> }): Promise<T> {
  try {
    return await run();
  } catch (e) {
    const dims = e instanceof RunFailure && given ? dimFailure(e, given.handle, given.dims) : null;
    if (dims) throw new BadInputError(dims);
    const guessed = Object.entries(prepared.synthesis).filter(([, f]) => f.kind === 'ids' && f.table === null) as [string, { high: number }][];
    if (!(e instanceof BadInputError) || !/indices element out of data bounds/.test(e.message) || guessed.length === 0) throw e;
    const range = /inclusive range \[-?\d+,\s*(\d+)\]/.exec(e.message);
    const rows = range ? Number(range[1]) + 1 : null;
    const ids = guessed.map(([name, f]) => `'${name}' below ${f.high}`).join(', ');
    throw new BadInputError(
      `${e.message.replace(/; check --shape.*$/, '')}: batchproof found no table for the ids in the graph and synthesized ${ids}, more than a table${rows ? ` of ${rows} rows` : ''} takes; set the vocabulary (API: vocab: ${rows ?? 'N'}, CLI --vocab ${rows ?? 'N'}) or give samples (--inputs)`,
    );
  }
}

/** onnxruntime's words for an input shaped wrong: a broadcast, a reshape, a rank or a dim. */
const SHAPE_ERROR = /broadcast|shape|dimension|rank/i;

/**
 * A run that failed on a shape where the user set a dim (--dim sequence=512): the likely cause
 * is that size, which the generic line ("check --shape/--dim/--const") leaves the user to guess.
 * Where the graph indexes a table with positions it makes itself (a position embedding: a
 * sliced arange, not ids from an input) and onnxruntime's reason names both the table's rows
 * and the dim's size, the line names the table and its rows as the size to stay within. Null
 * when no dim was set, the error is another, or the caller worded the failure itself.
 */
function dimFailure(e: RunFailure, handle: ModelHandle, dims: Record<string, number> | undefined): string | null {
  const set = Object.entries(dims ?? {});
  if (set.length === 0 || !SHAPE_ERROR.test(e.reason) || /out of data bounds/.test(e.reason) || e.message !== runFailure(handle.source, e.rows, e.reason)) return null;
  const read = readHandleGraph(handle);
  const tables = read.reason === null ? positionTables(read.graph, read.constants) : [];
  const numbers = new Set(e.reason.match(/\d+/g) ?? []);
  for (const [symbol, size] of set) {
    const table = tables.find((t) => t.rows < size && numbers.has(String(t.rows)) && numbers.has(String(size)));
    if (table) {
      return `${handle.source}: the model fails at ${symbol}=${size} (onnxruntime: ${e.reason}): its graph indexes '${table.initializer}' (${table.rows} rows, ${table.node}) with positions it makes itself, not with an input's ids, so ${symbol} is likely limited to ${table.rows} (a position embedding of ${table.rows} rows?); give a smaller size, dims: { ${symbol}: ${table.rows} } (CLI --dim ${symbol}=${table.rows}) or less`;
    }
  }
  const shown = set.map(([k, v]) => `${k}=${v}`);
  return `${handle.source}: the model fails at ${shown.join(', ')} (onnxruntime, on a batch of ${e.rows}: ${e.reason}): a shape error with ${set.length === 1 ? 'that size' : 'those sizes'} set by dims (CLI ${shown.map((d) => `--dim ${d}`).join(' ')}), so the model likely does not take ${set.length === 1 ? 'it' : 'them'} (a fixed-size table or reshape in its graph for that axis); try a smaller size, such as the one it was exported at, or check --shape/--const and the samples' shape`;
}

/** The plan's largest batch and row lists, estimated from its options alone, must fit in memory. */
export function assertPlanFits(specs: readonly InputSpec[], outputs: readonly DeclaredOutput[], options: PlanOptions): void {
  const footprint = planFootprint(options);
  assertBatchFits({ specs, outputs, batchSize: footprint.batchSize, maxBytes: options.maxBytes, what: footprint.what, plannedRows: footprint.plannedRows, outputCopies: checkOutputCopies(footprint.batchSize) });
}

/** Where the samples came from, as messages name them. */
export function sampleLabel(source: 'synthesized' | 'user', options: { inputs?: string }): string {
  return source === 'synthesized' ? 'the synthesized samples' : options.inputs ?? 'samples';
}

/** Compact list of sizes: "2..9, 15, 31..33". Consecutive entries of the sweep collapse. */
export function formatSizes(sizes: readonly number[], sweep: readonly number[]): string {
  const parts: string[] = [];
  let i = 0;
  while (i < sizes.length) {
    let j = i;
    while (j + 1 < sizes.length && sweep.indexOf(sizes[j + 1]) === sweep.indexOf(sizes[j]) + 1) j++;
    parts.push(j > i + 1 ? `${sizes[i]}..${sizes[j]}` : sizes.slice(i, j + 1).join(', '));
    i = j + 1;
  }
  return parts.join(', ');
}

/**
 * The recipe for sequence padding: where a text alone unpadded differs from itself padded, but
 * everything padded to the limit is bitwise equal across the served sizes and other pad ids
 * change nothing, padding every text to the limit is the fix. None when pads or samples leak.
 */
function withPadLength(recipe: Recipe | null, padding: PaddingReport, comparisons: readonly PaddingComparison[], served: ServedAnswer, causes: readonly Cause[]): Recipe | null {
  const run = (name: string) => comparisons.find((c) => c.run === name);
  const holds = padding.tested && padding.limit !== null && run('unpadded')?.bitExact === false && run('pad-ids')?.bitExact === true
    // Bitwise across the served sizes as they are, or with the row recipe (padTo), both at the limit.
    && (served.equal || (recipe?.padTo && recipe.verified)) && served.sizes.length >= 2 && !causes.includes('leakage') && !causes.includes('nondeterminism');
  if (!holds) return recipe;
  return { ...(recipe ?? { padTo: null }), padLength: padding.limit as number, verified: recipe?.padTo ? recipe.verified : true };
}

/** The forum's question answered in one line, for the served sizes. */
function answerLine(served: ServedAnswer, recipe: Recipe | null, reason: string | null): string {
  const line = rowsAnswer(served, recipe, reason);
  return recipe?.padLength ? `${line}; pad every text to ${recipe.padLength} tokens and a text alone matches itself in any batch bitwise (verified: the sweep ran at ${recipe.padLength} tokens and other pad ids changed nothing), where alone and unpadded it does not` : line;
}

function rowsAnswer(served: ServedAnswer, recipe: Recipe | null, reason: string | null): string {
  const pair = served.sizes.length === 2 ? `batch ${served.sizes[0]} and batch ${served.sizes[1]}` : `batch sizes ${served.sizes.join(', ')}`;
  if (served.sizes.length < 2) return `only batch ${served.sizes.join('')} was served; nothing to compare`;
  if (served.equal) {
    return recipe?.padTo ? `${pair} are bitwise equal with batches smaller than ${recipe.padTo} padded to ${recipe.padTo}` : `${pair} are bitwise equal`;
  }
  const head = `${pair} differ by at most ${approx(served.maxAbs)}`;
  if (recipe?.padTo) return `${head}; pad batches smaller than ${recipe.padTo} up to ${recipe.padTo} and they are bitwise equal${recipe.verified ? ' (verified)' : ''}`;
  return `${head}; no padding makes them equal (${reason})`;
}

const CAUSE_WORDS: Record<Cause, string> = {
  leakage: 'samples leak into each other (output changes with the batch-mates)',
  position: 'the output depends on the row position',
  'batch-size': 'float drift with the batch size',
  nondeterminism: 'the same batch differs run to run',
  padding: 'the output changes with the pad tokens it gets',
};

/**
 * Padded on the side the model does not expect: unpadded moves it, other pad ids do not, and
 * padded on the other side it matches itself unpadded (absolute positions that assume one side).
 */
export function wrongSide(comparisons: readonly PaddingComparison[]): boolean {
  const otherSide = comparisons.find((c) => c.run === 'other-side');
  return comparisons.some((c) => c.run === 'unpadded' && !c.pass) && !comparisons.some((c) => c.run === 'pad-ids' && !c.pass) && !!otherSide && !otherSide.pass && otherSide.matchesUnpadded === true;
}

/** Padding in words: beyond the tolerance pads reach the output; within it, drift of the padded shapes. */
function paddingWords(comparisons: readonly PaddingComparison[], side: string | null): string {
  const moved = comparisons.filter((c) => (c.run === 'unpadded' || c.run === 'pad-ids') && !c.bitExact);
  const most = approx(Math.max(0, ...moved.map((c) => c.maxAbs)));
  if (moved.every((c) => c.pass)) return `float drift from the padded shapes (a text alone and padded differ by ${most}, within the tolerance)`;
  const other = side === 'left' ? 'right' : 'left';
  if (wrongSide(comparisons)) {
    return `padding on the ${side} moves the output by ${most}, padding on the ${other} does not: the model's positions do not follow the mask; pad on the ${other}`;
  }
  return `pad tokens reach the output: a text alone and padded differ by ${most} (the mask is not applied in attention or pooling, or a layer mixes the whole tensor: see the diagnosis)`;
}

/**
 * The verdict in one line. Where the verdict is violated, the runs named and their magnitude are
 * those that fail: the table's sizes, and the runs no row of it shows (the outlier run, two
 * batches of one size, the same batch twice); sizes that differ within the tolerance follow.
 */
function summarize(analysis: Pick<InvarianceReport, 'verdict' | 'causes' | 'batches' | 'outlier'> & { unseenFailures: { pairs: { size: number; maxAbs: number }[]; reruns: { size: number; maxAbs: number }[] } }, reference: number, padding: readonly PaddingComparison[], side: string | null): string {
  const { verdict, causes, batches, outlier, unseenFailures } = analysis;
  const sweep = batches.map((b) => b.size);
  if (verdict === 'invariant') return `bitwise equal to batch ${reference} at every batch size and position tested (${formatSizes(sweep, sweep)})`;
  const violated = verdict === 'violated';
  const head = violated ? 'outputs differ beyond the tolerance' : 'outputs differ, within the tolerance';
  const sizesWord = (sizes: readonly number[]) => `batch size${sizes.length === 1 ? '' : 's'} ${formatSizes(sizes, sweep)}`;
  // Within the tolerance everything that differs is named; violated, what fails (the rest after).
  const named = batches.filter((b) => (violated ? !b.pass : !b.bitExact));
  const parts: string[] = [];
  if (named.length > 0) parts.push(`at ${sizesWord(named.map((b) => b.size))} vs batch ${reference}, by at most ${approx(Math.max(...named.map((b) => b.maxAbs)))}`);
  if (violated) {
    const pairs = unseenFailures.pairs.filter((p) => !named.some((b) => b.size === p.size));
    if (pairs.length > 0) parts.push(`between batches of the same size with other batch-mates or positions (${sizesWord(pairs.map((p) => p.size))}), by at most ${approx(Math.max(...pairs.map((p) => p.maxAbs)))}`);
    for (const r of unseenFailures.reruns) parts.push(`when the same batch runs twice (batch ${r.size}), by at most ${approx(r.maxAbs)}`);
  }
  if (outlier && (violated ? !outlier.pass : !outlier.bitExact)) {
    parts.push(`with batch-mates ${OUTLIER_SCALE} times larger (the outlier run, batch ${outlier.size}), by at most ${approx(outlier.maxAbs)}`);
  }
  // The probes padded together: a batch (of their count, at their longest) no other run makes;
  // where the pads themselves fail, the padding words below say it.
  const padsFail = padding.some((c) => (c.run === 'unpadded' || c.run === 'pad-ids') && !c.pass);
  // Within the tolerance it is named where nothing else differs: else the line said only "outputs differ".
  const served = violated ? (!padsFail ? padding.find((c) => c.run === 'served' && !c.pass) : undefined) : parts.length === 0 && !causes.includes('padding') ? padding.find((c) => c.run === 'served' && !c.bitExact) : undefined;
  if (served) parts.push(`when the texts are padded together as a server pads a batch (against each alone, unpadded), by at most ${approx(served.maxAbs)}`);
  // Float drift is small by nature: a batch size that moves outputs beyond the tolerance is named plainly.
  const drifts = batches.every((b) => b.pass || !b.causes.includes('batch-size'));
  const others = causes.filter((c) => c !== 'padding').map((c) => (c === 'batch-size' && !drifts ? 'the output changes with the batch size' : CAUSE_WORDS[c]));
  const within = violated ? batches.filter((b) => b.pass && !b.bitExact) : [];
  const withinPart = within.length > 0 ? `within the tolerance at ${sizesWord(within.map((b) => b.size))} vs batch ${reference}, by at most ${approx(Math.max(...within.map((b) => b.maxAbs)))}` : '';
  // A failing run is named with its magnitude even where no cause but the pads is named.
  const failing = parts.length > 0 ? ` ${parts.join(', and ')}${others.length > 0 ? `: ${others.join('; ')}` : ''}${withinPart ? `; ${withinPart}` : ''}` : '';
  // Nothing of the batches fails (the pads do): what they moved, within the tolerance.
  const withinOnly = others.length > 0 && parts.length === 0 && withinPart ? `; ${withinPart}: ${others.join('; ')}` : '';
  if (!causes.includes('padding')) return `${head}${failing || withinOnly}`;
  // Padding first: it is what the user acts on, and its magnitude is its own.
  const padded = `${head}: ${paddingWords(padding, side)}`;
  return failing ? `${padded}; and${failing}` : `${padded}${withinOnly}`;
}

export { BATCH_MARK };
