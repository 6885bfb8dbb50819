/**
 * checkRunningStats: are the running statistics stored in each BatchNormalization node the
 * statistics of the data it sees (or of the training checkpoint)? Also flags nodes left in
 * training mode, missing statistics, and models whose BatchNorms were folded away on export.
 */
import path = require('path');
import { BadInputError, formatValue } from '../errors';
import { fingerprintFor } from '../runtime/fingerprint';
import type { NumericArray } from '../io';
import { readArrayFile } from '../io';
import { openModelBytes, type ModelSource } from '../runtime/handle';
import type { SessionSettings } from '../runtime/settings';
import { findBatchNorms, type BatchNormFacts, type BatchNormScan } from '../onnx/batchnorm';
import { hasExternalData, modelBytes, type ModelBytes } from '../runtime/model-bytes';
import { rejectUnknownOptions, SESSION_OPTION_KEYS, validateOptions, type OptionType } from '../options';
import { num } from '../report/format';
import { tool } from '../version';
import { loadCheckpoint, looksLikeCheckpoint, matchLayer, statKeys, type Checkpoint, type LoadedCheckpoint } from './checkpoint';
import { collectInputStats, comparable } from './collect';
import { calibrationBatches, isBatchSequence, type CalibrationData, type DataOptions } from './data';
import type { CheckpointReport, LayerReport, StatsProblem, StatsReport, WorstChannel } from './report';
import { now } from '../runtime/clock';

/** When a layer fails against calibration data. */
export interface StatsTolerance {
  /** Largest |mean - running_mean| / sqrt(running_var + eps) allowed (default 0.5). */
  z?: number;
  /** var / running_var must lie in [1/R, R] (a number R, default 2) or in [lo, hi]. */
  ratio?: number | [number, number];
}

export const DEFAULT_STATS_TOLERANCE = { z: 0.5, ratio: [0.5, 2] as [number, number] };

/**
 * Against a checkpoint the stored numbers should be the checkpoint's own, up to float16
 * rounding: z and |ratio - 1| at most 1e-3, scale and bias within 1e-3 relative.
 */
export const CHECKPOINT_TOLERANCE = 1e-3;

/** Options of checkRunningStats: the calibration data or checkpoint to compare with, and the tolerance. */
export interface RunningStatsOptions extends SessionSettings, DataOptions {
  tolerance?: StatsTolerance;
  /** Calibration data (the `reference` argument may give it instead). */
  data?: CalibrationData;
  /** A checkpoint (the `reference` argument may give it instead). */
  checkpoint?: Checkpoint;
}

/** The calibration-data options (DataOptions) shared by checkRunningStats and recalibrate. */
export const DATA_OPTION_KEYS = ['batchSize', 'shapes', 'dims', 'consts'] as const;
/** Every option checkRunningStats takes; any other key is a BadInputError, never ignored. */
export const RUNNING_STATS_OPTION_KEYS = [...SESSION_OPTION_KEYS, ...DATA_OPTION_KEYS, 'tolerance', 'data', 'checkpoint'] as const;

/**
 * What to compare the stored statistics with: calibration data, a checkpoint, or both as
 * `{ data, checkpoint }`. A path or a record of named arrays is a checkpoint when its names are
 * state_dict statistics (`bn2.running_mean`), and calibration data otherwise.
 */
export type StatsReference = CalibrationData | { data?: CalibrationData; checkpoint?: Checkpoint };

export function resolveStatsTolerance(t: StatsTolerance | undefined): { z: number; ratio: [number, number] } {
  if (t !== undefined && (typeof t !== 'object' || t === null || Array.isArray(t))) {
    throw new BadInputError(`tolerance must be an object such as { z: 0.5, ratio: 2 }, got ${formatValue(t)}`);
  }
  if (t !== undefined) rejectUnknownOptions(t, ['z', 'ratio'], 'tolerance');
  const z = t?.z ?? DEFAULT_STATS_TOLERANCE.z;
  if (typeof z !== 'number' || !(z > 0) || !Number.isFinite(z)) {
    throw new BadInputError(`tolerance z must be a positive finite number, got ${formatValue(z)}; for example z=0.5`);
  }
  const r: unknown = t?.ratio ?? DEFAULT_STATS_TOLERANCE.ratio;
  const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
  let ratio: [number, number];
  if (typeof r === 'number') {
    if (!(r >= 1) || !Number.isFinite(r)) throw new BadInputError(`tolerance ratio must be a finite number of at least 1 (var/running_var in [1/R, R]), got ${formatValue(r)}; for example ratio=2`);
    ratio = [1 / r, r];
  } else if (Array.isArray(r) && r.length === 2 && 0 in r && 1 in r && r.every((x) => finite(x) && x > 0) && r[0] <= 1 && r[1] >= 1) {
    ratio = [r[0], r[1]];
  } else {
    const reversed = Array.isArray(r) && r.length === 2 && r.every((x) => finite(x) && x > 0) && r[0] >= 1 && r[1] <= 1;
    throw new BadInputError(
      `tolerance ratio must be R >= 1 or [lo, hi] with 0 < lo <= 1 <= hi${reversed ? ' (low first)' : ''}, got ${formatValue(r)}; for example ratio=2 or ratio=${reversed ? `${(r as number[])[1]}:${(r as number[])[0]}` : '0.5:2'}`,
    );
  }
  return { z, ratio };
}

