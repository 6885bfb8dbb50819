/**
 * BatchNormalization nodes and their stored parameters, for every op version a model can hold
 * (1, 6, 7, 9, 14, 15; batchproof checks 7 to 15, the ones onnxruntime runs): scale, bias,
 * running mean and variance (initializers, Constant nodes, or either behind Identity nodes),
 * epsilon, momentum, and whether the node runs in training mode.
 */
import path = require('path');
import { readModel, type GraphFacts, type NodeFacts } from './graph';
import type { OnnxModel, OnnxTensor } from './proto';
import { checkExternalFiles, externalDataOf, readFloatTensor, tensorDims, type ExternalData, type TensorReadContext } from './tensor';
import { dtypeName } from './graph';

/** A parameter stored in the model (not computed at run time). */
export interface StoredTensor {
  /** The value's name as the node reads it. */
  name: string;
  /** The initializer holding it (after following Identity nodes); null for a Constant node. */
  initializer: string | null;
  /** The Constant node holding it, when it is not an initializer. */
  constantNode: string | null;
  dtype: string;
  dims: number[];
  values: Float64Array;
  external: ExternalData | null;
}

/** One of a BatchNormalization node's parameters (scale, bias, mean, var): its input name and stored value. */
export interface BatchNormParam {
  /** The node's input name for this parameter. */
  name: string;
  /** Null when the value is not stored: a graph input, or computed by other nodes. */
  stored: StoredTensor | null;
}

/** A BatchNormalization node as findBatchNorms reads it: its parameters, mode and channels. */
export interface BatchNormFacts {
  /** Node name (readGraph's: an unnamed node gets `BatchNormalization_<index>`). */
  node: string;
  /** Position among all nodes in topological order. */
  index: number;
  /** The op version the model's opset selects: 1, 6, 7, 9, 14 or 15. */
  opVersion: number;
  input: string;
  output: string;
  scale: BatchNormParam;
  bias: BatchNormParam;
  mean: BatchNormParam;
  var: BatchNormParam;
  epsilon: number;
  momentum: number;
  trainingMode: boolean;
  /** Why the node counts as training mode, in words; null when it does not. */
  trainingReason: string | null;
  /** False for op versions < 9 with spatial=0 (statistics per activation, not per channel). */
  spatial: boolean;
  /** Channels (the length of the stored mean, else of the scale); null when unknown. */
  channels: number | null;
}

/** The result of findBatchNorms: the decoded model, its graph, its BatchNormalization nodes. */
export interface BatchNormScan {
  model: OnnxModel;
  graph: GraphFacts;
  batchNorms: BatchNormFacts[];
  /** How many Conv / ConvTranspose / Gemm / MatMul nodes: tells a folded model from one without norms. */
  foldTargets: number;
}

const BN_VERSIONS = [1, 6, 7, 9, 14, 15];

/** The BatchNormalization version a model's ai.onnx opset selects. */
export function batchNormVersion(opset: number): number {
  let v = 1;
  for (const candidate of BN_VERSIONS) if (candidate <= opset) v = candidate;
  return v;
}

/** Options of findBatchNorms. */
export interface FindOptions {
  /** The model, as named in messages (default '<bytes>'). */
  source?: string;
  /** Directory for external data (default: the source's directory when it is a path, else the cwd). */
  dir?: string;
}

/** Reads a model and finds its BatchNormalization nodes with their stored parameters. */
export function findBatchNorms(bytes: Uint8Array, options: FindOptions = {}): BatchNormScan {
  const source = options.source ?? '<bytes>';
  const { model, graph } = readModel(bytes, source);
  const dir = options.dir ?? (source.startsWith('<') ? process.cwd() : path.dirname(path.resolve(source)));
  // A missing external file is named here, in the same words whichever tensor needs it first.
  checkExternalFiles(model.graph?.initializer ?? [], { source, dir });
  return scanBatchNorms(model, graph, { source, dir });
}

