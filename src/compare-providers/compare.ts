import fs = require('fs');
import { approx } from '../report/format';
import ort = require('onnxruntime-node');
import { compareArrays, Comparison, sameTensor } from '../compare/metrics';
import { DecadeHistogram, emptyHistogram } from '../compare/histogram';
import { ComparisonSummary } from '../compare/summary';
import { describeTolerance } from '../compare/tolerance';
import { BadInputError, formatValue } from '../errors';
import { assertSamplesCanShowFailure, samplesDiffer } from '../inputs/degenerate';
import { assertBatchFits, compareOutputCopies } from '../inputs/memory';
import { INPUT_OPTION_KEYS, validateOptions, TOLERANCE_OPTION_KEYS } from '../options';
import { fingerprintFor } from '../runtime/fingerprint';
import { Fixture, FixtureOptions, fixtureSettings } from '../runtime/fixture';
import { sessionOptions, settingsLabel } from '../runtime/settings';
import { wasmThreads } from '../runtime/wasm';
import { takeRows, TypedArray } from '../inputs/arrays';
import { InputOptions, prepareInputs } from '../inputs/prepare';
import { guessedIds, resolveTolerances, sampleLabel, selectOutputs, ToleranceOptions } from '../invariance/check';
import { detectLayouts, feedsFor, OutputLayout, runOrExplainFixedBatch } from '../invariance/run';
import { RunLogBook } from '../runtime/runner';
import { describeValue } from '../errors';
import { isModelHandle, ModelHandle, ModelSource, openModel } from '../runtime/handle';
import { batchFunctionGiven } from '../runtime/model-bytes';
import { ProviderName } from '../runtime/providers';
import { SessionSettings } from '../runtime/settings';
import { tool } from '../version';
import type { ComparisonVerdict, OutputComparison, ProviderComparisonReport, SideComparison, SideReport } from './report';
import { now } from '../runtime/clock';
import { emptyOutputsNote, nothingFinite, nothingFiniteError, outputValueNotes } from '../compare/output-values';

/**
 * A side of the comparison: a provider name, fixture options, or a fixture (its settings are
 * used). Options may carry the side's own `batchSize`: the same samples then run on that side in
 * batches of that size (`[{ provider: 'cpu', batchSize: 512 }, { provider: 'wasm', batchSize: 1 }]`:
 * the database's batch on the server against each query alone in the browser's runtime).
 */
export type ProviderSide = ProviderName | (FixtureOptions & { batchSize?: number }) | Fixture;

/** Options of compareProviders: the one batch every side runs, its inputs and the tolerance. */
export interface CompareProvidersOptions extends InputOptions, ToleranceOptions {
  /** Samples in the one batch every side runs (default 8, or the number of user samples). */
  batchSize?: number;
  /** The most memory the batch may need, estimated before it is built; default from the machine. */
  maxBytes?: number;
  /** Called after each session.run, every side's (the CLI draws a progress bar with it). */
  onProgress?: (done: number, total: number) => void;
}

export const DEFAULT_COMPARE_BATCH = 8;

/** Every option compareProviders takes; the sides carry the session settings. */
export const COMPARE_OPTION_KEYS: readonly string[] = [...INPUT_OPTION_KEYS, ...TOLERANCE_OPTION_KEYS, 'batchSize', 'maxBytes', 'onProgress'];

function isFixture(x: unknown): x is Fixture {
  return typeof x === 'object' && x !== null && typeof (x as Fixture).load === 'function' && 'settings' in x;
}

/** Session settings of one side, checked. */
export function sideSettings(side: ProviderSide): SessionSettings {
  if (isFixture(side)) {
    if (side.closed) throw new BadInputError(`the fixture ${side.label} was closed; make a new one to compare with it`);
    return side.settings;
  }
  if (typeof side === 'string') return fixtureSettings({ provider: side });
  if (typeof side === 'object' && side !== null && !Array.isArray(side)) {
    const { batchSize: _size, ...settings } = side as FixtureOptions & { batchSize?: number };
    return fixtureSettings(settings);
  }
  throw new BadInputError(`a side to compare must be a provider name ('cpu', 'webgpu', ...), fixture options or a fixture, got ${describeValue(side)}`);
}