/** Calibration data as the API takes it: a path, arrays or tensors, a record, or (async) iterable batches. */
function dataProblem(v: unknown): string | null {
  if (typeof v === 'string') return v === '' ? 'must not be empty: give the path of an .npy, .npz or .safetensors file' : null;
  return typeof v === 'object' && v !== null ? null : 'must be calibration data: a path to an .npy/.npz/.safetensors file, arrays or tensors, a record of them by input name, or an (async) iterable of such batches';
}

const STATS_OPTION_TYPES: Record<string, OptionType | null> = {
  // resolveStatsTolerance says what is wrong with a tolerance in its own words.
  tolerance: null,
  data: { check: dataProblem, example: "data: 'calibration.npz'" },
  checkpoint: {
    check: (v) => (typeof v === 'string' ? (v === '' ? 'must not be empty' : null) : typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v) ? null : 'must be a path to a .safetensors/.npz file or an object of named arrays (state_dict names)'),
    example: "checkpoint: 'model.safetensors'",
  },
};

/** Calibration data given as an argument (recalibrate's `data`, checkRunningStats's `reference`). */
export function checkDataArgument(v: unknown, where: string, what: string): void {
  const problem = dataProblem(v);
  if (problem) throw new BadInputError(`${where}: ${what} ${problem}, got ${formatValue(v)}; for example ${where}(model, 'calibration.npz')`);
}

/** The CLI form: "z=0.5,ratio=2" or "z=1,ratio=0.8:1.25" (either part may be left out). */
export function parseStatsTolerance(text: string): StatsTolerance {
  const out: StatsTolerance = {};
  const help = 'expected z=Z,ratio=R (or ratio=LO:HI), e.g. --tolerance z=0.5,ratio=2';
  // Every item is z=Z or ratio=R: an empty one (`z=1,,ratio=2`) is refused, as --tolerance of check refuses it.
  for (const part of text.split(',').map((p) => p.trim())) {
    const [key, value] = part.split('=').map((s) => s.trim());
    // As check's --tolerance: a key given twice is a typo, not "the last one wins".
    if ((key === 'z' || key === 'ratio') && key in out) throw new BadInputError(`--tolerance ${text}: ${key} is given twice; give it once`);
    if (key === 'z' && value && Number.isFinite(Number(value))) out.z = Number(value);
    else if (key === 'ratio' && value && /^[^:]+:[^:]+$/.test(value) && value.split(':').every((v) => Number.isFinite(Number(v)))) out.ratio = value.split(':').map(Number) as [number, number];
    else if (key === 'ratio' && value && Number.isFinite(Number(value))) out.ratio = Number(value);
    else throw new BadInputError(`--tolerance ${text}: ${help}`);
  }
  // resolveStatsTolerance's line, said about the flag as the user wrote it.
  try {
    resolveStatsTolerance(out);
  } catch (e) {
    if (e instanceof BadInputError) throw new BadInputError(`--tolerance ${text}: ${e.message.replace(/^tolerance /, '')}`);
    throw e;
  }
  return out;
}

function isPlainRecord(x: unknown): x is Record<string, unknown> {
  return (
    typeof x === 'object' && x !== null && !Array.isArray(x) && !ArrayBuffer.isView(x) &&
    !('dims' in x && 'data' in x) && !isBatchSequence(x)
  );
}

interface Resolved {
  data?: CalibrationData;
  dataLabel?: string;
  checkpoint?: Checkpoint;
  checkpointArrays?: Record<string, NumericArray>;
}

