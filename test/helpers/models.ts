/**
 * A tiny ONNX model builder for tests, so no test needs Python or checked-in .onnx files.
 * buildModel() takes plain specs and returns model bytes; the factories below are the
 * models the test suite reasons about. Every factory's batch dim is named 'N' unless noted.
 */
import {
  encodeModel,
  DataType,
  AttributeType,
  type OnnxAttributeInput,
  type OnnxGraphInput,
  type OnnxModelInput,
} from '../../src/onnx/proto';
import { floatToHalf } from '../../src/inputs/arrays';

export type Dim = number | string | null;

export interface ValueSpec {
  name: string;
  dtype: string;
  /** Omit to leave the rank undeclared (onnxruntime infers outputs anyway). */
  shape?: Dim[];
}

export interface TensorSpec {
  name?: string;
  dtype: string;
  dims: number[];
  /** Values, or the raw little-endian bytes. float16 wants raw bits (Uint16Array). */
  data: ArrayLike<number> | ArrayLike<bigint> | Uint8Array;
}

/**
 * Attribute values: an integer number (or an all-integer array) becomes INT(S), any other
 * number FLOAT(S). Use { f } / { floats } when a float attribute happens to be whole (1.0).
 */
export type AttrSpec =
  | number
  | string
  | number[]
  | string[]
  | { f: number }
  | { floats: number[] }
  | { t: TensorSpec }
  | { g: GraphSpec };

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, AttrSpec>;
  name?: string;
  domain?: string;
}

export interface GraphSpec {
  name?: string;
  inputs: ValueSpec[];
  outputs: ValueSpec[];
  nodes: NodeSpec[];
  initializers?: TensorSpec[];
}

export interface ModelSpec extends GraphSpec {
  /** ai.onnx opset; default 17. */
  opset?: number;
  /** Default 8 (onnx 1.12's IR version). */
  irVersion?: number;
}

const ELEM_TYPES: Record<string, number> = {
  float32: DataType.FLOAT, uint8: DataType.UINT8, int8: DataType.INT8, uint16: DataType.UINT16,
  int16: DataType.INT16, int32: DataType.INT32, int64: DataType.INT64, string: DataType.STRING,
  bool: DataType.BOOL, float16: DataType.FLOAT16, float64: DataType.DOUBLE, uint32: DataType.UINT32,
  uint64: DataType.UINT64, bfloat16: DataType.BFLOAT16,
};

function elemType(dtype: string): number {
  const t = ELEM_TYPES[dtype];
  if (t === undefined) throw new Error(`models.ts: unsupported dtype ${dtype}`);
  return t;
}

export function buildModel(spec: ModelSpec): Uint8Array {
  const model: OnnxModelInput = {
    irVersion: spec.irVersion ?? 8,
    producerName: 'batchproof-test',
    opsetImport: [{ domain: '', version: spec.opset ?? 17 }],
    graph: graphProto(spec),
  };
  return encodeModel(model);
}

function graphProto(spec: GraphSpec): OnnxGraphInput {
  return {
    name: spec.name ?? 'g',
    input: spec.inputs.map(valueInfo),
    output: spec.outputs.map(valueInfo),
    initializer: (spec.initializers ?? []).map((t) => tensorProto(t)),
    node: spec.nodes.map((n, i) => ({
      name: n.name ?? `${n.op}_${i}`,
      opType: n.op,
      domain: n.domain ?? '',
      input: n.inputs,
      output: n.outputs,
      attribute: Object.entries(n.attrs ?? {}).map(([name, v]) => attribute(name, v)),
    })),
  };
}

function valueInfo(v: ValueSpec) {
  const tensorType: { elemType: number; shape?: { dim: object[] } } = { elemType: elemType(v.dtype) };
  if (v.shape) {
    tensorType.shape = {
      dim: v.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : typeof d === 'string' ? { dimParam: d } : {})),
    };
  }
  return { name: v.name, type: { tensorType } };
}

function tensorProto(t: TensorSpec) {
  return { name: t.name ?? '', dims: t.dims, dataType: elemType(t.dtype), rawData: rawBytes(t) };
}

/** Little-endian raw_data for a tensor (ONNX stores raw_data little-endian). */
export function rawBytes(t: Pick<TensorSpec, 'dtype' | 'data'>): Uint8Array {
  const { dtype, data } = t;
  if (data instanceof Uint8Array && dtype !== 'uint8' && dtype !== 'bool') return data;
  if (dtype === 'float32' && data instanceof Float32Array) return bytesOf(data); // big weights: no copy
  const values = Array.from(data as ArrayLike<number | bigint>);
  const n = values.length;
  switch (dtype) {
    case 'float32': return bytesOf(Float32Array.from(values as number[]));
    case 'float64': return bytesOf(Float64Array.from(values as number[]));
    case 'int32': return bytesOf(Int32Array.from(values as number[]));
    case 'int16': return bytesOf(Int16Array.from(values as number[]));
    case 'uint16': case 'float16': return bytesOf(Uint16Array.from(values as number[]));
    case 'int8': return bytesOf(Int8Array.from(values as number[]));
    case 'uint8': case 'bool': return Uint8Array.from(values as number[]);
    case 'uint32': return bytesOf(Uint32Array.from(values as number[]));
    case 'int64': {
      const out = new BigInt64Array(n);
      values.forEach((v, i) => (out[i] = BigInt(v)));
      return bytesOf(out);
    }
    case 'uint64': {
      const out = new BigUint64Array(n);
      values.forEach((v, i) => (out[i] = BigInt(v)));
      return bytesOf(out);
    }
    default: throw new Error(`models.ts: no raw_data encoding for ${dtype}`);
  }
}

