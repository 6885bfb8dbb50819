import ort = require('onnxruntime-node');
import { BadInputError } from '../errors';
import { takeRows, TypedArray } from '../inputs/arrays';
import { assertBatchFits, checkOutputCopies } from '../inputs/memory';
import { batchTensor, SamplePool } from '../inputs/samples';
import { BATCH_MARK, batchNamedAxes, InputSpec } from '../inputs/spec';
import { outOfMemory, RunLogBook, runFailure, type RunCall, type RunOutputs, type Runner } from '../runtime/runner';
import { SAMPLE_VALUES } from '../runtime/function';
import type { Plan, PlannedRun, RunPurpose } from './plan';
import { sameOutput } from './row-identity';
import { now } from '../runtime/clock';

/** One probe's outputs from one run: only these rows are kept, never whole batches. */
export interface ProbeRow {
  purpose: RunPurpose;
  size: number;
  probe: number;
  position: number;
  outputs: Record<string, TypedArray>;
}

/** How each output is split into samples. */
export interface OutputLayout {
  name: string;
  dtype: string;
  batchAxis: number;
  /** Dims of one sample's slice (batch axis = rows per sample). */
  sampleDims: number[];
}

export interface Execution {
  rows: ProbeRow[];
  /** Every run made, by batch size; later runs of the same check (recipes) are added to it. */
  log: RunLogBook;
  layouts: OutputLayout[];
  skipped: number[];
}

export interface ExecuteOptions {
  /** Output names to compare (default: all). */
  outputs?: string[];
  /** Output batch-axis overrides ('N' marks it). */
  shapes?: Record<string, readonly (number | string)[]>;
  /** Stop before a batch size that would not fit. */
  budgetMs?: number;
  /** Sizes the budget never skips. */
  keepSizes?: number[];
  /** Maps a plan's sample id to the pool's sample index. */
  sampleIndex?: (id: number) => number;
  onProgress?: (done: number, total: number) => void;
  /** The most bytes one batch may need (see src/inputs/memory.ts); default DEFAULT_MAX_BYTES. */
  maxBytes?: number;
  /** Feeds for runs not built from the ordinary pool: token layouts (padding.ts), outlier batch-mates (outlier.ts). */
  specialFeeds?: (run: PlannedRun, ids: number[]) => Record<string, ort.Tensor>;
  /** Applied to every kept probe row (sequence padding keeps real token positions only). */
  trimRow?: (row: ProbeRow, run: PlannedRun, layouts: readonly OutputLayout[]) => ProbeRow;
}

/** Sample ids to pool indices; filler ids (negative) pass through as they are. */
export function mapIds(ids: readonly number[], index: (id: number) => number): number[] {
  return ids.map((id) => (id < 0 ? id : index(id)));
}

export function feedsFor(specs: readonly InputSpec[], shared: Record<string, ort.Tensor>, pool: SamplePool, ids: readonly number[]): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const spec of specs) {
    // A batch function's input: the rows' sample indices; its runner hands it the samples.
    if (spec.dtype === SAMPLE_VALUES) feeds[spec.name] = [...ids] as unknown as ort.Tensor;
    else feeds[spec.name] = spec.batchAxis === null ? shared[spec.name] : batchTensor(spec, pool, ids);
  }
  return feeds;
}

/**
 * Executes the plan with the one session. Output batch axes are found from the first two runs
 * of different sizes (the axis that scales); until then the reference outputs are held whole.
 */