/** Sorts the reference into calibration data and a checkpoint. */
async function resolveReference(reference: StatsReference | undefined, options: RunningStatsOptions): Promise<Resolved> {
  const out = await referenceOf(reference, options);
  // The reference replaced what options gave: one of the two would be dropped without a word.
  if (options.data !== undefined && out.data !== options.data) {
    throw new BadInputError('checkRunningStats: calibration data is given twice (as the reference and as options.data); give it once');
  }
  if (options.checkpoint !== undefined && out.checkpoint !== options.checkpoint) {
    throw new BadInputError('checkRunningStats: a checkpoint is given twice (as the reference and as options.checkpoint); give it once');
  }
  return out;
}

async function referenceOf(reference: StatsReference | undefined, options: RunningStatsOptions): Promise<Resolved> {
  const out: Resolved = { data: options.data, checkpoint: options.checkpoint };
  if (typeof out.data === 'string') out.dataLabel = out.data;
  if (reference === undefined) return out;
  if (isPlainRecord(reference) && Object.keys(reference).length > 0 && Object.keys(reference).every((k) => k === 'data' || k === 'checkpoint')) {
    const r = reference as { data?: CalibrationData; checkpoint?: Checkpoint };
    if (r.data !== undefined) {
      out.data = r.data;
      if (typeof r.data === 'string') out.dataLabel = r.data;
    }
    if (r.checkpoint !== undefined) out.checkpoint = r.checkpoint;
    return out;
  }
  if (typeof reference === 'string') {
    const ext = path.extname(reference).toLowerCase();
    if (ext === '.safetensors' || ext === '.npz') {
      // One read decides: state_dict statistics make it a checkpoint.
      const arrays = await readArrayFile(reference);
      if (looksLikeCheckpoint(Object.keys(arrays))) {
        out.checkpoint = reference;
        out.checkpointArrays = arrays;
      } else {
        out.data = arrays as unknown as CalibrationData;
        out.dataLabel = reference;
      }
      return out;
    }
    out.data = reference;
    out.dataLabel = reference;
    return out;
  }
  if (isPlainRecord(reference) && looksLikeCheckpoint(Object.keys(reference))) {
    out.checkpoint = reference as Checkpoint;
    return out;
  }
  out.data = reference as CalibrationData;
  return out;
}

const FOLDED =
  'the model has no BatchNormalization nodes. If the network has BatchNorm layers, the exporter folded them into the preceding Conv ' +
  '(torch.onnx.export does this when exporting in eval mode with constant folding, the default), so no running statistics are left to check; ' +
  'export with do_constant_folding=False or training=torch.onnx.TrainingMode.PRESERVE to keep them';

/**
 * Checks the running statistics of every BatchNormalization node against calibration data
 * and/or a checkpoint (with neither, only the structural checks run). Returns the report; the
 * CLI prints the same object.
 */