/** A side's own batch size, checked; undefined when it runs the one batch of all samples. */
function sideBatchSize(side: ProviderSide, index: number): number | undefined {
  if (typeof side !== 'object' || side === null || isFixture(side)) return undefined;
  const size = (side as { batchSize?: unknown }).batchSize;
  if (size !== undefined && !(Number.isInteger(size) && (size as number) > 0)) {
    throw new BadInputError(`side ${index + 1}'s batchSize must be a positive integer, got ${formatValue(size)}; for example { provider: 'wasm', batchSize: 1 }`);
  }
  return size as number | undefined;
}

/** The model to open once per side: a path or bytes (a handle gives its path). */
function reopenable(model: ModelSource): string | Uint8Array | ArrayBuffer {
  const fn = batchFunctionGiven(model, 'comparing providers', 'it opens the model once per provider');
  if (fn) throw new BadInputError(fn);
  if (isModelHandle(model)) {
    if (model.closed) throw new BadInputError(`this model handle (${model.source}) was closed; pass the model's path instead`);
    if (!fs.existsSync(model.source)) {
      throw new BadInputError(`comparing providers opens the model once per provider, so it needs the model's path or bytes; this handle was made from ${model.source}`);
    }
    return model.source;
  }
  if (typeof model === 'string' || ArrayBuffer.isView(model) || Object.prototype.toString.call(model) === '[object ArrayBuffer]') {
    return model as string | Uint8Array | ArrayBuffer;
  }
  throw new BadInputError(`comparing providers needs the model's path or bytes (it opens one session per provider), got ${describeValue(model)}`);
}

/**
 * Runs the same batch through the model on each side (sides[0] is the reference) and compares
 * every other side's outputs with it, sample by sample, with the same metrics and tolerances as
 * `checkBatchInvariance`. Each side runs the batch twice, to tell its own run-to-run noise apart.
 */
