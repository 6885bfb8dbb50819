/**
 * The statistics of each BatchNorm's input over calibration data, computed inside the graph:
 * for every value measured a few nodes are appended (Reshape to [N, C, L], GlobalAveragePool of
 * x, of d = x - that plane mean and of d², Shape), so onnxruntime reduces each sample's channel
 * plane natively and only [N, C] numbers per value come back; they are merged across samples and batches in float64
 * (moments.ts). Each distinct tensor is reduced once: a BatchNorm fed by a channel Concat takes
 * its channels' statistics from the Concat's inputs (in DenseNet blocks most channels of one
 * layer's input are channels of the previous layers' inputs). The model's own bytes are
 * spliced, never re-encoded (onnx/instrument.ts).
 */
import type * as ort from 'onnxruntime-node';
import { BadInputError } from '../errors';
import type { ValueInfo } from '../runtime/session';
import { openModelBytes, type ModelHandle } from '../runtime/handle';
import { RunLogBook } from '../runtime/runner';
import { type SessionSettings } from '../runtime/settings';
import type { BatchNormFacts, BatchNormScan } from '../onnx/batchnorm';
import { dtypeName } from '../onnx/graph';
import { instrumentModel, type NewNode } from '../onnx/instrument';
import type { ModelStore } from '../onnx/wire';
import { AttributeType, DataType } from '../onnx/proto';
import { hasExternalData } from '../runtime/model-bytes';
import { calibrationBatches, type CalibrationData, type DataOptions } from './data';
import { ChannelMoments } from './moments';

export interface LayerMoments {
  node: string;
  count: number;
  mean: Float64Array;
  /** Population variance. */
  variance: Float64Array;
  /** Channels whose values were all the same over the data (their variance is exactly 0). */
  constantChannels: number;
}

export interface CollectResult {
  moments: Map<string, LayerMoments>;
  batches: number;
  samples: number;
  inferenceMs: number;
  inputs: ValueInfo[];
}

export interface CollectOptions extends DataOptions {
  settings: SessionSettings;
  source: string;
  /** Directory of the model (external data). */
  dir: string;
  /** How the data is named in messages. */
  dataLabel?: string;
  /** The store the model's bytes sit in, when read from a file (appends in place). */
  store?: ModelStore;
  /** Replacements to apply first (recalibration's earlier waves), by initializer name. */
  replace?: Map<string, { dtype: string; values: ArrayLike<number> }>;
}

/** Layers whose input statistics can be compared: stored mean and variance, per channel. */
export function comparable(bn: BatchNormFacts): boolean {
  return bn.spatial && bn.mean.stored !== null && bn.var.stored !== null && bn.input !== '';
}

/** The element type of a value, where the model says it; null when only onnxruntime would know. */
function valueDtype(scan: BatchNormScan, name: string, bn: BatchNormFacts): string | null {
  const input = scan.graph.inputs.find((v) => v.name === name);
  if (input) return input.dtype;
  const info = scan.model.graph?.valueInfo.find((v) => v.name === name);
  const elem = info?.type?.tensorType?.elemType;
  if (elem) return dtypeName(elem);
  // Before op version 15, X and the scale share one type.
  if (bn.opVersion < 15 && bn.scale.stored) return bn.scale.stored.dtype;
  return null;
}

/**
 * One tensor reduced in the graph: a BatchNorm input, or a part of one (a Concat input). Each
 * plane is centred on its own mean before squaring: E[x²] - E[x]² from float32 means loses
 * about 2e-6 (1 + mean²/var) of the variance to rounding, all of it where the data's mean is
 * far from 0 (data at 1e6 ± 0.5 read a variance of 53100, and recalibrate wrote it). Centring
 * on the stored running mean instead fails exactly where the stored statistics are stale.
 */
interface Probe {
  /** The value reduced. */
  value: string;
  /** Per plane: the mean of x, and the mean of d = x - that mean and of d² (d's mean is the rounding left). */
  mean: string;
  centredMean: string;
  centredSquare: string;
  shape: string;
}

/** Where a layer's channels come from: probes in channel order. */
interface LayerSources {
  bn: BatchNormFacts;
  probes: Probe[];
}

/**
 * The values whose channels make up `x`, in order: a Concat along the channel axis (axis 1) is
 * expanded into its inputs, recursively, so a tensor that feeds several BatchNorms through
 * concatenations (DenseNet blocks) is reduced once.
 */