function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function attribute(name: string, v: AttrSpec): OnnxAttributeInput {
  const T = AttributeType;
  if (typeof v === 'number') return Number.isInteger(v) ? { name, type: T.INT, i: v } : { name, type: T.FLOAT, f: v };
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === 'string')) {
      return { name, type: T.STRINGS, strings: (v as string[]).map((s) => new TextEncoder().encode(s)) };
    }
    const nums = v as number[];
    return nums.every(Number.isInteger) ? { name, type: T.INTS, ints: nums } : { name, type: T.FLOATS, floats: nums };
  }
  if ('f' in v) return { name, type: T.FLOAT, f: v.f };
  if ('floats' in v) return { name, type: T.FLOATS, floats: v.floats };
  if ('t' in v) return { name, type: T.TENSOR, t: tensorProto(v.t) };
  return { name, type: T.GRAPH, g: graphProto(v.g) };
}

// ---------------------------------------------------------------------------------------
// Deterministic data for weights: tests must give the same model bytes on every run.

/** Small pseudo-random floats in [-1, 1) from a seed (an LCG; quality is irrelevant here). */
export function seededFloats(count: number, seed = 1): Float32Array {
  const out = new Float32Array(count);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2147483648 - 1;
  }
  return out;
}

const f32 = (name: string, dims: number[], data: ArrayLike<number>): TensorSpec => ({ name, dtype: 'float32', dims, data });
const i64 = (name: string, dims: number[], data: number[]): TensorSpec => ({ name, dtype: 'int64', dims, data });

/**
 * x [N,8] float32 -> y = Relu(x·W + b), W 8x4: row-wise, bitwise batch-invariant on ORT CPU
 * (W is a constant, so MLAS prepacks it and every batch size runs the same GEMM kernel).
 */
export function invariantModel(): Uint8Array {
  return linearReluModel(['N', 8]);
}

/** Same as invariantModel but with the input fixed at [1,8]: no batch axis to vary. */
export function fixedBatchModel(): Uint8Array {
  return linearReluModel([1, 8]);
}

function linearReluModel(shape: Dim[]): Uint8Array {
  return buildModel({
    inputs: [{ name: 'x', dtype: 'float32', shape }],
    outputs: [{ name: 'y', dtype: 'float32', shape: [shape[0] as Dim, 4] }],
    initializers: [f32('W', [8, 4], seededFloats(32, 7)), f32('b', [4], seededFloats(4, 8))],
    nodes: [
      { op: 'MatMul', inputs: ['x', 'W'], outputs: ['xw'] },
      { op: 'Add', inputs: ['xw', 'b'], outputs: ['z'] },
      { op: 'Relu', inputs: ['z'], outputs: ['y'] },
    ],
  });
}

/** y = x - mean over the batch axis: every sample's output depends on its batch-mates. */
export function leakyModel(): Uint8Array {
  return buildModel({
    opset: 17, // ReduceMean's axes is still an attribute in 17 (an input from 18)
    inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 8] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 8] }],
    nodes: [
      { op: 'ReduceMean', inputs: ['x'], outputs: ['mean'], attrs: { axes: [0], keepdims: 1 } },
      { op: 'Sub', inputs: ['x', 'mean'], outputs: ['y'] },
    ],
  });
}

/**
 * BatchNormalization with training_mode=1 (opset 15) on x [N,4,6,6]: normalises with the
 * batch's own statistics, so outputs depend on batch-mates. Only Y is a graph output.
 */
export function batchNormTrainingModel(): Uint8Array {
  return buildModel({
    opset: 15,
    inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 4, 6, 6] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 4, 6, 6] }],
    initializers: [
      f32('scale', [4], [1, 0.5, 2, 1.5]),
      f32('bias', [4], [0, 0.1, -0.1, 0.2]),
      f32('mean', [4], [0, 0, 0, 0]),
      f32('var', [4], [1, 1, 1, 1]),
    ],
    nodes: [
      {
        op: 'BatchNormalization',
        inputs: ['x', 'scale', 'bias', 'mean', 'var'],
        // training_mode=1 requires the running-stat outputs on the node (onnx shape
        // inference rejects it otherwise); they are just not graph outputs.
        outputs: ['y', 'running_mean', 'running_var'],
        attrs: { training_mode: 1, epsilon: 1e-5, momentum: 0.9 },
      },
    ],
  });
}