export async function executePlan(
  handle: Runner,
  specs: readonly InputSpec[],
  shared: Record<string, ort.Tensor>,
  pool: SamplePool,
  plan: Plan,
  options: ExecuteOptions = {},
): Promise<Execution> {
  const outputNames = options.outputs ?? handle.outputs.map((o) => o.name);
  if (outputNames.length === 0) {
    throw new BadInputError(
      handle.outputs.length === 0
        ? `${handle.source}: the model declares no outputs, so there is nothing to compare; re-export it with its outputs`
        : `no outputs to compare (the outputs option is empty); name at least one of: ${handle.outputs.map((o) => o.name).join(', ')}`,
    );
  }
  assertPlanFits(handle, specs, plan, outputNames, options.maxBytes);
  const index = options.sampleIndex ?? ((id: number) => id);
  const rows: ProbeRow[] = [];
  const log = new RunLogBook();
  const skipped: number[] = [];
  let layouts: OutputLayout[] | null = null;
  const pending: { run: PlannedRun; result: RunOutputs }[] = [];
  let perRowMs = 0;
  const started = now();
  const total = plan.runs.length;
  let done = 0;

  const execute = async (run: PlannedRun): Promise<void> => {
    const ids = mapIds(run.rows, index);
    const feeds = (run.tokens || run.outlier) && options.specialFeeds ? options.specialFeeds(run, ids) : feedsFor(specs, shared, pool, ids);
    const rowCount = run.rows.length;
    const before = log.inferenceMs;
    // The first batch above batch 1, after only batch 1 ran, failing: the graph fixed the batch at 1 (a trace
    // without dynamic axes, x.view(1, -1)); onnxruntime's reason alone points at the inputs.
    const onlyBatch1 = () => {
      const ran = log.entries();
      return ran.length === 1 && ran[0].batchSize === 1;
    };
    const failure = handle.runtime !== 'function' && rowCount > 1 && onlyBatch1()
      ? (reason: string) => fixedBatchFailure(handle, specs, rowCount, reason)
      : undefined;
    const result = await handle.run(feeds, outputNames, { rows: rowCount, purpose: run.purpose, log, failure });
    perRowMs = (log.inferenceMs - before) / rowCount;
    if (!layouts) {
      const first = pending[0];
      if (first && first.run.rows.length !== rowCount) {
        layouts = detectLayouts(handle, outputNames, first.run.rows.length, first.result, rowCount, result, options.shapes);
        for (const p of pending.splice(0)) keep(p.run, p.result, layouts);
      } else {
        pending.push({ run, result });
        return;
      }
    }
    keep(run, result, layouts);
  };
  const keep = (run: PlannedRun, result: RunOutputs, lay: OutputLayout[]): void => {
    const kept = probeRows(run, result, lay);
    rows.push(...(options.trimRow ? kept.map((r) => (options.trimRow as NonNullable<ExecuteOptions['trimRow']>)(r, run, lay)) : kept));
  };

  for (const run of plan.runs.filter((r) => r.purpose.startsWith('reference'))) {
    await execute(run);
    options.onProgress?.(++done, total);
  }
  for (const size of plan.sizes) {
    const group = plan.bySize.get(size) ?? [];
    const cost = perRowMs * group.reduce((n, r) => n + r.rows.length, 0);
    const overBudget = options.budgetMs !== undefined && now() - started + cost > options.budgetMs;
    if (overBudget && size !== plan.sizes[0] && !options.keepSizes?.includes(size)) {
      skipped.push(size);
      done += group.length;
      continue;
    }
    for (const run of group) {
      if (run.conditional && layouts && !matesDiffer(rows, size, layouts)) {
        done++;
        continue;
      }
      await execute(run);
      options.onProgress?.(++done, total);
    }
  }
  // Runs with other token layouts or outlier rows come last: by then every output's layout is known.
  for (const run of plan.runs.filter((r) => r.tokens || r.outlier)) {
    await execute(run);
    options.onProgress?.(++done, total);
  }
  if (!layouts) {
    // Every run had the same size: fall back to what the model declares.
    const only = pending[0];
    layouts = detectLayouts(handle, outputNames, only.run.rows.length, only.result, null, null, options.shapes);
    for (const p of pending.splice(0)) keep(p.run, p.result, layouts);
  }
  return { rows, log, layouts, skipped };
}

/**
 * Refuses, before anything is allocated, a plan whose largest run would not fit in memory: one
 * line naming the size (its role: reference, padded, swept) and the cure.
 */
function assertPlanFits(handle: Runner, specs: readonly InputSpec[], plan: Plan, outputNames: readonly string[], maxBytes: number | undefined): void {
  let largest: PlannedRun | null = null;
  for (const run of plan.runs) if (!largest || run.rows.length > largest.rows.length) largest = run;
  if (!largest) return;
  const rows = largest.rows.length;
  const what = rows > largest.size
    ? `batches padded to ${rows} (padTo, CLI --pad-to)`
    : largest.purpose.startsWith('reference') ? `the reference batch of ${rows}` : `batch ${rows}`;
  const outputs = handle.outputs.filter((o) => outputNames.includes(o.name));
  assertBatchFits({ specs, outputs, batchSize: rows, maxBytes, what, batchFunction: handle.runtime === 'function', outputCopies: checkOutputCopies(rows) });
}

/** Did any probe's output in the `mates` run of this size differ, in any bit (NaN equal to NaN), from the `batch` run? */
function matesDiffer(rows: readonly ProbeRow[], size: number, layouts: readonly OutputLayout[]): boolean {
  const batch = rows.filter((r) => r.size === size && r.purpose === 'batch');
  return rows
    .filter((r) => r.size === size && r.purpose === 'mates')
    .some((m) => {
      const b = batch.find((r) => r.probe === m.probe);
      return !b || layouts.some((l) => !sameOutput(b.outputs[l.name], m.outputs[l.name], l.dtype));
    });
}