export async function checkRunningStats(model: ModelSource, reference?: StatsReference, options: RunningStatsOptions = {}): Promise<StatsReport> {
  const started = now();
  validateOptions(options, RUNNING_STATS_OPTION_KEYS, 'checkRunningStats', STATS_OPTION_TYPES);
  if (reference !== undefined && !(typeof reference === 'object' && reference !== null) && !(typeof reference === 'string' && reference !== '')) {
    throw new BadInputError(`checkRunningStats: the reference must be calibration data (a path, arrays, batches), a checkpoint (a path or named arrays) or { data, checkpoint }, got ${formatValue(reference)}; for example checkRunningStats(model, 'calibration.npz')`);
  }
  const tolerance = resolveStatsTolerance(options.tolerance);
  const mb = modelBytes(model, 'checking running statistics');
  const settings = sessionSettings(mb.settings, options);
  const scan = findBatchNorms(mb.bytes, { source: mb.source, dir: mb.dir });
  const resolved = await resolveReference(reference, options);
  if (options.tolerance !== undefined && resolved.data === undefined && resolved.checkpoint === undefined) {
    // A tolerance bounds a comparison with a reference: without one it would be silently unused.
    throw new BadInputError('a stats tolerance compares the stored statistics with a reference, but none was given; give calibration data or a checkpoint (CLI --data, --checkpoint), or leave the tolerance out');
  }
  const problems: StatsProblem[] = [];
  const notes: string[] = [];
  const layers: LayerReport[] = [];
  let inferenceMs = 0;
  let dataInfo: StatsReport['reference']['data'] = null;
  let checkpointInfo: CheckpointReport | null = null;

  if (scan.batchNorms.length === 0) {
    problems.push({ kind: 'no-batchnorm', node: null, detail: FOLDED });
    if (scan.foldTargets === 0) notes.push('the model has no Conv, Gemm or MatMul either: it may simply have no normalisation layers');
  }
  // Layers that fail whatever their statistics: in training mode, or with no stored statistics.
  const structural = new Map<string, StatsProblem['kind']>();
  for (const bn of scan.batchNorms) {
    if (bn.trainingMode) {
      structural.set(bn.node, 'training-mode');
      problems.push({
        kind: 'training-mode',
        node: bn.node,
        detail: `runs in training mode (${bn.trainingReason}), so each sample's output depends on its batch-mates and the stored statistics are ignored; export after model.eval() (torch.onnx.export(..., training=torch.onnx.TrainingMode.EVAL))`,
      });
    }
    const missing = [bn.mean, bn.var].filter((p) => p.stored === null).map((p) => `'${p.name || '(none)'}'`);
    if (missing.length > 0) {
      if (!structural.has(bn.node)) structural.set(bn.node, 'missing-stats');
      problems.push({
        kind: 'missing-stats',
        node: bn.node,
        detail: `its running ${missing.length === 2 ? 'mean and variance' : bn.mean.stored ? 'variance' : 'mean'} (${missing.join(', ')}) ${missing.length === 2 ? 'are' : 'is'} not stored in the model (a graph input or computed by other nodes), so there is nothing to check; export with the statistics as initializers (track_running_stats=True in PyTorch)`,
      });
    }
    if (!bn.spatial) notes.push(`${bn.node}: spatial=0 (statistics per activation, not per channel) is not checked`);
    const invalid = invalidStored(bn);
    if (invalid) {
      if (!structural.has(bn.node)) structural.set(bn.node, 'invalid-stats');
      problems.push({
        kind: 'invalid-stats',
        node: bn.node,
        detail: `${invalid}, so every output of this layer is NaN or meaningless whatever the data; recalibrate (batchproof recalibrate) or re-export from a healthy checkpoint`,
      });
    }
  }

  const comparableLayers = scan.batchNorms.filter(comparable);
  // The data run opens the (instrumented) model anyway; otherwise open it once here, so a model
  // onnxruntime cannot run is bad input, never 'no-batchnorm' or a healthy verdict.
  if (!(resolved.data !== undefined && comparableLayers.length > 0)) {
    await assertLoads(mb, scan, settings, resolved.data === undefined ? undefined : { data: resolved.data, options, label: resolved.dataLabel });
  }
  if (resolved.data !== undefined && comparableLayers.length > 0) {
    const collected = await collectInputStats(mb.bytes, scan, comparableLayers, resolved.data, {
      ...options,
      settings,
      source: mb.source,
      dir: mb.dir,
      dataLabel: resolved.dataLabel,
      store: mb.store,
    });
    inferenceMs += collected.inferenceMs;
    dataInfo = { source: resolved.dataLabel ?? describeData(resolved.data), batches: collected.batches, samples: collected.samples };
    for (const bn of scan.batchNorms) {
      const m = collected.moments.get(bn.node);
      if (!m) {
        layers.push(emptyLayer(bn, 'data'));
        continue;
      }
      const layer = compareLayer(bn, m.mean, m.variance, tolerance, 'data');
      layers.push(layer);
      // Stored NaN is told once, as invalid-stats, not again as a mismatch with the data.
      if (!layer.pass && structural.get(bn.node) !== 'invalid-stats') problems.push({ kind: 'stale-stats', node: bn.node, detail: staleDetail(layer, tolerance) });
    }
  } else if (resolved.data !== undefined) {
    dataInfo = { source: resolved.dataLabel ?? describeData(resolved.data), batches: 0, samples: 0 };
    if (scan.batchNorms.length > 0) notes.push('no BatchNorm layer stores comparable statistics, so the calibration data was not run');
  }

  if (resolved.checkpoint !== undefined) {
    const loaded: LoadedCheckpoint = resolved.checkpointArrays
      ? await loadCheckpoint(resolved.checkpointArrays as unknown as Checkpoint).then((l) => ({ ...l, source: resolved.checkpoint as string }))
      : await loadCheckpoint(resolved.checkpoint);
    const result = compareCheckpoint(scan, loaded);
    checkpointInfo = result.info;
    layers.push(...result.layers);
    problems.push(...result.problems);
  }

  if (resolved.data === undefined && resolved.checkpoint === undefined) {
    for (const bn of scan.batchNorms) layers.push(emptyLayer(bn, null));
    if (scan.batchNorms.length > 0) notes.push('no calibration data or checkpoint given: only training mode and missing statistics were checked');
  }

  // A layer in training mode ignores its stored statistics, and one without them has none: either
  // fails, whatever its statistics compared to (issue 4: firstMismatch is the first failing layer).
  for (const layer of layers) if (structural.has(layer.node)) layer.pass = false;
  // Topological order (data layers before checkpoint layers of the same node).
  const order = new Map(scan.batchNorms.map((bn) => [bn.node, bn.index]));
  layers.sort((a, b) => (order.get(a.node) ?? 0) - (order.get(b.node) ?? 0));
  const firstMismatch = layers.find((l) => !l.pass) ?? null;
  if (firstMismatch && !structural.has(firstMismatch.node) && firstMismatch.against === 'data' && firstMismatch.node === scan.batchNorms[0]?.node) {
    notes.push(
      `${firstMismatch.node} is the first BatchNorm the data reaches: if the later layers fail too, check the calibration data's preprocessing (scaling, mean/std normalisation, channel order) before the stored statistics`,
    );
  }
  const kind = resolved.data !== undefined && resolved.checkpoint !== undefined ? 'data+checkpoint' : resolved.data !== undefined ? 'data' : resolved.checkpoint !== undefined ? 'checkpoint' : 'none';
  return {
    schema: 1,
    kind: 'running-stats',
    tool,
    model: { path: mb.source, opset: scan.graph.opset, batchNorms: scan.batchNorms.length },
    fingerprint: fingerprintFor(settings),
    reference: { kind, data: dataInfo, checkpoint: checkpointInfo },
    tolerance,
    verdict: problems.length === 0 ? 'healthy' : 'problems',
    problems,
    layers,
    firstMismatch,
    summary: summarize(scan, problems, layers, firstMismatch, firstMismatch ? structural.get(firstMismatch.node) : undefined),
    notes,
    timing: { totalMs: Math.round(now() - started), inferenceMs: Math.round(inferenceMs) },
  };
}