/** y = x + RandomUniformLike(x) * 1e-3 with no seed: differs from run to run. */
export function nondeterministicModel(): Uint8Array {
  return buildModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 8] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 8] }],
    initializers: [f32('eps', [], [1e-3])],
    nodes: [
      { op: 'RandomUniformLike', inputs: ['x'], outputs: ['r'] },
      { op: 'Mul', inputs: ['r', 'eps'], outputs: ['noise'] },
      { op: 'Add', inputs: ['x', 'noise'], outputs: ['y'] },
    ],
  });
}

/**
 * y = x + RandomUniformLike(x, seed 7) * 1e-3: differs from run to run of one session (the
 * generator moves on), but every new session runs the same sequence: a report's minimum
 * tolerance, given back to a fresh check, meets the very same differences.
 */
export function seededNoiseModel(): Uint8Array {
  return buildModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 8] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 8] }],
    initializers: [f32('eps', [], [1e-3])],
    nodes: [
      { op: 'RandomUniformLike', inputs: ['x'], outputs: ['r'], attrs: { seed: { f: 7 } } },
      { op: 'Mul', inputs: ['r', 'eps'], outputs: ['noise'] },
      { op: 'Add', inputs: ['x', 'noise'], outputs: ['y'] },
    ],
  });
}

/** seededNoiseModel's y, and k = Cast(RandomUniformLike(x, seed 7) * 1000) to int64: an integer output that differs run to run. */
export function integerNoiseModel(): Uint8Array {
  return buildModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 8] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 8] }, { name: 'k', dtype: 'int64', shape: ['N', 8] }],
    initializers: [f32('eps', [], [1e-3]), f32('thousand', [], [1e3])],
    nodes: [
      { op: 'RandomUniformLike', inputs: ['x'], outputs: ['r'], attrs: { seed: { f: 7 } } },
      { op: 'Mul', inputs: ['r', 'eps'], outputs: ['noise'] },
      { op: 'Add', inputs: ['x', 'noise'], outputs: ['y'] },
      { op: 'Mul', inputs: ['r', 'thousand'], outputs: ['big'] },
      { op: 'Cast', inputs: ['big'], outputs: ['k'], attrs: { to: 7 } },
    ],
  });
}

/**
 * y = x (float32, invariant), k = Cast(x * 1000 + N) to int64 (an integer output that changes
 * with the batch size N) and j = Cast(x * 1000) to int64 (an integer output that does not).
 */
export function batchIntegerModel(): Uint8Array {
  return buildModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 8] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 8] }, { name: 'k', dtype: 'int64', shape: ['N', 8] }, { name: 'j', dtype: 'int64', shape: ['N', 8] }],
    initializers: [f32('thousand', [], [1e3]), { name: 'zero', dtype: 'int64', dims: [], data: [0] }],
    nodes: [
      { op: 'Identity', inputs: ['x'], outputs: ['y'] },
      { op: 'Shape', inputs: ['x'], outputs: ['s'] },
      { op: 'Gather', inputs: ['s', 'zero'], outputs: ['n'], attrs: { axis: 0 } },
      { op: 'Cast', inputs: ['n'], outputs: ['nf'], attrs: { to: 1 } },
      { op: 'Mul', inputs: ['x', 'thousand'], outputs: ['big'] },
      { op: 'Add', inputs: ['big', 'nf'], outputs: ['shifted'] },
      { op: 'Cast', inputs: ['shifted'], outputs: ['k'], attrs: { to: 7 } },
      { op: 'Cast', inputs: ['big'], outputs: ['j'], attrs: { to: 7 } },
    ],
  });
}

/**
 * y = x + RandomUniformLike(x) * eps * (N - 1): no noise at all alone (the probe alone run twice
 * is bitwise equal), noise growing with the batch: with eps 2e-6, within the default tolerance
 * at batch 3 (at most 4e-6), beyond it at 16 (up to 3e-5), the same batch run twice included.
 */
export function batchScaledNoiseModel(eps = 2e-6): Uint8Array {
  return buildModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 8] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 8] }],
    initializers: [f32('eps', [], [eps]), f32('one', [], [1]), { name: 'zero', dtype: 'int64', dims: [], data: [0] }],
    nodes: [
      { op: 'Shape', inputs: ['x'], outputs: ['s'] },
      { op: 'Gather', inputs: ['s', 'zero'], outputs: ['n'], attrs: { axis: 0 } },
      { op: 'Cast', inputs: ['n'], outputs: ['nf'], attrs: { to: 1 } },
      { op: 'Sub', inputs: ['nf', 'one'], outputs: ['k'] },
      { op: 'RandomUniformLike', inputs: ['x'], outputs: ['r'] },
      { op: 'Mul', inputs: ['r', 'eps'], outputs: ['r1'] },
      { op: 'Mul', inputs: ['r1', 'k'], outputs: ['noise'] },
      { op: 'Add', inputs: ['x', 'noise'], outputs: ['y'] },
    ],
  });
}

