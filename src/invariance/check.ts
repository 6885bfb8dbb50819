import { resolveTolerance, describeTolerance, Tolerance, ResolvedTolerance } from '../compare/tolerance';
import { BadInputError } from '../errors';
import { fingerprintFor } from '../fixture/fingerprint';
import { InputOptions, prepareInputs, userSampleIndex } from '../inputs/prepare';
import { BATCH_MARK } from '../inputs/spec';
import { ModelSource, openModel, SessionSettings } from '../model/open';
import { tool } from '../version';
import { analyse } from './analyse';
import { makePlan, PlanOptions } from './plan';
import type { Cause, InvarianceReport, BatchReport } from './report';
import { executePlan } from './run';

export interface ToleranceOptions {
  /** Tolerance for every output (default 'default': dtype-aware allclose). */
  tolerance?: Tolerance;
  /** Per-output overrides, by output name. */
  outputTolerances?: Record<string, Tolerance>;
  /** Output names to compare (default all). */
  outputs?: string[];
}

export interface CheckOptions extends PlanOptions, InputOptions, ToleranceOptions, SessionSettings {
  /** Trims the sweep (largest sizes first) to fit; the report lists what it skipped. */
  budget?: { seconds: number };
  /** Called after each session.run (the CLI draws a progress bar with it). */
  onProgress?: (done: number, total: number) => void;
}

/** Resolves the tolerance of every compared output, checking names and values. */
export function resolveTolerances(outputs: { name: string; dtype: string }[], options: ToleranceOptions): Record<string, ResolvedTolerance> {
  for (const name of Object.keys(options.outputTolerances ?? {})) {
    if (!outputs.some((o) => o.name === name)) {
      throw new BadInputError(`a tolerance names output '${name}', which the model does not have; its outputs are: ${outputs.map((o) => o.name).join(', ')}`);
    }
  }
  return Object.fromEntries(outputs.map((o) => [o.name, resolveTolerance(options.outputTolerances?.[o.name] ?? options.tolerance, o.dtype)]));
}

/** Output names to compare, checked against the model. */
export function selectOutputs(all: { name: string; dtype: string }[], wanted: string[] | undefined): { name: string; dtype: string }[] {
  if (!wanted) return all;
  return wanted.map((name) => {
    const found = all.find((o) => o.name === name);
    if (!found) throw new BadInputError(`--outputs names '${name}', which the model does not have; its outputs are: ${all.map((o) => o.name).join(', ')}`);
    return found;
  });
}

/**
 * Does the model give each sample the same output whatever the batch around it?
 * Opens the model once (unless given a session or handle), runs the plan, returns the report.
 */
export async function checkBatchInvariance(model: ModelSource, options: CheckOptions = {}): Promise<InvarianceReport> {
  const started = performance.now();
  if (options.budget !== undefined && !(typeof options.budget?.seconds === 'number' && options.budget.seconds > 0)) {
    throw new BadInputError(`budget must be { seconds: N } with N > 0, got ${JSON.stringify(options.budget)}; for example --budget 30s`);
  }
  const handle = await openModel(model, options);
  try {
    const outputs = selectOutputs(handle.outputs, options.outputs);
    const tolerances = resolveTolerances(outputs, options);
    for (const name of Object.keys(options.shapes ?? {})) {
      if (!handle.inputs.some((i) => i.name === name) && !handle.outputs.some((o) => o.name === name)) {
        throw new BadInputError(`--shape names '${name}', which is neither an input nor an output of the model; its inputs are: ${handle.inputs.map((i) => i.name).join(', ')}`);
      }
    }
    const prepared = await prepareInputs(handle, options);
    const count = prepared.pool.count;
    const probes = Math.min(options.probes ?? 3, count ?? Infinity);
    const plan = makePlan({ ...options, probes });
    const notes: string[] = [];
    if (count !== null && count - probes < 2) {
      notes.push(`only ${count} samples for ${probes} probes: batch-mates repeat the probes, so leakage is tested weakly; give at least ${probes + 2} samples`);
    }
    const execution = await executePlan(handle, prepared.specs, prepared.shared, prepared.pool, plan, {
      outputs: outputs.map((o) => o.name),
      shapes: options.shapes,
      budgetMs: options.budget ? options.budget.seconds * 1000 : undefined,
      sampleIndex: count !== null ? userSampleIndex(count, probes, plan.pool2Base) : undefined,
      onProgress: options.onProgress,
    });
    if (execution.skipped.length > 0) {
      notes.push(`the budget of ${options.budget?.seconds}s skipped batch sizes ${execution.skipped.join(', ')}`);
    }
    const analysis = analyse(execution.rows, execution.layouts, tolerances);
    const settings = handle.settings;
    const layoutOf = (name: string) => execution.layouts.find((l) => l.name === name);
    return {
      schema: 1,
      kind: 'batch-invariance',
      tool,
      model: {
        path: handle.source,
        inputs: prepared.specs.map((s) => ({ name: s.name, dtype: s.dtype, shape: s.declared, batchAxis: s.batchAxis })),
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
      fingerprint: fingerprintFor(settings),
      tolerance: Object.fromEntries(Object.entries(tolerances).map(([k, t]) => [k, describeTolerance(t)])),
      ...analysis,
      summary: summarize(analysis.verdict, analysis.causes, analysis.batches, plan.reference),
      notes,
      runs: execution.runs,
      timing: { totalMs: Math.round(performance.now() - started), inferenceMs: Math.round(execution.inferenceMs) },
    };
  } finally {
    if (handle !== model) await handle.close();
  }
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

const CAUSE_WORDS: Record<Cause, string> = {
  leakage: 'samples leak into each other (output changes with the batch-mates)',
  position: 'the output depends on the row position',
  'batch-size': 'float drift with the batch size',
  nondeterminism: 'the same batch differs run to run',
};

function summarize(verdict: string, causes: readonly Cause[], batches: readonly BatchReport[], reference: number): string {
  const sweep = batches.map((b) => b.size);
  if (verdict === 'invariant') return `bitwise equal to batch ${reference} at every batch size and position tested (${formatSizes(sweep, sweep)})`;
  const differing = batches.filter((b) => !b.bitExact);
  const worst = Math.max(0, ...batches.map((b) => b.maxAbs));
  const head = verdict === 'violated' ? 'outputs differ beyond the tolerance' : 'outputs differ, within the tolerance';
  const where = differing.length > 0 ? ` at batch sizes ${formatSizes(differing.map((b) => b.size), sweep)} vs batch ${reference}` : '';
  return `${head}${where}, by at most ${worst.toPrecision(2)}: ${causes.map((c) => CAUSE_WORDS[c]).join('; ')}`;
}

export { BATCH_MARK };