function channelSources(scan: BatchNormScan, x: string): string[] {
  const producer = new Map<string, (typeof scan.graph.nodes)[number]>();
  for (const n of scan.graph.nodes) for (const o of n.outputs) if (o) producer.set(o, n);
  const inputs = new Set(scan.graph.inputs.map((v) => v.name));
  // Only parts that carry the batch (node outputs or graph inputs; constants do not).
  const batched = (v: string) => inputs.has(v) || (producer.has(v) && producer.get(v)?.opType !== 'Constant');
  const expand = (value: string, depth: number): string[] => {
    const n = producer.get(value);
    if (!n || depth > 64 || n.opType !== 'Concat' || n.domain !== '' || n.attributes.axis !== 1 || !n.inputs.every(batched)) return [value];
    return n.inputs.flatMap((i) => expand(i, depth + 1));
  };
  return expand(x, 0);
}

/** The nodes that reduce each layer's input, and the names of the values they produce. */
export function statsInstrumentation(scan: BatchNormScan, layers: readonly BatchNormFacts[]): { nodes: NewNode[]; probes: Probe[]; layers: LayerSources[] } {
  const taken = new Set<string>([...scan.graph.inputs.map((v) => v.name), ...scan.graph.initializers, ...scan.graph.nodes.flatMap((n) => n.outputs)]);
  let base = 'batchproof.stats';
  for (let k = 1; [...taken].some((n) => n.startsWith(base)); k++) base = `batchproof.stats${k}`;
  const nodes: NewNode[] = [];
  const shapeName = `${base}/reshape_to`;
  nodes.push({
    op: 'Constant',
    inputs: [],
    outputs: [shapeName],
    name: shapeName,
    attributes: [{ name: 'value', type: AttributeType.TENSOR, t: { name: shapeName, dims: [3], dataType: DataType.INT64, int64Data: [0, 0, -1] } }],
  });
  const probes: Probe[] = [];
  const byValue = new Map<string, Probe>();
  const probe = (value: string, dtype: string | null): Probe => {
    const key = value;
    const known = byValue.get(key);
    if (known) return known;
    const p = `${base}/${probes.length}`;
    let x = value;
    if (dtype !== 'float32') {
      // float16/bfloat16/float64 (or unknown: onnxruntime drops a Cast to the same type).
      nodes.push({ op: 'Cast', inputs: [x], outputs: [`${p}/f32`], name: `${p}/cast`, attributes: [{ name: 'to', type: AttributeType.INT, i: DataType.FLOAT }] });
      x = `${p}/f32`;
    }
    nodes.push({ op: 'Reshape', inputs: [x, shapeName], outputs: [`${p}/ncl`], name: `${p}/reshape` });
    x = `${p}/ncl`;
    nodes.push({ op: 'GlobalAveragePool', inputs: [x], outputs: [`${p}/mean`], name: `${p}/mean` });
    nodes.push({ op: 'Sub', inputs: [x, `${p}/mean`], outputs: [`${p}/centred`], name: `${p}/centre` });
    nodes.push({ op: 'GlobalAveragePool', inputs: [`${p}/centred`], outputs: [`${p}/centred_mean`], name: `${p}/centred_mean` });
    nodes.push({ op: 'Mul', inputs: [`${p}/centred`, `${p}/centred`], outputs: [`${p}/square`], name: `${p}/square` });
    nodes.push({ op: 'GlobalAveragePool', inputs: [`${p}/square`], outputs: [`${p}/centred_square`], name: `${p}/centred_square` });
    nodes.push({ op: 'Shape', inputs: [x], outputs: [`${p}/shape`], name: `${p}/shape` });
    const made: Probe = { value, mean: `${p}/mean`, centredMean: `${p}/centred_mean`, centredSquare: `${p}/centred_square`, shape: `${p}/shape` };
    probes.push(made);
    byValue.set(key, made);
    return made;
  };
  const sources: LayerSources[] = layers.map((bn) => {
    const dtype = valueDtype(scan, bn.input, bn);
    return { bn, probes: channelSources(scan, bn.input).map((v) => probe(v, dtype)) };
  });
  return { nodes, probes, layers: sources };
}

/**
 * The data was checked finite before the run (data.ts), so a non-finite reduction comes from the
 * model's activations on it: NaN or Infinity inside the graph, or values spread so far (beyond
 * about 1.8e19 from their mean) that their squares overflow float32. Neither gives statistics
 * to compare or write.
 */