/** y = x + RandomUniform(shape [1, 8]) * 1e-3: a random op that reads no input. */
export function inputlessRandomModel(): Uint8Array {
  return buildModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 8] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 8] }],
    initializers: [f32('eps', [], [1e-3])],
    nodes: [
      { op: 'RandomUniform', inputs: [], outputs: ['r'], attrs: { shape: [1, 8] } },
      { op: 'Mul', inputs: ['r', 'eps'], outputs: ['noise'] },
      { op: 'Add', inputs: ['x', 'noise'], outputs: ['y'] },
    ],
  });
}

/** y = x + RandomUniformLike(x, high 1e-7) * 1e3: noise within the tolerance at its source, beyond it after the Mul. */
export function amplifiedNoiseModel(): Uint8Array {
  return buildModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 8] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 8] }],
    initializers: [f32('k', [], [1e3])],
    nodes: [
      { op: 'RandomUniformLike', inputs: ['x'], outputs: ['r'], attrs: { low: { f: 0 }, high: { f: 1e-7 } } },
      { op: 'Mul', inputs: ['r', 'k'], outputs: ['noise'] },
      { op: 'Add', inputs: ['x', 'noise'], outputs: ['y'] },
    ],
  });
}

/** y = Relu(Dropout(2x, ratio 0.5, training_mode true)): random in training mode (onnxruntime drops it when it optimizes the graph). */
export function trainingDropoutModel(): Uint8Array {
  return buildModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 8] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 8] }],
    initializers: [f32('two', [], [2]), f32('ratio', [], [0.5]), { name: 'train', dtype: 'bool', dims: [], data: [1] }],
    nodes: [
      { op: 'Mul', inputs: ['x', 'two'], outputs: ['x2'] },
      { op: 'Dropout', inputs: ['x2', 'ratio', 'train'], outputs: ['d'] },
      { op: 'Relu', inputs: ['d'], outputs: ['y'] },
    ],
  });
}

/** Two inputs: x [N,8] and a scalar `scale` [] with no batch axis; y = x * scale. */
export function constInputModel(): Uint8Array {
  return buildModel({
    inputs: [
      { name: 'x', dtype: 'float32', shape: ['N', 8] },
      { name: 'scale', dtype: 'float32', shape: [] },
    ],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 8] }],
    nodes: [{ op: 'Mul', inputs: ['x', 'scale'], outputs: ['y'] }],
  });
}

/** ids [N,'seq'] int64 -> Gather from a [100,8] table -> mean over seq -> y [N,8] float32. */
export function int64Model(): Uint8Array {
  return buildModel({
    inputs: [{ name: 'ids', dtype: 'int64', shape: ['N', 'seq'] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 8] }],
    initializers: [f32('table', [100, 8], seededFloats(800, 3))],
    nodes: [
      { op: 'Gather', inputs: ['table', 'ids'], outputs: ['emb'], attrs: { axis: 0 } },
      { op: 'ReduceMean', inputs: ['emb'], outputs: ['y'], attrs: { axes: [1], keepdims: 0 } },
    ],
  });
}

/**
 * y = x * (1 + 1e-3 * row): a sample's output depends on its position in the batch, not on
 * its batch-mates' values. The row index comes from Shape -> Gather -> Range.
 */
export function positionModel(): Uint8Array {
  return buildModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 8] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 8] }],
    initializers: [
      i64('zero_i', [], [0]),
      f32('zero', [], [0]),
      f32('one', [], [1]),
      f32('step', [], [1e-3]),
      i64('axes1', [1], [1]),
    ],
    nodes: [
      { op: 'Shape', inputs: ['x'], outputs: ['shape'] },
      { op: 'Gather', inputs: ['shape', 'zero_i'], outputs: ['n_i'], attrs: { axis: 0 } },
      { op: 'Cast', inputs: ['n_i'], outputs: ['n'], attrs: { to: DataType.FLOAT } },
      { op: 'Range', inputs: ['zero', 'n', 'one'], outputs: ['rows'] },
      { op: 'Unsqueeze', inputs: ['rows', 'axes1'], outputs: ['rows2'] },
      { op: 'Mul', inputs: ['rows2', 'step'], outputs: ['scaled'] },
      { op: 'Add', inputs: ['scaled', 'one'], outputs: ['factor'] },
      { op: 'Mul', inputs: ['x', 'factor'], outputs: ['y'] },
    ],
  });
}

/**
 * y = x [N,K] · W [K,M], where a sample's result drifts by float rounding with the batch
 * size alone: on x86-64 ORT CPU, batch 1 differs from every batch >= 2 (which all agree), and
 * batch-mates never matter. MLAS takes a separate M=1 (GEMV) kernel when B is not a
 * prepacked constant, so W is routed through Reshape(W, [K, -1]) with the shape computed
 * from Shape(x): onnxruntime cannot constant-fold that, so it cannot prepack W. (A MatMul
 * with W straight from an initializer, as in invariantModel, is bitwise batch-invariant.)
 */