/**
 * Opens a session on the model as it is and closes it: BadInputError when onnxruntime cannot.
 * Calibration data that nothing will run (no BatchNorm to compare) is still checked against the
 * model's inputs, as a run would check it: bad data is bad input whatever the model holds.
 */
async function assertLoads(mb: ModelBytes, scan: BatchNormScan, settings: SessionSettings, unrun?: { data: CalibrationData; options: DataOptions; label?: string }): Promise<void> {
  const external = hasExternalData(scan.model.graph?.initializer ?? []) ? mb.dir : undefined;
  const runner = await openModelBytes(mb.bytes, settings, { label: mb.source, externalDir: external, graphFrom: null });
  try {
    // Each batch is checked as it is made; none is run.
    if (unrun) for await (const batch of calibrationBatches(unrun.data, runner.inputs, unrun.options, unrun.label)) void batch;
  } finally {
    await runner.close();
  }
}

/** What is wrong with a layer's stored numbers (NaN, Infinity, a negative variance), or null. */
function invalidStored(bn: BatchNormFacts): string | null {
  const parts: string[] = [];
  for (const [what, p] of [['running_mean', bn.mean], ['running_var', bn.var], ['scale', bn.scale], ['bias', bn.bias]] as const) {
    const values = p.stored?.values;
    if (!values) continue;
    let nonFinite = 0;
    let negative = 0;
    for (const v of values) {
      if (!Number.isFinite(v)) nonFinite++;
      else if (what === 'running_var' && v < 0) negative++;
    }
    const name = p.name ? ` '${p.name}'` : '';
    if (nonFinite > 0) parts.push(`its stored ${what}${name} holds ${nonFinite} non-finite value${nonFinite === 1 ? '' : 's'} (NaN or Infinity) of ${values.length}`);
    if (negative > 0) parts.push(`its stored running_var${name} holds ${negative} negative value${negative === 1 ? '' : 's'} (a variance is never below 0)`);
  }
  return parts.length > 0 ? parts.join('; ') : null;
}