function checkFiniteMoments(means: Float32Array, squares: Float32Array, p: Probe, sources: readonly LayerSources[], batch: number, source: string): void {
  let bad = -1;
  let overflow = false;
  for (let i = 0; i < means.length; i++) {
    if (!Number.isFinite(means[i])) {
      bad = i;
      overflow = false;
      break;
    }
    if (bad < 0 && !Number.isFinite(squares[i])) {
      bad = i;
      overflow = true;
    }
  }
  if (bad < 0) return;
  const node = sources.find((l) => l.probes.includes(p))?.bn.node ?? p.value;
  const what = `${source}: the input of ${node}${node === p.value ? '' : ` ('${p.value}')`} on calibration batch ${batch}`;
  throw new BadInputError(
    overflow
      ? `${what} holds values more than about ±1.8e19 from their mean, whose squares overflow float32, so its variance cannot be measured; the data's scale is far off: check its preprocessing (scaling, normalisation)`
      : `${what} is not finite (NaN or Infinity) although the data is finite: the model overflows or divides by zero on this data, so there are no statistics to compare or write; check the data's scale and preprocessing, or the model`,
  );
}

/**
 * Runs the calibration data through the instrumented model and returns each layer's input
 * statistics. Layers must be comparable().
 */
export async function collectInputStats(
  bytes: Uint8Array,
  scan: BatchNormScan,
  layers: readonly BatchNormFacts[],
  data: CalibrationData,
  options: CollectOptions,
): Promise<CollectResult> {
  const { nodes, probes, layers: sources } = statsInstrumentation(scan, layers);
  const fetches = probes.flatMap((p) => [p.mean, p.centredMean, p.centredSquare, p.shape]);
  const instrumented = instrumentModel(bytes, { nodes, outputs: fetches, replace: options.replace }, { source: options.source, store: options.store });
  const external = hasExternalData(scan.model.graph?.initializer ?? []) ? options.dir : undefined;
  let runner: ModelHandle;
  try {
    // The rewritten bytes change back once onnxruntime has read them: no graph read from them.
    runner = await openModelBytes(instrumented.bytes, options.settings, { label: options.source, externalDir: external, graphFrom: null });
  } finally {
    instrumented.release();
  }
  const moments = new Map<Probe, ChannelMoments>();
  let batches = 0;
  let samples = 0;
  const log = new RunLogBook();
  try {
    const inputs = runner.inputs;
    for await (const batch of calibrationBatches(data, inputs, options, options.dataLabel)) {
      const result = await runner.run(batch.feeds, fetches, {
        rows: batch.size,
        purpose: 'calibration',
        log,
        failure: (reason) => `${options.source}: onnxruntime failed on calibration batch ${batches} (${reason}); check the data's shape and dtype against the model's inputs`,
      });
      for (const p of probes) {
        const shape = Array.from((result[p.shape] as ort.Tensor).data as BigInt64Array, Number);
        const [n, c, plane] = shape as [number, number, number];
        let acc = moments.get(p);
        if (!acc) {
          acc = new ChannelMoments(c);
          moments.set(p, acc);
        } else if (acc.channels !== c) {
          throw new BadInputError(`${options.source}: '${p.value}' has ${c} channels in one batch and ${acc.channels} in another`);
        }
        const planeMeans = (result[p.mean] as ort.Tensor).data as Float32Array;
        const rest = (result[p.centredMean] as ort.Tensor).data as Float32Array;
        const squares = (result[p.centredSquare] as ort.Tensor).data as Float32Array;
        checkFiniteMoments(planeMeans, squares, p, sources, batches, options.source);
        // Each plane's mean with the rounding its centring left, and its variance from the centred values.
        const means = new Float64Array(planeMeans.length);
        const variances = new Float64Array(planeMeans.length);
        for (let i = 0; i < means.length; i++) {
          const r = rest[i] as number;
          means[i] = (planeMeans[i] as number) + r;
          variances[i] = Math.max(0, (squares[i] as number) - r * r);
        }
        acc.addPlaneVariances(n, plane, means, variances);
      }
      batches++;
      samples += batch.size;
    }
    const out = new Map<string, LayerMoments>();
    for (const { bn, probes: parts } of sources) {
      // A layer's channels: its parts' channels in order.
      const accs = parts.map((p) => moments.get(p)).filter((m): m is ChannelMoments => m !== undefined);
      if (accs.length !== parts.length || accs.length === 0) continue;
      const mean = new Float64Array(accs.reduce((k, m) => k + m.channels, 0));
      const variance = new Float64Array(mean.length);
      let at = 0;
      let constantChannels = 0;
      for (const m of accs) {
        mean.set(m.mean, at);
        variance.set(m.variance(), at);
        constantChannels += m.constantChannels();
        at += m.channels;
      }
      out.set(bn.node, { node: bn.node, count: accs[0]?.count ?? 0, mean, variance, constantChannels });
    }
    return { moments: out, batches, samples, inferenceMs: log.inferenceMs, inputs };
  } finally {
    await runner.close();
  }
}