export function driftModel(k = 256, m = 16): Uint8Array {
  return buildModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: ['N', k] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['N', m] }],
    initializers: [
      f32('W', [k * m], seededFloats(k * m, 11)),
      i64('one_i', [1], [1]),
      i64('two_i', [1], [2]),
      i64('minus_one', [1], [-1]),
    ],
    nodes: [
      { op: 'Shape', inputs: ['x'], outputs: ['x_shape'] },
      { op: 'Slice', inputs: ['x_shape', 'one_i', 'two_i'], outputs: ['k_dim'] },
      { op: 'Concat', inputs: ['k_dim', 'minus_one'], outputs: ['w_shape'], attrs: { axis: 0 } },
      { op: 'Reshape', inputs: ['W', 'w_shape'], outputs: ['W_runtime'] },
      { op: 'MatMul', inputs: ['x', 'W_runtime'], outputs: ['y'] },
    ],
  });
}

/** Two outputs: y = Relu(x·W + b) float32 [N,4] and label = ArgMax(y) int64 [N]. */
export function multiOutputModel(): Uint8Array {
  return buildModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 8] }],
    outputs: [
      { name: 'y', dtype: 'float32', shape: ['N', 4] },
      { name: 'label', dtype: 'int64', shape: ['N'] },
    ],
    initializers: [f32('W', [8, 4], seededFloats(32, 7)), f32('b', [4], seededFloats(4, 8))],
    nodes: [
      { op: 'MatMul', inputs: ['x', 'W'], outputs: ['xw'] },
      { op: 'Add', inputs: ['xw', 'b'], outputs: ['z'] },
      { op: 'Relu', inputs: ['z'], outputs: ['y'] },
      { op: 'ArgMax', inputs: ['y'], outputs: ['label'], attrs: { axis: 1, keepdims: 0 } },
    ],
  });
}

/**
 * y = x · xᵀ, shape [N,N]: both output axes scale with the batch, so finding "the" batch
 * axis of the output by comparing two batch sizes is ambiguous.
 */
export function twoBatchAxesAmbiguousModel(): Uint8Array {
  return buildModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 8] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 'N'] }],
    nodes: [
      { op: 'Transpose', inputs: ['x'], outputs: ['xt'], attrs: { perm: [1, 0] } },
      { op: 'MatMul', inputs: ['x', 'xt'], outputs: ['y'] },
    ],
  });
}

/**
 * A model with one large float32 initializer of about `megabytes` MB (for benchmarks of graph
 * instrumentation): x [N,64] · W [64, cols] -> ReduceMean over cols -> y [N,1].
 */
export function bigModel(megabytes: number): Uint8Array {
  const k = 64;
  const cols = Math.max(1, Math.round((megabytes * 1024 * 1024) / 4 / k));
  return buildModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: ['N', k] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 1] }],
    initializers: [f32('W', [k, cols], seededFloats(k * cols, 5))],
    nodes: [
      { op: 'MatMul', inputs: ['x', 'W'], outputs: ['xw'] },
      { op: 'Relu', inputs: ['xw'], outputs: ['h'] },
      { op: 'ReduceMean', inputs: ['h'], outputs: ['y'], attrs: { axes: [1], keepdims: 1 } },
    ],
  });
}

// ---------------------------------------------------------------------------------------
// BatchNorm models for the running-statistics checks. Two BatchNorms with a per-channel affine
// step between them, so the statistics each one should store follow from the data's:
//   x [N,4,6,6] ~ N(BN_DATA.mean[c], BN_DATA.std[c]²) per channel
//   -> bn1 (stats = the data's) -> h = y1 * A + D -> bn2 (stats = h's, in closed form) -> y

/** The calibration data's per-channel distribution (bnCalibrationData draws from it). */
export const BN_DATA = { mean: [0.5, -1, 2, 0], std: [1, 0.5, 2, 1.5] } as const;
const BN_EPS = 1e-5;
const BN1 = { scale: [1, 0.5, 2, 1.5], bias: [0, 0.1, -0.1, 0.2] };
const BN_A = [2, 1, 0.5, -1];
const BN_D = [1, 0, -1, 0.5];
const BN2 = { scale: [1, 1.5, 0.5, 1], bias: [0.1, 0, 0.2, -0.1] };

export type FloatDtype = 'float32' | 'float16' | 'float64';

export interface BnModelOptions {
  /** ai.onnx opset (default 15): 7 and 9 give BatchNormalization-7/-9, 14 and 15 the newer ones. */
  opset?: number;
  /** Element type of x, the parameters and the output (default float32). */
  dtype?: FloatDtype;
  /** How the BatchNorm parameters are stored (default 'raw' raw_data). */
  storage?: 'raw' | 'typed' | 'external';
  /** BatchNorms in training mode (training_mode=1, or the extra outputs in opset 7 to 13). */
  trainingMode?: boolean;
  /** Store wrong statistics for bn2: channel 1's mean off by 2 std, channel 2's variance x3. */
  staleBn2?: boolean;
  /** Initializer names: PyTorch's (`bn1.running_mean`, default) or anonymous (`onnx::BatchNormalization_3`). */
  names?: 'pytorch' | 'anonymous';
}

