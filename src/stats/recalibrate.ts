/**
 * recalibrate: a copy of the model whose BatchNorm running statistics are those of calibration
 * data, the usual workaround when the stored statistics are stale.
 *
 * A layer's input depends on the statistics of the BatchNorms upstream of it, so layers are
 * recalibrated in waves: first those with no (inference-mode) BatchNorm upstream, then those
 * whose upstream BatchNorms are all done, and so on; each wave runs the data through the model
 * with the earlier waves' new statistics in place. Checking the written model against the same
 * data then finds every layer matching (z near 0, ratio near 1).
 *
 * Only the mean and variance initializers are rewritten (spliced into the model's bytes);
 * every other byte of the model, weights and unknown fields included, is kept as it was.
 */
import fs = require('fs');
import path = require('path');
import { BadInputError } from '../errors';
import { fingerprintFor, type Fingerprint } from '../runtime/fingerprint';
import { writeFileAtomic } from '../io/atomic';
import { checkOutputPath as checkWritablePath } from '../io/paths';
import type { ModelSource } from '../runtime/handle';
import type { SessionSettings } from '../runtime/settings';
import { findBatchNorms, type BatchNormFacts, type BatchNormScan } from '../onnx/batchnorm';
import { spliceModel, type InitializerData } from '../onnx/instrument';
import { modelBytes } from '../runtime/model-bytes';
import { SESSION_OPTION_KEYS, validateOptions } from '../options';
import { tool } from '../version';
import { checkDataArgument, DATA_OPTION_KEYS, sessionSettings } from './check';
import { collectInputStats } from './collect';
import { isBatchSequence, type CalibrationData, type DataOptions } from './data';
import type { Samples } from '../inputs/samples';
import type { ReportEnvelope, ReportTiming } from '../report/envelope';
import { now } from '../runtime/clock';

/** How recalibrate opens the model and batches the data (no tolerance: nothing is compared). */
export interface RecalibrateOptions extends SessionSettings, DataOptions {}

/** Every option recalibrate takes; any other key is a BadInputError, never ignored. */
export const RECALIBRATE_OPTION_KEYS = [...SESSION_OPTION_KEYS, ...DATA_OPTION_KEYS] as const;

/** One BatchNorm layer recalibrate rewrote: the tensors replaced and how far its statistics moved. */
export interface RecalibratedLayer {
  node: string;
  channels: number;
  /** The initializers rewritten. */
  runningMean: string;
  runningVar: string;
  /** Which pass over the data measured it (0 = no BatchNorm upstream). */
  wave: number;
  /** Largest change of the mean, in stored standard deviations, and the range of new/old variance. */
  maxShift: number;
  varRatio: [number, number];
}

/** What recalibrate reports and `batchproof recalibrate --json` prints. */
export interface RecalibrationReport extends ReportEnvelope<'recalibration'> {
  model: { path: string };
  fingerprint: Fingerprint;
  data: { source: string; batches: number; samples: number };
  layers: RecalibratedLayer[];
  /** BatchNorm nodes left as they were, and why. */
  skipped: { node: string; reason: string }[];
  waves: number;
  notes: string[];
  timing: ReportTiming;
}

/** What recalibrate returns: the new model's bytes (write them yourself) and the report. */
export interface RecalibrationResult {
  /** The recalibrated model. */
  bytes: Uint8Array;
  report: RecalibrationReport;
}

/** Waves: a layer's wave is the number of recalibrated (inference-mode) BatchNorms upstream of it. */
function waves(scan: BatchNormScan, layers: readonly BatchNormFacts[]): BatchNormFacts[][] {
  const targets = new Map(layers.map((bn) => [bn.node, bn]));
  const depth = new Map<string, number>();
  const waveOf = new Map<string, number>();
  for (const n of scan.graph.nodes) {
    const inDepth = Math.max(0, ...n.inputs.map((i) => depth.get(i) ?? 0));
    const bn = targets.get(n.name);
    let outDepth = inDepth;
    if (bn && n.opType === 'BatchNormalization') {
      waveOf.set(bn.node, inDepth);
      // A training-mode node ignores its stored statistics: it changes nothing downstream.
      if (!bn.trainingMode) outDepth = inDepth + 1;
    }
    for (const o of n.outputs) if (o) depth.set(o, outDepth);
  }
  const out: BatchNormFacts[][] = [];
  for (const bn of layers) {
    const w = waveOf.get(bn.node) ?? 0;
    (out[w] ??= []).push(bn);
  }
  return out.filter((w) => w && w.length > 0);
}