/** The session settings: the handle's, overridden by the options' own. */
export function sessionSettings(base: SessionSettings, options: SessionSettings): SessionSettings {
  const out: Record<string, unknown> = { ...base };
  for (const k of SESSION_OPTION_KEYS) if (options[k] !== undefined) out[k] = options[k];
  return out as SessionSettings;
}

function describeData(data: CalibrationData): string {
  if (typeof data === 'string') return data;
  if (isBatchSequence(data)) return '<batches>';
  return '<arrays>';
}

function emptyLayer(bn: BatchNormFacts, against: LayerReport['against']): LayerReport {
  return {
    node: bn.node,
    input: bn.input,
    channels: bn.channels,
    maxZ: null,
    varRatio: null,
    pass: true,
    against,
    worstChannel: null,
    trainingMode: bn.trainingMode,
    epsilon: bn.epsilon,
    momentum: bn.momentum,
    runningMean: bn.mean.name,
    runningVar: bn.var.name,
  };
}

/**
 * Per channel: z = |mean - running_mean| / sqrt(running_var + eps), ratio = var / running_var,
 * where mean/var are the reference's (data or checkpoint) and running_* the model's.
 */
function compareLayer(
  bn: BatchNormFacts,
  mean: Float64Array,
  variance: Float64Array,
  tolerance: { z: number; ratio: [number, number] },
  against: 'data' | 'checkpoint',
  stored: { mean: Float64Array; var: Float64Array } = { mean: bn.mean.stored?.values as Float64Array, var: bn.var.stored?.values as Float64Array },
): LayerReport {
  let maxZ = 0;
  let lo = Infinity;
  let hi = -Infinity;
  let worst: WorstChannel | null = null;
  let worstScore = -1;
  const C = Math.min(mean.length, stored.mean.length, stored.var.length, variance.length);
  for (let c = 0; c < C; c++) {
    const rm = stored.mean[c] as number;
    const rv = stored.var[c] as number;
    const z = Math.abs((mean[c] as number) - rm) / Math.sqrt(Math.max(0, rv) + bn.epsilon);
    const v = variance[c] as number;
    const ratio = rv === 0 ? (v === 0 ? 1 : Infinity) : v / rv;
    const zz = Number.isNaN(z) ? Infinity : z;
    const rr = Number.isNaN(ratio) ? Infinity : ratio;
    maxZ = Math.max(maxZ, zz);
    lo = Math.min(lo, rr);
    hi = Math.max(hi, rr);
    // How far outside (or how close to the edge of) the tolerance this channel is.
    const score = Math.max(zz / tolerance.z, Math.log(Math.max(rr, 1e-300)) / Math.log(rr >= 1 ? tolerance.ratio[1] : tolerance.ratio[0]));
    if (score > worstScore) {
      worstScore = score;
      worst = { channel: c, z: zz, ratio: rr, mean: mean[c] as number, var: v, runningMean: rm, runningVar: rv };
    }
  }
  const pass = C > 0 && maxZ <= tolerance.z && lo >= tolerance.ratio[0] && hi <= tolerance.ratio[1];
  return {
    ...emptyLayer(bn, against),
    maxZ,
    varRatio: [lo, hi],
    pass,
    worstChannel: worst,
  };
}

function staleDetail(layer: LayerReport, tolerance: { z: number; ratio: [number, number] }): string {
  const w = layer.worstChannel as WorstChannel;
  const [lo, hi] = layer.varRatio as [number, number];
  return (
    `the stored running statistics do not match the data it sees: max z ${num(layer.maxZ as number)} (limit ${tolerance.z}), var ratio ${num(lo)}..${num(hi)} (limit ${num(tolerance.ratio[0])}..${num(tolerance.ratio[1])}); ` +
    `worst channel ${w.channel}: data mean ${num(w.mean)} vs running_mean ${num(w.runningMean)}, data var ${num(w.var)} vs running_var ${num(w.runningVar)}. ` +
    'Recalibrate on representative data (batchproof recalibrate) or re-export from the right checkpoint'
  );
}

/**
 * A checkpoint in which no BatchNorm layer of the model finds its statistics is another file
 * (calibration data, another model's weights), not a model with every layer mismatched: bad input.
 */