export interface BnModel {
  bytes: Uint8Array;
  /** For storage 'external': the data file to write beside the model, and its name. */
  externalFile?: { name: string; bytes: Uint8Array };
  /** The statistics each layer should store for the calibration data. */
  expected: { bn1: { mean: number[]; var: number[] }; bn2: { mean: number[]; var: number[] } };
}

/** The statistics of each BatchNorm's input under BN_DATA (population, in closed form). */
export function bnExpectedStats(): BnModel['expected'] {
  const v1 = BN_DATA.std.map((s) => s * s);
  const y1var = v1.map((v, c) => (BN1.scale[c] as number) ** 2 * (v / (v + BN_EPS)));
  return {
    bn1: { mean: [...BN_DATA.mean], var: v1 },
    bn2: {
      mean: BN1.bias.map((b, c) => b * (BN_A[c] as number) + (BN_D[c] as number)),
      var: y1var.map((v, c) => v * (BN_A[c] as number) ** 2),
    },
  };
}

const DTYPE_CODES: Record<FloatDtype, number> = { float32: DataType.FLOAT, float16: DataType.FLOAT16, float64: DataType.DOUBLE };

const halfBits = (v: number): number => floatToHalf(v);

/** Little-endian bytes of values in a float dtype. */
export function floatBytes(values: readonly number[] | Float64Array | Float32Array, dtype: FloatDtype): Uint8Array {
  const arr = Array.from(values);
  if (dtype === 'float32') return bytesOf(Float32Array.from(arr));
  if (dtype === 'float64') return bytesOf(Float64Array.from(arr));
  return bytesOf(Uint16Array.from(arr.map(halfBits)));
}

/** The two-BatchNorm model (see BN_DATA), in every storage, dtype and opset the checks support. */
export function bnModel(options: BnModelOptions = {}): BnModel {
  const opset = options.opset ?? 15;
  const dtype = options.dtype ?? 'float32';
  const storage = options.storage ?? 'raw';
  const code = DTYPE_CODES[dtype];
  const expected = bnExpectedStats();
  const stored = { bn1: expected.bn1, bn2: { mean: [...expected.bn2.mean], var: [...expected.bn2.var] } };
  if (options.staleBn2) {
    stored.bn2.mean[1] = (stored.bn2.mean[1] as number) + 2 * Math.sqrt(stored.bn2.var[1] as number);
    stored.bn2.var[2] = (stored.bn2.var[2] as number) * 3;
  }
  const external: Uint8Array[] = [];
  let offset = 0;
  let anon = 0;
  const param = (layer: 'bn1' | 'bn2', key: string, values: number[]) => {
    const name = options.names === 'anonymous' ? `onnx::BatchNormalization_${++anon}` : `${layer}.${key}`;
    const t: Record<string, unknown> = { name, dims: [values.length], dataType: code };
    const raw = floatBytes(values, dtype);
    if (storage === 'raw') t.rawData = raw;
    else if (storage === 'typed') {
      if (dtype === 'float32') t.floatData = values;
      else if (dtype === 'float64') t.doubleData = values;
      else t.int32Data = values.map(halfBits);
    } else {
      t.dataLocation = 1;
      t.externalData = [
        { key: 'location', value: 'bn_weights.bin' },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: String(raw.byteLength) },
      ];
      external.push(raw);
      offset += raw.byteLength;
    }
    return t;
  };
  const initializers = [
    param('bn1', 'weight', BN1.scale), param('bn1', 'bias', BN1.bias), param('bn1', 'running_mean', stored.bn1.mean), param('bn1', 'running_var', stored.bn1.var),
    param('bn2', 'weight', BN2.scale), param('bn2', 'bias', BN2.bias), param('bn2', 'running_mean', stored.bn2.mean), param('bn2', 'running_var', stored.bn2.var),
    { name: 'affine.a', dims: [4, 1, 1], dataType: code, rawData: floatBytes(BN_A, dtype) },
    { name: 'affine.d', dims: [4, 1, 1], dataType: code, rawData: floatBytes(BN_D, dtype) },
  ];
  const names = initializers.map((t) => t.name as string);
  const bnNode = (layer: 'bn1' | 'bn2', input: string, output: string, first: number) => {
    const attribute: OnnxAttributeInput[] = [
      { name: 'epsilon', type: AttributeType.FLOAT, f: BN_EPS },
      { name: 'momentum', type: AttributeType.FLOAT, f: 0.9 },
    ];
    let outputs = [output];
    if (options.trainingMode) {
      if (opset >= 14) {
        attribute.push({ name: 'training_mode', type: AttributeType.INT, i: 1 });
        outputs = [output, `${layer}.rm_out`, `${layer}.rv_out`];
      } else {
        outputs = [output, `${layer}.rm_out`, `${layer}.rv_out`, `${layer}.saved_mean`, `${layer}.saved_var`];
      }
    }
    return { name: `/${layer}/BatchNormalization`, opType: 'BatchNormalization', input: [input, ...names.slice(first, first + 4)], output: outputs, attribute };
  };
  const shape = { dim: [{ dimParam: 'N' }, { dimValue: 4 }, { dimValue: 6 }, { dimValue: 6 }] };
  const bytes = encodeModel({
    irVersion: 8,
    producerName: 'batchproof-test',
    opsetImport: [{ domain: '', version: opset }],
    graph: {
      name: 'bn_chain',
      input: [{ name: 'x', type: { tensorType: { elemType: code, shape } } }],
      output: [{ name: 'y', type: { tensorType: { elemType: code, shape } } }],
      initializer: initializers,
      node: [
        bnNode('bn1', 'x', 'y1', 0),
        { name: '/affine/Mul', opType: 'Mul', input: ['y1', 'affine.a'], output: ['h0'] },
        { name: '/affine/Add', opType: 'Add', input: ['h0', 'affine.d'], output: ['h'] },
        bnNode('bn2', 'h', 'y', 4),
      ],
    },
  } as OnnxModelInput);
  const out: BnModel = { bytes, expected };
  if (storage === 'external') {
    const all = new Uint8Array(offset);
    let at = 0;
    for (const e of external) {
      all.set(e, at);
      at += e.byteLength;
    }
    out.externalFile = { name: 'bn_weights.bin', bytes: all };
  }
  return out;
}