/** Data that can be read only once (a generator) is kept for the later waves. */
async function replayable(data: CalibrationData, passes: number): Promise<{ data: CalibrationData; note: string | null }> {
  if (passes <= 1 || typeof data === 'string' || !isBatchSequence(data) || Array.isArray(data)) return { data, note: null };
  const asyncIt = (data as AsyncIterable<Samples>)[Symbol.asyncIterator];
  const syncIt = (data as Iterable<Samples>)[Symbol.iterator];
  const oneShot = asyncIt ? (asyncIt.call(data) as unknown) === data : syncIt ? (syncIt.call(data) as unknown) === data : false;
  if (!oneShot) return { data, note: null };
  const batches: Samples[] = [];
  for await (const b of data as AsyncIterable<Samples>) batches.push(b);
  return { data: batches, note: `the data is a one-shot iterator and ${passes} passes were needed, so its batches were kept in memory; pass an array or a re-iterable to avoid that` };
}

/**
 * Computes the calibration statistics of every BatchNorm input and returns the model with them
 * written as running mean and variance (population variance).
 */
export async function recalibrate(model: ModelSource, data: CalibrationData, options: RecalibrateOptions = {}): Promise<RecalibrationResult> {
  const started = now();
  validateOptions(options, RECALIBRATE_OPTION_KEYS, 'recalibrate');
  checkDataArgument(data, 'recalibrate', 'data');
  const mb = modelBytes(model, 'recalibration');
  const settings = sessionSettings(mb.settings, options);
  const scan = findBatchNorms(mb.bytes, { source: mb.source, dir: mb.dir });
  if (scan.batchNorms.length === 0) {
    throw new BadInputError(`${mb.source}: the model has no BatchNormalization nodes to recalibrate (folded into Conv on export?); export with do_constant_folding=False or training=torch.onnx.TrainingMode.PRESERVE to keep them`);
  }
  const skipped: RecalibrationReport['skipped'] = [];
  const notes: string[] = [];
  const users = new Map<string, string[]>();
  for (const bn of scan.batchNorms) {
    for (const p of [bn.mean, bn.var]) if (p.stored?.initializer) users.set(p.stored.initializer, [...(users.get(p.stored.initializer) ?? []), bn.node]);
  }
  const targets = scan.batchNorms.filter((bn) => {
    const reason = !bn.spatial
      ? 'spatial=0 (per-activation statistics) is not supported'
      : !bn.mean.stored || !bn.var.stored
        ? 'its running statistics are not stored in the model'
        : !bn.mean.stored.initializer || !bn.var.stored.initializer
          ? 'its running statistics are held in a Constant node, not an initializer'
          : [bn.mean, bn.var].some((p) => (users.get(p.stored?.initializer as string) ?? []).length > 1)
            ? `its statistics initializers are shared with other BatchNorm nodes (${(users.get(bn.mean.stored.initializer) ?? []).join(', ')})`
            : bn.mean.stored.initializer === bn.var.stored.initializer
              ? 'its mean and variance are one initializer'
              : null;
    if (reason) skipped.push({ node: bn.node, reason });
    return reason === null;
  });
  for (const bn of targets) {
    if (bn.trainingMode) notes.push(`${bn.node} runs in training mode: it ignores the new statistics until it is exported in inference mode`);
  }
  if (targets.length === 0) throw new BadInputError(`${mb.source}: no BatchNorm layer can be recalibrated (${skipped.map((s) => `${s.node}: ${s.reason}`).join('; ')})`);
  // A copy in which every layer still normalises with each batch's own statistics computes what the
  // input does: writing it and saying 'recalibrated' would be a success that fixes nothing.
  if (targets.every((bn) => bn.trainingMode)) {
    throw new BadInputError(
      `${mb.source}: every BatchNorm layer runs in training mode (${targets.length === 1 ? targets[0]?.node : `${targets.length} layers`}): it normalises with each batch's statistics and ignores stored ones, so recalibrating changes nothing; re-export with model.eval() (training=torch.onnx.TrainingMode.EVAL), then recalibrate that model if its statistics are stale`,
    );
  }

  const plan = waves(scan, targets);
  const { data: source, note } = await replayable(data, plan.length);
  if (note) notes.push(note);
  const replace = new Map<string, InitializerData>();
  const layers: RecalibratedLayer[] = [];
  let inferenceMs = 0;
  let info = { source: typeof data === 'string' ? data : isBatchSequence(data) ? '<batches>' : '<arrays>', batches: 0, samples: 0 };
  for (let w = 0; w < plan.length; w++) {
    const wave = plan[w] as BatchNormFacts[];
    const collected = await collectInputStats(mb.bytes, scan, wave, source, { ...options, settings, source: mb.source, dir: mb.dir, replace, store: mb.store });
    inferenceMs += collected.inferenceMs;
    info = { ...info, batches: collected.batches, samples: collected.samples };
    for (const bn of wave) {
      const m = collected.moments.get(bn.node);
      if (!m) continue;
      const mean = bn.mean.stored as NonNullable<typeof bn.mean.stored>;
      const variance = bn.var.stored as NonNullable<typeof bn.var.stored>;
      if (m.mean.length !== mean.values.length) {
        throw new BadInputError(`${mb.source}: ${bn.node} stores ${mean.values.length} channels but its input has ${m.mean.length}`);
      }
      if (m.count === 0 || [...m.mean, ...m.variance].some((v) => !Number.isFinite(v))) {
        throw new BadInputError(`${mb.source}: the statistics of ${bn.node}'s input are not finite (NaN or Inf in the data or activations); check the calibration data`);
      }
      // running_var = 0 normalises by sqrt(eps) alone: any later variation in those channels
      // would come out hundreds of times too large. Varied data never gives exactly 0.
      if (m.constantChannels > 0) {
        throw new BadInputError(
          `${mb.source}: the calibration data is constant in ${m.constantChannels} of ${m.mean.length} channels of ${bn.node}'s input: running_var would be 0 there (later inputs would be scaled by 1/sqrt(eps)); give varied, representative calibration data`,
        );
      }
      replace.set(mean.initializer as string, { dtype: mean.dtype, values: m.mean });
      replace.set(variance.initializer as string, { dtype: variance.dtype, values: m.variance });
      let maxShift = 0;
      let lo = Infinity;
      let hi = -Infinity;
      for (let c = 0; c < m.mean.length; c++) {
        const oldVar = variance.values[c] as number;
        maxShift = Math.max(maxShift, Math.abs((m.mean[c] as number) - (mean.values[c] as number)) / Math.sqrt(Math.max(0, oldVar) + bn.epsilon));
        const r = oldVar === 0 ? Infinity : (m.variance[c] as number) / oldVar;
        lo = Math.min(lo, r);
        hi = Math.max(hi, r);
      }
      layers.push({ node: bn.node, channels: m.mean.length, runningMean: mean.initializer as string, runningVar: variance.initializer as string, wave: w, maxShift, varRatio: [lo, hi] });
    }
  }
  const bytes = spliceModel(mb.bytes, { replace }, { source: mb.source }).toBytes();
  const order = new Map(scan.batchNorms.map((bn) => [bn.node, bn.index]));
  layers.sort((a, b) => (order.get(a.node) ?? 0) - (order.get(b.node) ?? 0));
  return {
    bytes,
    report: {
      schema: 1,
      kind: 'recalibration',
      tool,
      model: { path: mb.source },
      fingerprint: fingerprintFor(settings),
      data: info,
      layers,
      skipped,
      waves: plan.length,
      notes,
      timing: { totalMs: Math.round(now() - started), inferenceMs: Math.round(inferenceMs) },
    },
  };
}