export async function compareProviders(model: ModelSource, sides: readonly ProviderSide[], options: CompareProvidersOptions = {}): Promise<ProviderComparisonReport> {
  const started = now();
  // A misspelt option (or a session setting, which belongs on a side) must not be ignored.
  validateOptions(options, COMPARE_OPTION_KEYS, 'compareProviders');
  if (!Array.isArray(sides) || sides.length < 2) {
    throw new BadInputError(`compare needs at least two sides, e.g. ['cpu', 'webgpu'] or [{ provider: 'cpu', threads: 1 }, { provider: 'cpu', threads: 2 }]; got ${describeValue(sides)}`);
  }
  if (options.batchSize !== undefined && !(Number.isInteger(options.batchSize) && options.batchSize > 0)) {
    throw new BadInputError(`batchSize must be a positive integer, got ${formatValue(options.batchSize)}; for example --batch-size 8`);
  }
  const settings = sides.map(sideSettings);
  const ownSizes = sides.map(sideBatchSize);
  let labels = uniqueLabels(settings.map((s, i) => `${settingsLabel(s)}${ownSizes[i] === undefined ? '' : `, batch ${ownSizes[i]}`}`));
  const source = reopenable(model);
  const notes: string[] = [];
  // Two sides with the same settings compare a configuration with itself: a pass proves nothing.
  const refuseTwins = (sizes: readonly (number | undefined)[]) => {
    const keys = settings.map((s, i) => JSON.stringify([fingerprintKey(s), sizes[i] ?? null]));
    const twin = keys.findIndex((k, i) => keys.indexOf(k) !== i);
    if (twin >= 0) {
      const first = keys.indexOf(keys[twin]);
      const label = labels[twin].replace(/ #\d+$/, '');
      // Settings that differ only by naming a default: say which defaults make them the same.
      const asGiven = JSON.stringify(settings[first]) === JSON.stringify(settings[twin]);
      const entry = [settings[first], settings[twin]].some((x) => JSON.stringify(x.extra ?? {}).includes('use_deterministic_compute'));
      const what = asGiven
        ? label
        : `${label}: onnxruntime's defaults are optimization 'all', deterministic off, memory arena on, sequential execution, and 1 thread for wasm${entry ? "; deterministic: true is the config entry session.use_deterministic_compute '1'" : ''}`;
      // A side given no batch size runs every sample compared at once: as many as the other side's batch.
      const unbatched = [first, twin].find((i) => ownSizes[i] === undefined && sizes[i] !== undefined);
      const other = unbatched === first ? twin : first;
      const batching = unbatched === undefined ? '' : `: side ${unbatched + 1} runs all ${sizes[unbatched]} samples compared in one batch, as side ${other + 1} does`;
      const cure = unbatched === undefined ? '' : `compare more samples than side ${other + 1} batches (batchSize, CLI --batch-size), or `;
      throw new BadInputError(`sides ${first + 1} and ${twin + 1} have the same settings (${what}${batching}): comparing a configuration with itself proves nothing; ${cure}change the provider, threads, optimization, deterministic or batch size of one side (CLI --against, --against-threads, --against-optimization, --against-deterministic, --against-batch-size)`);
    }
  };
  refuseTwins(ownSizes);
  // onnxruntime-web reads env.wasm.numThreads once a process: a second wasm count cannot start here.
  const wasmCounts = [...new Set(settings.filter((s) => s.provider === 'wasm').map(wasmThreads))];
  if (wasmCounts.length > 1) {
    throw new BadInputError(`wasm sides with ${wasmCounts.join(' and ')} threads cannot run in one process (onnxruntime-web reads env.wasm.numThreads once, when its first session starts); compare each wasm thread count against cpu in its own run (CLI: batchproof compare model.onnx --provider cpu --against wasm --against-threads N)`);
  }

  // Open every side first, so a missing provider fails before any work is done.
  const handles: ModelHandle[] = [];
  try {
    for (const s of settings) handles.push(await openModel(source, s));
    const reference = handles[0];
    const outputs = selectOutputs(reference.outputs, options.outputs);
    const tolerances = resolveTolerances(outputs, options);
    const prepared = await prepareInputs(reference, options);
    const count = prepared.pool.count;
    // Samples compared: the option, else the reference side's own batch, else the default (or
    // more, when a side batches more); a side without a batch size of its own runs them all at once.
    const batchSize = options.batchSize ?? ownSizes[0] ?? Math.max(Math.min(DEFAULT_COMPARE_BATCH, count ?? Infinity), ...ownSizes.map((b) => b ?? 0));
    const sizes = ownSizes.map((b) => b ?? batchSize);
    const over = sizes.findIndex((b) => b > batchSize);
    if (over >= 0) throw new BadInputError(`side ${over + 1} (${labels[over]}) batches ${sizes[over]} samples, more than the ${batchSize} compared; give it a batchSize of at most ${batchSize} (CLI --against-batch-size), or compare more samples with batchSize (CLI --batch-size)`);
    refuseTwins(sizes); // { batchSize: 8 } against the default batch of 8 is the same side too
    // Sides that batch differently are told apart by their batch too ("cpu, batch 8").
    const batched = new Set(sizes).size > 1;
    labels = uniqueLabels(settings.map((s, i) => (batched ? `${settingsLabel(s)}, batch ${sizes[i]}` : settingsLabel(s))));
    if (count !== null && batchSize > count) notes.push(`batch of ${batchSize} from ${count} samples: samples repeat in the batch`);
    // Every side's outputs are kept to compare, each side's runtime keeps its own: not one batch's.
    assertBatchFits({ specs: prepared.specs, outputs, batchSize, maxBytes: options.maxBytes, what: `a batch of ${batchSize} (batchSize, CLI --batch-size)`, outputCopies: compareOutputCopies(batchSize, sizes) });
    const ids = Array.from({ length: batchSize }, (_, i) => (count ? i % count : i));
    assertSamplesCanShowFailure(prepared.specs, prepared.pool, ids, 'varied', sampleLabel(prepared.source, options));
    const feeds = feedsFor(prepared.specs, prepared.shared, prepared.pool, ids);
    const names = outputs.map((o) => o.name);

    // The same samples on every side, each batch twice: in one batch, or in the side's own batches.
    const results: Chunk[][] = [];
    const sideReports: SideReport[] = [];
    let inferenceMs = 0;
    // Each side runs each of its batches twice.
    const total = sizes.reduce((n, b) => n + 2 * Math.ceil(batchSize / b), 0);
    let done = 0;
    for (let i = 0; i < handles.length; i++) {
      const log = new RunLogBook();
      const chunks: Chunk[] = [];
      let repeatable = true;
      for (let start = 0; start < batchSize; start += sizes[i]) {
        const part = ids.slice(start, start + sizes[i]);
        const partFeeds = part.length === batchSize ? feeds : feedsFor(prepared.specs, prepared.shared, prepared.pool, part);
        const call = { rows: part.length, purpose: 'compare', log };
        // Ids beyond a table the graph hides, a batch fixed at 1: the line that names the cure.
        const first = (await guessedIds(prepared, () => runOrExplainFixedBatch(handles[i], prepared, part, partFeeds, names, call, ', or compare at batch 1 (batchSize: 1, CLI --batch-size 1)'), { handle: handles[i], dims: options.dims })) as Record<string, ort.Tensor>;
        options.onProgress?.(++done, total);
        const again = (await handles[i].run(partFeeds, names, call)) as Record<string, ort.Tensor>;
        options.onProgress?.(++done, total);
        repeatable &&= outputs.every((o) => sameTensor(first[o.name], again[o.name]));
        chunks.push({ start, size: part.length, outputs: first });
      }
      const ms = log.inferenceMs;
      inferenceMs += ms;
      if (!repeatable) notes.push(`${labels[i]} is not bitwise repeatable (the same batch run twice differs), so part of its difference is run-to-run noise`);
      results.push(chunks);
      sideReports.push({ label: labels[i], settings: settings[i], fingerprint: fingerprintFor(settings[i]), repeatable, inferenceMs: Math.round(ms), ...(batched && { batchSize: sizes[i] }) });
    }

    // Every side's values over every sample compared: nothing finite on any side is refused (one
    // side NaN where another is not is a difference, and fails as one); notes from the reference.
    const valuesOf = (side: number) => outputs.map((o) => ({ name: o.name, dtype: o.dtype, parts: results[side].map((chunk) => chunk.outputs[o.name].data as TypedArray) }));
    if (results.every((_, side) => nothingFinite(valuesOf(side)))) throw nothingFiniteError(names);
    notes.push(...outputValueNotes(valuesOf(0), samplesDiffer(prepared.specs, prepared.pool, ids) ? Math.min(batchSize, count ?? batchSize) : 1));
    const layouts = sampleLayouts(reference, names, results[0][0].size, results[0][0].outputs, options.shapes);
    // An output of no values ([N, 0]) is equal on every side: refused alone, named beside others.
    const empty = emptyOutputsNote(layouts.map((l) => ({ name: l.name, dims: [...results[0][0].outputs[l.name].dims], batchAxis: l.batchAxis < 0 ? null : l.batchAxis })));
    if (empty) notes.push(empty);
    const unbatched = layouts.filter((l) => l.batchAxis < 0).map((l) => l.name);
    if (batched && unbatched.length) {
      const one = unbatched.length === 1;
      const others = layouts.map((l) => l.name).filter((n) => !unbatched.includes(n));
      const leaveOut = others.length > 0 ? `leave ${one ? 'it' : 'them'} out with --outputs ${others.join(',')}` : 'compare at one batch size on every side';
      throw new BadInputError(`output${one ? '' : 's'} ${unbatched.map((n) => `'${n}'`).join(', ')} ${one ? 'has' : 'have'} no known batch axis, so sides that batch differently cannot be matched sample by sample (an output computed over the whole batch, pooled or a loss, changes with it by design); ${leaveOut}, or where ${one ? 'it has' : 'they have'} a batch axis, mark it with --shape ${unbatched[0]}=...,N,... (N where the batch goes)`);
    }
    if (layouts.some((l) => l.batchAxis < 0)) notes.push(`outputs without a known batch axis are compared whole: ${layouts.filter((l) => l.batchAxis < 0).map((l) => l.name).join(', ')}`);

    // Minimum tolerance and worst element: the same accumulator as checkBatchInvariance uses.
    const summary = new ComparisonSummary<NonNullable<ProviderComparisonReport['worst']>>();
    const comparisons: SideComparison[] = [];
    for (let i = 1; i < handles.length; i++) {
      const perOutput: OutputComparison[] = [];
      for (const l of layouts) {
        // Per sample, as sides may batch differently; reported whole when they do not.
        if (sampleDimsOf(results[0], l).join() !== sampleDimsOf(results[i], l).join()) {
          const dims = (chunks: Chunk[]) => (batched ? sampleDimsOf(chunks, l) : [...chunks[0].outputs[l.name].dims]);
          perOutput.push(mismatch(l.name, dims(results[0]), dims(results[i]), batchSize));
          summary.unpassable();
          continue;
        }
        const stats = compareOutput(results[0], results[i], l, batchSize, tolerances[l.name]);
        perOutput.push(stats.summary);
        for (const { row, c } of stats.rows) {
          summary.add(l, c, (detail) => ({ side: labels[i], output: l.name, sample: row, ...detail }));
        }
      }
      comparisons.push({ side: labels[i], verdict: verdictOf(perOutput), outputs: perOutput });
    }

    const verdict: ComparisonVerdict = comparisons.every((c) => c.verdict === 'identical')
      ? 'identical'
      : comparisons.every((c) => c.verdict !== 'different') ? 'within-tolerance' : 'different';
    const layoutOf = (name: string) => layouts.find((l) => l.name === name);
    return {
      schema: 1,
      kind: 'provider-comparison',
      tool,
      model: {
        path: handles[0].source,
        inputs: prepared.specs.map((s) => ({ name: s.name, dtype: s.dtype, shape: s.declared, batchAxis: s.batchAxis })),
        outputs: outputs.map((o) => ({
          name: o.name,
          dtype: o.dtype,
          shape: reference.outputs.find((x) => x.name === o.name)?.shape ?? [],
          batchAxis: (layoutOf(o.name)?.batchAxis ?? -1) >= 0 ? (layoutOf(o.name) as OutputLayout).batchAxis : null,
        })),
        dims: prepared.dims,
        defaultedDims: prepared.defaultedDims,
      },
      samples: { source: prepared.source, seed: prepared.seed, count, batchSize },
      fingerprint: sideReports[0].fingerprint,
      sides: sideReports,
      tolerance: Object.fromEntries(Object.entries(tolerances).map(([k, t]) => [k, describeTolerance(t)])),
      verdict,
      summary: summarize(verdict, comparisons, labels[0], batchSize),
      comparisons,
      minimumTolerance: summary.minimum,
      worst: summary.worst,
      notes,
      runs: labels.map((side, i) => ({ side, batchSize: sizes[i], calls: 2 * results[i].length })),
      timing: { totalMs: Math.round(now() - started), inferenceMs: Math.round(inferenceMs) },
    };
  } finally {
    await Promise.all(handles.map((h) => h.close()));
  }
}

/**
 * What tells two sides apart: the session onnxruntime makes from their settings, its defaults
 * filled in. { provider: 'cpu' } and { provider: 'cpu', optimization: 'all', deterministic: false }
 * make the same session, as do deterministic: true and the config entry it sets, and wasm with
 * and without threads: 1 (onnxruntime-web's thread count here, wasmThreads).
 */
function fingerprintKey(s: SessionSettings): unknown {
  const provider = s.provider ?? 'cpu';
  const config: Record<string, string> = {};
  const flatten = (value: unknown, prefix: string) => {
    for (const [k, v] of Object.entries((value ?? {}) as Record<string, unknown>)) {
      if (typeof v === 'object' && v !== null) flatten(v, `${prefix}${k}.`);
      else config[`${prefix}${k}`] = String(v);
    }
  };
  flatten((sessionOptions(s) as { extra?: unknown }).extra, '');
  if (config['session.use_deterministic_compute'] === '0') delete config['session.use_deterministic_compute']; // onnxruntime's default
  const sorted = (o: Record<string, unknown>) => Object.keys(o).sort().map((k) => [k, o[k]]);
  return {
    provider,
    threads: provider === 'wasm' ? wasmThreads(s) : s.threads ?? 'default',
    interOpThreads: s.interOpThreads ?? 'default',
    optimization: s.optimization ?? 'all',
    executionMode: s.executionMode ?? 'sequential',
    memoryArena: s.memoryArena ?? true,
    config: sorted(config),
    providerOptions: sorted(s.providerOptions ?? {}),
  };
}

function uniqueLabels(labels: string[]): string[] {
  return labels.map((l, i) => (labels.indexOf(l) !== i || labels.lastIndexOf(l) !== i ? `${l} #${i + 1}` : l));
}

/**
 * Each output's batch axis, to compare sample by sample (cosine is per sample). The one batch
 * size gives no scaling to detect, so it comes from the declared dims or --shape; an output
 * without one is compared whole, as a single row (batchAxis -1).
 */
function sampleLayouts(handle: ModelHandle, names: string[], size: number, result: Record<string, ort.Tensor>, shapes: InputOptions['shapes']): OutputLayout[] {
  return names.map((name) => {
    try {
      return detectLayouts(handle, [name], size, result, null, null, shapes)[0];
    } catch (e) {
      if (!(e instanceof BadInputError)) throw e;
      const t = result[name];
      return { name, dtype: t.type, batchAxis: -1, sampleDims: [...t.dims] };
    }
  });
}

/** One run of a side: `size` samples from `start`, and its outputs. */
interface Chunk {
  start: number;
  size: number;
  outputs: Record<string, ort.Tensor>;
}

/** An output's dims for one sample (the whole output when it has no batch axis), the same for every batch. */
function sampleDimsOf(chunks: readonly Chunk[], layout: OutputLayout): number[] {
  const { dims } = chunks[0].outputs[layout.name];
  return layout.batchAxis < 0 ? [...dims] : dims.map((d, i) => (i === layout.batchAxis ? d / chunks[0].size : d));
}

/** Sample s's slice of an output, from whichever of the side's batches ran it. */
function sampleRow(chunks: readonly Chunk[], layout: OutputLayout, s: number): TypedArray {
  const chunk = chunks.find((c) => s >= c.start && s < c.start + c.size) as Chunk;
  const t = chunk.outputs[layout.name];
  if (layout.batchAxis < 0) return t.data as TypedArray;
  const per = t.dims[layout.batchAxis] / chunk.size;
  const k = s - chunk.start;
  const data = t.data as TypedArray;
  // The batch first (the usual case): the sample's rows lie together in the batch's data, read
  // in place (a copy a sample cost a [512, 30522] logits head 125 MB of copying, both sides).
  if (layout.batchAxis === 0 && ArrayBuffer.isView(data)) {
    const inner = data.length / t.dims[0];
    return data.subarray(k * per * inner, (k + 1) * per * inner) as TypedArray;
  }
  return takeRows(data, t.dims, layout.batchAxis, Array.from({ length: per }, (_, j) => k * per + j), layout.dtype);
}

function compareOutput(expected: readonly Chunk[], actual: readonly Chunk[], layout: OutputLayout, batchSize: number, tolerance: Parameters<typeof compareArrays>[3]) {
  const rows: { row: number; c: Comparison }[] = [];
  const samples = layout.batchAxis < 0 ? 1 : batchSize;
  const errors = new DecadeHistogram();
  for (let s = 0; s < samples; s++) {
    const e = sampleRow(expected, layout, s);
    const a = sampleRow(actual, layout, s);
    const c = compareArrays(e, a, layout.dtype, tolerance);
    rows.push({ row: s, c });
    // The element errors, on the same rows while they are in cache; equal rows need no look.
    if (c.bitExact) errors.addZeros(e.length);
    else errors.addDifferences(e, a, layout.dtype);
  }
  const summary: OutputComparison = {
    output: layout.name,
    maxAbs: Math.max(0, ...rows.map((r) => r.c.maxAbs)),
    maxRel: Math.max(0, ...rows.map((r) => r.c.maxRel)),
    maxUlp: Math.max(0, ...rows.map((r) => r.c.maxUlp)),
    maxL1: Math.max(0, ...rows.map((r) => r.c.l1)),
    minCosine: Math.min(1, ...rows.map((r) => (Number.isNaN(r.c.cosine) ? -Infinity : r.c.cosine))),
    bitExact: rows.every((r) => r.c.bitExact),
    equalRows: rows.filter((r) => r.c.bitExact).length,
    comparedRows: rows.length,
    pass: rows.every((r) => r.c.pass),
    shapeMismatch: null,
    errorHistogram: errors.result(),
  };
  return { rows, summary };
}

function mismatch(output: string, expected: readonly number[], actual: readonly number[], batchSize: number): OutputComparison {
  return {
    output,
    maxAbs: Infinity,
    maxRel: Infinity,
    maxUlp: Infinity,
    maxL1: Infinity,
    minCosine: -Infinity,
    bitExact: false,
    equalRows: 0,
    comparedRows: batchSize,
    pass: false,
    shapeMismatch: { expected: [...expected], actual: [...actual] },
    errorHistogram: emptyHistogram(),
  };
}

function verdictOf(outputs: OutputComparison[]): ComparisonVerdict {
  if (outputs.every((o) => o.bitExact)) return 'identical';
  return outputs.every((o) => o.pass) ? 'within-tolerance' : 'different';
}

function summarize(verdict: ComparisonVerdict, comparisons: SideComparison[], reference: string, batchSize: number): string {
  const batch = `${batchSize} sample${batchSize === 1 ? '' : 's'}`;
  if (verdict === 'identical') return `every side is bitwise equal to ${reference} on ${batch}`;
  const parts = comparisons.map((c) => {
    const worst = Math.max(0, ...c.outputs.map((o) => o.maxAbs));
    if (c.verdict === 'identical') return `${c.side}: bitwise equal`;
    if (c.outputs.some((o) => o.shapeMismatch)) return `${c.side}: output shapes differ`;
    return `${c.side}: differs by at most ${approx(worst)}${c.verdict === 'different' ? ', beyond the tolerance' : ', within the tolerance'}`;
  });
  return `against ${reference} on ${batch}: ${parts.join('; ')}`;
}