/** Copies out the probes' rows of one run's outputs; the rest of the batch is dropped. */
export function probeRows(run: PlannedRun, result: RunOutputs, layouts: readonly OutputLayout[]): ProbeRow[] {
  return run.probes.map(({ probe, position }) => {
    const outputs: Record<string, TypedArray> = {};
    for (const l of layouts) {
      const t = result[l.name] as ort.Tensor;
      const per = l.sampleDims[l.batchAxis];
      const wanted = Array.from({ length: per }, (_, k) => position * per + k);
      outputs[l.name] = takeRows(t.data as TypedArray, t.dims, l.batchAxis, wanted, l.dtype);
    }
    return { purpose: run.purpose, size: run.size, probe, position, outputs };
  });
}

/**
 * An output whose dims do not follow the batch. Dims that do not change at all hold no batch axis
 * (a scalar loss, a vector pooled over the batch): it depends on every sample by design, and no
 * --shape can give it rows, so the cure is the list of the other outputs.
 */
/** Declared with every dim fixed (a rank-0 declaration is left out: it reads as no shape at all). */
function fixedDims(shape: readonly (number | string)[] | undefined): boolean {
  return shape !== undefined && shape.length > 0 && shape.every((d) => typeof d === 'number' && d >= 0);
}

function sameDims(a: ort.Tensor | undefined, b: ort.Tensor | undefined): boolean {
  return a !== undefined && b !== undefined && a.dims.length === b.dims.length && a.dims.every((d, i) => d === b.dims[i]);
}

function noBatchAxis(name: string, a: readonly number[], b: readonly number[], seen: string, compared: readonly string[], all: readonly string[], unbatched: (output: string) => boolean, declared: readonly (number | string)[]): string {
  if (a.length !== b.length || a.some((d, i) => d !== b[i])) {
    return `output '${name}' does not scale with the batch (${seen}), so its rows cannot be matched to samples; mark its batch axis with --shape ${name}=N,... or leave it out with --outputs`;
  }
  const others = (compared.length > 1 ? compared : all).filter((n) => n !== name && !unbatched(n));
  const cure = others.length > 0 ? `leave it out with --outputs ${others.join(',')} (API: outputs: [${others.map((n) => `'${n}'`).join(', ')}])` : 'no other output has a batch axis to compare: export one that has';
  const fixed = declared.length > 0 && declared[0] === 1 ? `, or a batch fixed at export: declared [${declared.join(', ')}]` : '';
  return `output '${name}' has no batch axis (${seen}): it is computed over the whole batch (a scalar, or pooled over the batch${fixed}), so it changes with the batch-mates by design and no sample's part of it can be compared (no axis of it grows with the batch); ${cure}${fixed ? `, or re-export it with one row per sample (torch.onnx.export(..., dynamic_axes={'${name}': {0: 'batch'}}))` : ''}`;
}

/**
 * Runs a batch of the samples `ids` (determinism's, compare's: no batch 1 ran before it). Where a
 * batch above 1 fails and the first sample alone runs, the graph fixed the batch at 1:
 * fixedBatchFailure's line (the re-export) instead of onnxruntime's reason alone, which points at
 * the inputs. `otherwise` is the command's own way round it (determinism at batch 1).
 */
export async function runOrExplainFixedBatch(
  handle: Runner,
  prepared: { specs: readonly InputSpec[]; shared: Record<string, ort.Tensor>; pool: SamplePool },
  ids: readonly number[],
  feeds: Record<string, ort.Tensor>,
  outputs: readonly string[],
  call: RunCall,
  otherwise = '',
): Promise<RunOutputs> {
  let reason: string | null = null;
  const worded = call.failure ?? ((r: string) => runFailure(handle.source, call.rows, r, handle.runtime));
  try {
    return await handle.run(feeds, outputs, { ...call, failure: (r) => ((reason = r), worded(r)) });
  } catch (e) {
    // Ids beyond a table fail at any batch size: that line (the vocab) is the caller's to word.
    if (reason === null || handle.runtime === 'function' || call.rows <= 1 || /out of data bounds/.test(reason)) throw e;
    try {
      await handle.run(feedsFor(prepared.specs, prepared.shared, prepared.pool, ids.slice(0, 1)), outputs, { rows: 1, purpose: 'batch 1 (why the batch failed)' });
    } catch {
      throw e;
    }
    throw new BadInputError(fixedBatchFailure(handle, prepared.specs, call.rows, reason, otherwise));
  }
}