function noLayerMatches(ckpt: LoadedCheckpoint, missing: CheckpointReport['missing']): BadInputError {
  const list = (names: readonly string[]) => `${names.slice(0, 4).map((k) => `'${k}'`).join(', ')}${names.length > 4 ? ', ...' : ''}`;
  const keys = [...ckpt.entries.keys()];
  const wanted = missing.map((m) => m.tried[0]).filter((t): t is string => t !== undefined);
  return new BadInputError(
    `${ckpt.source}: no BatchNorm layer of the model finds its statistics here, so this is not the model's checkpoint: it holds ${keys.length} array${keys.length === 1 ? '' : 's'} (${list(keys)}) and the model's ${missing.length} layers look for ${list(wanted)}; give the state_dict the model was exported from (saved with safetensors), or give calibration samples as data (CLI --data) instead`,
  );
}

function compareCheckpoint(scan: BatchNormScan, ckpt: LoadedCheckpoint): { info: CheckpointReport; layers: LayerReport[]; problems: StatsProblem[] } {
  const layers: LayerReport[] = [];
  const problems: StatsProblem[] = [];
  const used = new Set<string>();
  const missing: CheckpointReport['missing'] = [];
  let matched = 0;
  const tol = { z: CHECKPOINT_TOLERANCE, ratio: [1 - CHECKPOINT_TOLERANCE, 1 + CHECKPOINT_TOLERANCE] as [number, number] };
  for (const bn of scan.batchNorms) {
    const { match, tried } = matchLayer(bn, ckpt.entries);
    if (!match) {
      missing.push({ node: bn.node, tried });
      problems.push({
        kind: 'checkpoint-mismatch',
        node: bn.node,
        detail: `the checkpoint has no statistics for this layer (looked for ${tried.map((t) => `'${t}'`).join(', ')}); is it the checkpoint of this model?`,
      });
      layers.push({ ...emptyLayer(bn, 'checkpoint'), pass: false });
      continue;
    }
    Object.values(match.keys).forEach((k) => used.add(k as string));
    const key = (s: 'running_mean' | 'running_var' | 'weight' | 'bias') => match.keys[s];
    const meanKey = key('running_mean');
    const varKey = key('running_var');
    if (!meanKey || !varKey) {
      const has = Object.values(match.keys).map((k) => `'${k}'`).join(', ');
      problems.push({
        kind: 'missing-stats',
        node: bn.node,
        detail: `the checkpoint has ${has} but no running_${meanKey ? 'var' : 'mean'} for '${match.prefix}': the layer was trained with track_running_stats=False and always uses batch statistics, so the exported model's stored statistics come from nowhere`,
      });
      layers.push({ ...emptyLayer(bn, 'checkpoint'), pass: false, checkpointPrefix: match.prefix });
      continue;
    }
    matched++;
    if (!bn.mean.stored || !bn.var.stored) {
      layers.push({ ...emptyLayer(bn, 'checkpoint'), checkpointPrefix: match.prefix });
      continue;
    }
    const cm = ckpt.entries.get(meanKey) as Float64Array;
    const cv = ckpt.entries.get(varKey) as Float64Array;
    for (const k of [meanKey, varKey, key('weight'), key('bias')]) if (k) checkCheckpointValues(ckpt, k, k === varKey);
    const channels = bn.mean.stored.values.length;
    if (cm.length !== channels || cv.length !== channels) {
      problems.push({
        kind: 'checkpoint-mismatch',
        node: bn.node,
        detail: `the model stores ${channels} channels but the checkpoint's '${meanKey}' has ${cm.length} and '${varKey}' ${cv.length}: not this model's checkpoint`,
      });
      layers.push({ ...emptyLayer(bn, 'checkpoint'), pass: false, checkpointPrefix: match.prefix });
      continue;
    }
    // Reference = the checkpoint; "running" = what the model stores.
    const layer = compareLayer(bn, cm, cv, tol, 'checkpoint', { mean: bn.mean.stored.values, var: bn.var.stored.values });
    const differences: string[] = [];
    for (const [suffix, param] of [['weight', bn.scale], ['bias', bn.bias]] as const) {
      const k = key(suffix);
      if (!k || !param.stored) continue;
      const values = ckpt.entries.get(k) as Float64Array;
      const d = maxRelDiff(param.stored.values, values);
      if (d > CHECKPOINT_TOLERANCE) differences.push(`${suffix} differs from '${k}' by up to ${num(d)} relative`);
    }
    const pass = layer.pass && differences.length === 0;
    layers.push({ ...layer, pass, checkpointPrefix: match.prefix });
    if (!pass) {
      const w = layer.worstChannel as WorstChannel;
      const stats = layer.pass
        ? ''
        : `stored running_mean/var differ from '${meanKey}'/'${varKey}' (max z ${num(layer.maxZ as number)}, var ratio ${num((layer.varRatio as [number, number])[0])}..${num((layer.varRatio as [number, number])[1])}; channel ${w.channel}: model mean ${num(w.runningMean)} vs checkpoint ${num(w.mean)}, model var ${num(w.runningVar)} vs checkpoint ${num(w.var)})`;
      problems.push({
        kind: 'checkpoint-mismatch',
        node: bn.node,
        detail: `${[stats, ...differences].filter(Boolean).join('; ')}: the model was exported from other weights, or the export changed them (a training-mode export updates the running statistics); re-export from the checkpoint after model.eval()`,
      });
    }
  }
  if (scan.batchNorms.length > 0 && missing.length === scan.batchNorms.length) throw noLayerMatches(ckpt, missing);
  const unmatched = statKeys(ckpt.entries)
    .filter((k) => !used.has(k))
    .map((key) => ({
      key,
      reason:
        scan.batchNorms.length === 0
          ? 'the model has no BatchNormalization nodes (folded into a Conv on export?)'
          : 'no BatchNormalization node of the model has this name, a node path or initializer that leads to it (folded into a Conv on export, or another model?)',
    }));
  if (unmatched.length > 0 && scan.batchNorms.length > 0) {
    problems.push({
      kind: 'checkpoint-mismatch',
      node: null,
      detail: `${unmatched.length} BatchNorm statistics of the checkpoint match no node of the model (${unmatched.slice(0, 4).map((u) => `'${u.key}'`).join(', ')}${unmatched.length > 4 ? ', ...' : ''}): some layers were folded on export, or the checkpoint belongs to another model`,
    });
  }
  return {
    info: { source: ckpt.source, entries: ckpt.entries.size, matched, unmatched, missing },
    layers,
    problems,
  };
}