export function scanBatchNorms(model: OnnxModel, graph: GraphFacts, ctx: TensorReadContext): BatchNormScan {
  const g = model.graph;
  const initializers = new Map<string, OnnxTensor>();
  for (const t of g?.initializer ?? []) initializers.set(t.name ?? '', t);
  // Constant nodes and Identity links, by the value they produce.
  const constants = new Map<string, { node: string; tensor: OnnxTensor }>();
  const identities = new Map<string, string>();
  (g?.node ?? []).forEach((n, i) => {
    const out = n.output[0];
    if (!out || (n.domain && n.domain !== 'ai.onnx')) return;
    if (n.opType === 'Constant') {
      const value = n.attribute.find((a) => a.name === 'value')?.t;
      if (value) constants.set(out, { node: n.name || `Constant_${i}`, tensor: value });
    } else if (n.opType === 'Identity' && n.input[0]) {
      identities.set(out, n.input[0]);
    }
  });
  const inputs = new Set(graph.inputs.map((v) => v.name));

  const stored = (name: string): StoredTensor | null => {
    let at = name;
    for (let hops = 0; hops < 16 && !initializers.has(at) && !constants.has(at) && identities.has(at) && !inputs.has(at); hops++) {
      at = identities.get(at) as string;
    }
    const init = inputs.has(at) && !initializers.has(at) ? undefined : initializers.get(at);
    const constant = init ? undefined : constants.get(at);
    const tensor = init ?? constant?.tensor;
    if (!tensor) return null;
    return {
      name,
      initializer: init ? at : null,
      constantNode: constant?.node ?? null,
      dtype: dtypeName(tensor.dataType),
      dims: tensorDims(tensor),
      values: readFloatTensor({ ...tensor, name: tensor.name || at }, ctx),
      external: externalDataOf(tensor),
    };
  };

  const opVersion = batchNormVersion(graph.opset);
  const batchNorms: BatchNormFacts[] = [];
  graph.nodes.forEach((n, index) => {
    if (n.opType !== 'BatchNormalization' || n.domain !== '') return;
    const param = (k: number): BatchNormParam => {
      const name = n.inputs[k] ?? '';
      return { name, stored: name ? stored(name) : null };
    };
    const mean = param(3);
    const scale = param(1);
    const { trainingMode, trainingReason } = trainingModeOf(n, opVersion);
    const spatialAttr = n.attributes.spatial;
    batchNorms.push({
      node: n.name,
      index,
      opVersion,
      input: n.inputs[0] ?? '',
      output: n.outputs[0] ?? '',
      scale,
      bias: param(2),
      mean,
      var: param(4),
      epsilon: typeof n.attributes.epsilon === 'number' ? n.attributes.epsilon : 1e-5,
      momentum: typeof n.attributes.momentum === 'number' ? n.attributes.momentum : 0.9,
      trainingMode,
      trainingReason,
      spatial: opVersion >= 9 || spatialAttr === undefined || spatialAttr !== 0,
      channels: mean.stored?.dims[0] ?? scale.stored?.dims[0] ?? null,
    });
  });
  const foldTargets = graph.nodes.filter((n) => ['Conv', 'ConvTranspose', 'Gemm', 'MatMul'].includes(n.opType)).length;
  return { model, graph, batchNorms, foldTargets };
}

function trainingModeOf(n: NodeFacts, version: number): { trainingMode: boolean; trainingReason: string | null } {
  if (version >= 14) {
    const mode = n.attributes.training_mode;
    return mode === 1
      ? { trainingMode: true, trainingReason: 'training_mode=1: it normalises with the statistics of each batch, not the stored running statistics' }
      : { trainingMode: false, trainingReason: null };
  }
  if (version >= 7) {
    const extra = n.outputs.slice(1).filter((o) => o !== '');
    return extra.length > 0
      ? {
          trainingMode: true,
          trainingReason: `it has the running-statistics outputs (${extra.join(', ')}), which in opset 7 to 13 means training mode: it normalises with the statistics of each batch`,
        }
      : { trainingMode: false, trainingReason: null };
  }
  // Versions 1 and 6: is_test=0 (the default) is training mode.
  return n.attributes.is_test === 1
    ? { trainingMode: false, trainingReason: null }
    : { trainingMode: true, trainingReason: 'is_test=0 (op version < 7): it normalises with the statistics of each batch' };
}

/** Whether a BatchNormalization node runs in training mode under the model's ai.onnx opset, and why. */
export function batchNormTrainingMode(n: NodeFacts, opset: number): { trainingMode: boolean; trainingReason: string | null } {
  return trainingModeOf(n, batchNormVersion(opset));
}