/**
 * Calibration samples x [n,4,6,6] from BN_DATA's distribution (seeded Gaussian); `shift` is
 * added to every value (a preprocessing mismatch).
 */
export function bnCalibrationData(n: number, options: { seed?: number; shift?: number; dtype?: FloatDtype } = {}): { dtype: string; dims: number[]; data: Float32Array | Float64Array | Uint16Array } {
  const dtype = options.dtype ?? 'float32';
  const count = n * 4 * 36;
  const values = new Float64Array(count);
  let s = (options.seed ?? 1) >>> 0 || 1;
  const uniform = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 4294967296;
  };
  for (let i = 0; i < count; i += 2) {
    const r = Math.sqrt(-2 * Math.log(uniform()));
    const t = 2 * Math.PI * uniform();
    values[i] = r * Math.cos(t);
    if (i + 1 < count) values[i + 1] = r * Math.sin(t);
  }
  for (let i = 0; i < count; i++) {
    const c = Math.floor(i / 36) % 4;
    values[i] = (BN_DATA.mean[c] as number) + (BN_DATA.std[c] as number) * (values[i] as number) + (options.shift ?? 0);
  }
  const data = dtype === 'float32' ? Float32Array.from(values) : dtype === 'float64' ? values : Uint16Array.from(values, halfBits);
  return { dtype, dims: [n, 4, 6, 6], data };
}

/**
 * The bnModel's training checkpoint in PyTorch state_dict names (plus a conv weight and
 * num_batches_tracked, which the checks ignore). `mismatch`: bn2.running_mean differs (as after
 * a training-mode export); `extraLayer`: statistics of a layer the model does not have;
 * `prefix`: a wrapper prefix such as 'module.'.
 */
export function bnCheckpoint(options: { mismatch?: boolean; extraLayer?: boolean; prefix?: string; noRunningStats?: 'bn2' } = {}): Record<string, { dtype: 'float32' | 'int64'; dims: number[]; data: Float32Array | BigInt64Array }> {
  const e = bnExpectedStats();
  const p = options.prefix ?? '';
  const f = (values: number[]) => ({ dtype: 'float32' as const, dims: [values.length], data: Float32Array.from(values) });
  const bn2mean = [...e.bn2.mean];
  if (options.mismatch) bn2mean[0] = (bn2mean[0] as number) + 0.3;
  const out: Record<string, { dtype: 'float32' | 'int64'; dims: number[]; data: Float32Array | BigInt64Array }> = {
    [`${p}stem.weight`]: { dtype: 'float32', dims: [4, 4, 1, 1], data: seededFloats(16, 3) },
    [`${p}bn1.weight`]: f(BN1.scale), [`${p}bn1.bias`]: f(BN1.bias), [`${p}bn1.running_mean`]: f(e.bn1.mean), [`${p}bn1.running_var`]: f(e.bn1.var),
    [`${p}bn1.num_batches_tracked`]: { dtype: 'int64', dims: [], data: BigInt64Array.from([100n]) },
    [`${p}bn2.weight`]: f(BN2.scale), [`${p}bn2.bias`]: f(BN2.bias),
  };
  if (options.noRunningStats !== 'bn2') {
    out[`${p}bn2.running_mean`] = f(bn2mean);
    out[`${p}bn2.running_var`] = f(e.bn2.var);
  }
  if (options.extraLayer) {
    out[`${p}bn3.running_mean`] = f([0, 0, 0, 0]);
    out[`${p}bn3.running_var`] = f([1, 1, 1, 1]);
  }
  return out;
}