/** A checkpoint tensor with NaN, Infinity or a negative variance is a damaged checkpoint: bad input. */
function checkCheckpointValues(ckpt: LoadedCheckpoint, key: string, isVar: boolean): void {
  const values = ckpt.entries.get(key) as Float64Array;
  let nonFinite = 0;
  let negative = 0;
  for (const v of values) {
    if (!Number.isFinite(v)) nonFinite++;
    else if (isVar && v < 0) negative++;
  }
  if (nonFinite > 0) {
    throw new BadInputError(`${ckpt.source}: '${key}' holds ${nonFinite} non-finite value${nonFinite === 1 ? '' : 's'} (NaN or Infinity) of ${values.length}, so it cannot be compared; the checkpoint is damaged (training diverged?): give the checkpoint the model was exported from`);
  }
  if (negative > 0) {
    throw new BadInputError(`${ckpt.source}: '${key}' holds ${negative} negative value${negative === 1 ? '' : 's'}, and a variance is never below 0; the checkpoint is damaged: give the checkpoint the model was exported from`);
  }
}

function maxRelDiff(a: Float64Array, b: Float64Array): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs((a[i] as number) - (b[i] as number)) / Math.max(Math.abs(b[i] as number), 1e-6);
    m = Math.max(m, Number.isNaN(d) ? Infinity : d);
  }
  return m;
}

function summarize(scan: BatchNormScan, problems: StatsProblem[], layers: LayerReport[], first: LayerReport | null, firstKind: StatsProblem['kind'] | undefined): string {
  if (scan.batchNorms.length === 0) return 'no BatchNormalization nodes: nothing to check (folded into Conv on export?)';
  if (problems.length === 0) {
    const compared = layers.filter((l) => l.maxZ !== null).length;
    return compared > 0
      ? `all ${scan.batchNorms.length} BatchNorm layers match their reference (largest z ${num(Math.max(...layers.map((l) => l.maxZ ?? 0)))})`
      : `${scan.batchNorms.length} BatchNorm layers, all in inference mode with stored statistics`;
  }
  const kinds = [...new Set(problems.map((p) => p.kind))];
  const head = `${problems.length} problem${problems.length === 1 ? '' : 's'} (${kinds.join(', ')})`;
  if (!first) return head;
  return firstKind
    ? `${head}; first mismatch at ${first.node} (${firstKind}): later layers inherit its output, so look there first`
    : `${head}; first mismatch at ${first.node}: later layers inherit its shift, so look there first`;
}