export interface WriteOptions {
  /** The input model's path: never overwritten. */
  input?: string;
  /** Replace an existing file. */
  force?: boolean;
  /** The input keeps weights in external files: the copy must sit in the same directory. */
  externalData?: boolean;
}

/** Refuses an output path before any work: the input itself, an existing file without `force`, a missing directory. */
export function checkOutputPath(out: string, options: WriteOptions = {}): void {
  const target = path.resolve(out);
  // By device and inode too: a hard link or another spelling of the input is the input.
  checkWritablePath(out, { flag: 'output', what: 'the recalibrated model', inputs: [{ file: options.input, what: 'input model' }] });
  if (options.input) {
    const input = path.resolve(options.input);
    if (options.externalData && path.dirname(target) !== path.dirname(input)) {
      throw new BadInputError(`${out}: the model keeps weights in external data files named relative to its directory; write the copy into ${path.dirname(input)} so they still resolve`);
    }
  }
  if (fs.existsSync(target)) {
    if (fs.statSync(target).isDirectory()) throw new BadInputError(`${out}: is a directory; give a file name such as model.recalibrated.onnx`);
    if (!options.force) throw new BadInputError(`${out}: already exists; pass --force to replace it, or choose another name`);
  }
  const dir = path.dirname(target);
  if (!fs.existsSync(dir)) throw new BadInputError(`${out}: the directory ${dir} does not exist; create it first`);
  if (!fs.statSync(dir).isDirectory()) throw new BadInputError(`${out}: ${dir} is a file, not a directory; choose another output path`);
}

/**
 * Writes a model file: never over the input model, never over an existing file unless
 * `force`, atomically (writeFileAtomic: a temporary file beside it, flushed, then a rename), so
 * a crash never leaves half a model.
 */
export function writeModelFile(out: string, bytes: Uint8Array, options: WriteOptions = {}): void {
  checkOutputPath(out, options);
  writeFileAtomic(out, bytes);
}