/** One line for a graph that runs at the reference size and fails above it: the batch is baked in. */
function fixedBatchFailure(handle: Runner, specs: readonly InputSpec[], rows: number, reason: string, otherwise = ''): string {
  // Batch 1 ran and a larger one did not fit: the memory's limit, not a batch baked in at export.
  if (outOfMemory(reason)) return runFailure(handle.source, rows, reason, handle.runtime);
  const ran = 1;
  const fixed = handle.outputs.filter((o) => o.shape.length > 0 && o.shape[0] === ran);
  const declared = fixed.length > 0 ? ` (output${fixed.length > 1 ? 's' : ''} ${fixed.map((o) => `'${o.name}' declared [${o.shape.join(', ')}]`).join(', ')})` : '';
  const axes = [...specs.filter((i) => i.batchAxis !== null).map((i) => `'${i.name}': {${i.batchAxis}: 'batch'}`), ...handle.outputs.map((o) => `'${o.name}': {0: 'batch'}`)].join(', ');
  return `${handle.source}: onnxruntime ran batch ${ran} but failed on a batch of ${rows} (${reason}): the graph fixes the batch size${declared}, as an export traced at batch ${ran} without dynamic axes, or with a shape taken at trace time (x.view(${ran}, -1)), does; re-export it with torch.onnx.export(..., dynamic_axes={${axes}}) and shapes from the input (x.view(x.size(0), -1))${otherwise}, or check --shape/--dim/--const if an input is shaped wrong`;
}

/** Finds each output's batch axis: the one axis whose length scales with the batch size. */
export function detectLayouts(
  handle: Runner,
  names: readonly string[],
  sizeA: number,
  resultA: RunOutputs,
  sizeB: number | null,
  resultB: RunOutputs | null,
  shapes: Record<string, readonly (number | string)[]> = {},
): OutputLayout[] {
  return names.map((name) => {
    const a = resultA[name] as ort.Tensor;
    const declared = handle.outputs.find((o) => o.name === name)?.shape ?? [];
    let axis: number;
    const marked = shapes[name]?.indexOf(BATCH_MARK);
    if (marked !== undefined && marked >= 0) {
      axis = marked;
      const b = resultB?.[name] as ort.Tensor | undefined;
      // A marked axis that does not grow with the batch would read rows that are not there.
      if (sizeB !== null && b && axis < a.dims.length && a.dims[axis] * sizeB !== b.dims[axis] * sizeA) {
        throw new BadInputError(
          `shapes (CLI --shape ${name}): axis ${axis} of output '${name}' does not grow with the batch ([${a.dims.join(', ')}] at batch ${sizeA} and [${b.dims.join(', ')}] at batch ${sizeB}), so it cannot be the batch axis; mark the axis that holds one row per sample, or leave the output out with outputs (CLI --outputs)`,
        );
      }
    } else if (sizeB !== null && resultB) {
      const b = resultB[name] as ort.Tensor;
      const scaling = a.dims
        .map((d, i) => i)
        .filter((i) => a.dims[i] !== b.dims[i] && a.dims[i] * sizeB === b.dims[i] * sizeA);
      if (scaling.length !== 1) {
        const seen = `[${a.dims.join(', ')}] at batch ${sizeA} and [${b.dims.join(', ')}] at batch ${sizeB}`;
        throw new BadInputError(
          scaling.length === 0
            ? noBatchAxis(name, a.dims, b.dims, seen, names, handle.outputs.map((o) => o.name), (n) => sameDims(resultA[n] as ort.Tensor | undefined, resultB[n] as ort.Tensor | undefined) || fixedDims(handle.outputs.find((o) => o.name === n)?.shape), declared)
            : `output '${name}' has several axes that scale with the batch (${seen}); mark the batch axis with --shape ${name}=${a.dims.map((d, i) => (i === scaling[0] ? 'N' : String(d))).join(',')}`,
        );
      }
      axis = scaling[0];
    } else {
      // A dim named like batch wins, as for inputs (time-major outputs); else the first symbolic one.
      axis = batchNamedAxes(declared)[0] ?? declared.findIndex((d) => typeof d === 'string');
      if (axis < 0) {
        throw new BadInputError(`cannot tell the batch axis of output '${name}' from one batch size; add a second size to --batch-sizes or mark it with --shape ${name}=N,...`);
      }
    }
    if (axis >= a.dims.length || a.dims[axis] % sizeA !== 0) {
      const dims = `dims [${a.dims.join(', ')}] at batch ${sizeA}`;
      throw new BadInputError(
        marked !== undefined && marked >= 0
          ? `shapes (CLI --shape ${name}): axis ${axis} cannot be the batch axis of output '${name}' (${dims}); mark the axis that holds the samples' rows`
          : `output '${name}' does not hold whole rows per sample (${dims}: its axis ${axis} grows with the batch but holds ${a.dims[axis] ?? 0} for ${sizeA} samples), so its rows cannot be matched to samples; leave it out with outputs (CLI --outputs), or mark its batch axis with shapes (CLI --shape ${name}=N,...)`,
      );
    }
    const sampleDims = a.dims.map((d, i) => (i === axis ? d / sizeA : d));
    return { name, dtype: a.type, batchAxis: axis, sampleDims };
  });
}