/** What an eval-mode export with constant folding leaves: the BatchNorm folded into the Conv. */
export function foldedBnModel(): Uint8Array {
  return buildModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 4, 6, 6] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 4, 6, 6] }],
    initializers: [f32('conv1.weight', [4, 4, 1, 1], seededFloats(16, 9)), f32('conv1.bias', [4], seededFloats(4, 10))],
    nodes: [{ op: 'Conv', inputs: ['x', 'conv1.weight', 'conv1.bias'], outputs: ['y'], name: '/conv1/Conv' }],
  });
}

/** A BatchNorm whose running mean and variance are graph inputs: nothing stored to check. */
export function bnInputStatsModel(): Uint8Array {
  return buildModel({
    opset: 15,
    inputs: [
      { name: 'x', dtype: 'float32', shape: ['N', 4, 6, 6] },
      { name: 'mean', dtype: 'float32', shape: [4] },
      { name: 'var', dtype: 'float32', shape: [4] },
    ],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 4, 6, 6] }],
    initializers: [f32('scale', [4], [1, 1, 1, 1]), f32('bias', [4], [0, 0, 0, 0])],
    nodes: [{ op: 'BatchNormalization', inputs: ['x', 'scale', 'bias', 'mean', 'var'], outputs: ['y'], name: '/bn/BatchNormalization' }],
  });
}

/**
 * A LayerNorm written out op by op (ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add),
 * which onnxruntime fuses into one LayerNormalization kernel, then a mean over the batch
 * subtracted (leakage). Exposing the intermediate values stops the fusion, and the fused kernel
 * rounds differently, so the instrumented model's outputs differ from the plain model's in the
 * last bits: the case locate's guard exists for. x [N,16,64] -> y [N,16,64].
 */
export function layerNormLeakyModel(): Uint8Array {
  const d = 64;
  return buildModel({
    opset: 17,
    inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 16, d] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 16, d] }],
    initializers: [f32('two', [], [2]), f32('eps', [], [1e-5]), f32('gamma', [d], seededFloats(d, 5)), f32('beta', [d], seededFloats(d, 6))],
    nodes: [
      { op: 'ReduceMean', inputs: ['x'], outputs: ['mu'], attrs: { axes: [-1] } },
      { op: 'Sub', inputs: ['x', 'mu'], outputs: ['centred'] },
      { op: 'Pow', inputs: ['centred', 'two'], outputs: ['sq'] },
      { op: 'ReduceMean', inputs: ['sq'], outputs: ['var'], attrs: { axes: [-1] } },
      { op: 'Add', inputs: ['var', 'eps'], outputs: ['var_eps'] },
      { op: 'Sqrt', inputs: ['var_eps'], outputs: ['std'] },
      { op: 'Div', inputs: ['centred', 'std'], outputs: ['normed'] },
      { op: 'Mul', inputs: ['normed', 'gamma'], outputs: ['scaled'] },
      { op: 'Add', inputs: ['scaled', 'beta'], outputs: ['ln'] },
      { op: 'ReduceMean', inputs: ['ln'], outputs: ['batch_mean'], attrs: { axes: [0], keepdims: 1 }, name: 'batch_mean' },
      { op: 'Sub', inputs: ['ln', 'batch_mean'], outputs: ['y'] },
    ],
  });
}

/**
 * A text embedder whose pooling masks the pads' values but not their count: the mean of
 * emb * mask over every position (sum / sequence length). Other pad ids change nothing, the
 * number of pads does: the padding cause with ids that do not matter.
 */
export function padCountingModel(): Uint8Array {
  return buildModel({
    opset: 17,
    inputs: [
      { name: 'input_ids', dtype: 'int64', shape: ['batch', 'sequence'] },
      { name: 'attention_mask', dtype: 'int64', shape: ['batch', 'sequence'] },
    ],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['batch', 8] }],
    initializers: [
      { name: 'table', dtype: 'float32', dims: [50, 8], data: seededFloats(400, 5) },
      { name: 'ax2', dtype: 'int64', dims: [1], data: BigInt64Array.from([2n]) },
    ],
    nodes: [
      { op: 'Gather', inputs: ['table', 'input_ids'], outputs: ['e'], attrs: { axis: 0 } },
      { op: 'Cast', inputs: ['attention_mask'], outputs: ['mf'], attrs: { to: DataType.FLOAT } },
      { op: 'Unsqueeze', inputs: ['mf', 'ax2'], outputs: ['m3'] },
      { op: 'Mul', inputs: ['e', 'm3'], outputs: ['em'] },
      { op: 'ReduceMean', inputs: ['em'], outputs: ['y'], attrs: { axes: [1], keepdims: 0 } },
    ],
  } as never);
}
