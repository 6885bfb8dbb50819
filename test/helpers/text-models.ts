/**
 * Tiny text embedders for fast tests, built with buildModel (no Python, no checked-in files).
 * Every model has the Hugging Face signature: `input_ids`, `attention_mask`, `token_type_ids`,
 * all int64 [batch, sequence] (dims named 'batch' and 'sequence', as HF exports name them),
 * a token table of TEXT_VOCAB rows and a 2-row token-type table. Pads are id 0, mask 0.
 * Each factory is a positive or a negative control for the padding and diagnosis checks.
 */
import { DataType } from '../../src/onnx/proto';
import { buildModel, seededFloats, type NodeSpec, type TensorSpec, type ValueSpec } from './models';

/** Rows of the token table: `input_ids` must stay below it. */
export const TEXT_VOCAB = 50;
/** Rows of the token-type table. */
export const TEXT_TYPES = 2;
/** Width of every embedding and of the pooled output. */
export const TEXT_DIM = 8;

const D = TEXT_DIM;
const f32 = (name: string, dims: number[], data: ArrayLike<number>): TensorSpec => ({ name, dtype: 'float32', dims, data });
const i64 = (name: string, dims: number[], data: number[]): TensorSpec => ({ name, dtype: 'int64', dims, data });

const TEXT_INPUTS: ValueSpec[] = [
  { name: 'input_ids', dtype: 'int64', shape: ['batch', 'sequence'] },
  { name: 'attention_mask', dtype: 'int64', shape: ['batch', 'sequence'] },
  { name: 'token_type_ids', dtype: 'int64', shape: ['batch', 'sequence'] },
];
const POOLED: ValueSpec = { name: 'y', dtype: 'float32', shape: ['batch', D] };
const HIDDEN: ValueSpec = { name: 'hidden', dtype: 'float32', shape: ['batch', 'sequence', D] };

/** Token and token-type tables. */
function tableInitializers(): TensorSpec[] {
  return [
    f32('embeddings.word_embeddings.weight', [TEXT_VOCAB, D], seededFloats(TEXT_VOCAB * D, 21)),
    f32('embeddings.token_type_embeddings.weight', [TEXT_TYPES, D], seededFloats(TEXT_TYPES * D, 22)),
  ];
}

/** The tables and the constants masked pooling uses (onnxruntime warns about unused ones). */
function baseInitializers(): TensorSpec[] {
  return [...tableInitializers(), i64('axes_seq', [1], [1]), i64('axes_last', [1], [2]), f32('min_count', [], [1e-9])];
}

/** emb [batch, sequence, D] = word table[input_ids] + type table[token_type_ids]. */
function embeddingNodes(): NodeSpec[] {
  return [
    { op: 'Gather', inputs: ['embeddings.word_embeddings.weight', 'input_ids'], outputs: ['tok'], attrs: { axis: 0 }, name: '/embeddings/word_embeddings/Gather' },
    { op: 'Gather', inputs: ['embeddings.token_type_embeddings.weight', 'token_type_ids'], outputs: ['typ'], attrs: { axis: 0 }, name: '/embeddings/token_type_embeddings/Gather' },
    { op: 'Add', inputs: ['tok', 'typ'], outputs: ['emb'], name: '/embeddings/Add' },
  ];
}

/**
 * Masked mean pooling as sentence-transformers does it: sum(h * mask) / max(sum(mask), 1e-9)
 * over the sequence axis. `h` [batch, sequence, D] -> `out` [batch, D].
 */
function maskedPoolingNodes(h: string, out: string): NodeSpec[] {
  return [
    { op: 'Cast', inputs: ['attention_mask'], outputs: ['mask_f'], attrs: { to: DataType.FLOAT }, name: '/pooling/Cast' },
    { op: 'Unsqueeze', inputs: ['mask_f', 'axes_last'], outputs: ['mask3'], name: '/pooling/Unsqueeze' },
    { op: 'Mul', inputs: [h, 'mask3'], outputs: ['masked'], name: '/pooling/Mul' },
    { op: 'ReduceSum', inputs: ['masked', 'axes_seq'], outputs: ['summed'], attrs: { keepdims: 0 }, name: '/pooling/ReduceSum' },
    { op: 'ReduceSum', inputs: ['mask3', 'axes_seq'], outputs: ['count'], attrs: { keepdims: 0 }, name: '/pooling/ReduceSum_1' },
    { op: 'Max', inputs: ['count', 'min_count'], outputs: ['count_clamped'], name: '/pooling/Max' },
    { op: 'Div', inputs: ['summed', 'count_clamped'], outputs: [out], name: '/pooling/Div' },
  ];
}

/**
 * Positive control: token + type embeddings, then masked mean pooling. A text's embedding
 * does not depend on its pads (nor on its batch-mates). y [batch, 8].
 */
export function maskedPoolingModel(): Uint8Array {
  return buildModel({
    opset: 17,
    inputs: TEXT_INPUTS,
    outputs: [POOLED],
    initializers: baseInitializers(),
    nodes: [...embeddingNodes(), ...maskedPoolingNodes('emb', 'y')],
  });
}

/**
 * Negative control (cause `padding`): the mean over the sequence axis ignores the mask, so pad
 * tokens count as text and a text's embedding changes with the length it is padded to.
 * `attention_mask` is declared (the HF signature) and unused, as in the exports users file.
 */
export function unmaskedPoolingModel(): Uint8Array {
  return buildModel({
    opset: 17,
    inputs: TEXT_INPUTS,
    outputs: [POOLED],
    initializers: tableInitializers(),
    nodes: [
      ...embeddingNodes(),
      { op: 'ReduceMean', inputs: ['emb'], outputs: ['y'], attrs: { axes: [1], keepdims: 0 }, name: '/pooling/ReduceMean' },
    ],
  });
}

/**
 * Negative control (cause `leakage`, diagnosis `batch-reduction`): masked pooling, then the
 * mean over the batch axis subtracted (embeddings centred by the batch mean). y [batch, 8].
 */
export function batchMeanCentringModel(): Uint8Array {
  return buildModel({
    opset: 17,
    inputs: TEXT_INPUTS,
    outputs: [POOLED],
    initializers: baseInitializers(),
    nodes: [
      ...embeddingNodes(),
      ...maskedPoolingNodes('emb', 'pooled'),
      { op: 'ReduceMean', inputs: ['pooled'], outputs: ['batch_mean'], attrs: { axes: [0], keepdims: 1 }, name: '/centre/ReduceMean' },
      { op: 'Sub', inputs: ['pooled', 'batch_mean'], outputs: ['y'], name: '/centre/Sub' },
    ],
  });
}

/** Per-tensor symmetric int8 weights for W [D, D] and their scale. */
function quantizedWeights(seed: number): { q: number[]; scale: number } {
  const w = seededFloats(D * D, seed);
  let max = 0;
  for (const v of w) max = Math.max(max, Math.abs(v));
  const scale = max / 127;
  return { q: Array.from(w, (v) => Math.max(-127, Math.min(127, Math.round(v / scale)))), scale };
}

/**
 * Negative control (cause `leakage`, diagnosis `dynamic-quantization`): masked pooling, then a
 * linear layer the way onnxruntime's quantize_dynamic rewrites it: DynamicQuantizeLinear on the
 * activation (one uint8 scale and zero point over the whole tensor, batch included), int8
 * weights, MatMulInteger, Cast, Mul by the two scales, bias Add. y [batch, 8].
 */
export function dynamicQuantizedTextModel(): Uint8Array {
  const { q, scale } = quantizedWeights(23);
  return buildModel({
    opset: 17,
    inputs: TEXT_INPUTS,
    outputs: [POOLED],
    initializers: [
      ...baseInitializers(),
      { name: 'dense.weight_quantized', dtype: 'int8', dims: [D, D], data: q },
      f32('dense.weight_scale', [], [scale]),
      { name: 'dense.weight_zero_point', dtype: 'int8', dims: [], data: [0] },
      f32('dense.bias', [D], seededFloats(D, 24)),
    ],
    nodes: [
      ...embeddingNodes(),
      ...maskedPoolingNodes('emb', 'pooled'),
      { op: 'DynamicQuantizeLinear', inputs: ['pooled'], outputs: ['pooled_q', 'pooled_scale', 'pooled_zp'], name: '/dense/MatMul_quant' },
      {
        op: 'MatMulInteger',
        inputs: ['pooled_q', 'dense.weight_quantized', 'pooled_zp', 'dense.weight_zero_point'],
        outputs: ['mm_i32'],
        name: '/dense/MatMul_MatMulInteger',
      },
      { op: 'Cast', inputs: ['mm_i32'], outputs: ['mm_f'], attrs: { to: DataType.FLOAT }, name: '/dense/MatMul_output_quantized_cast' },
      { op: 'Mul', inputs: ['pooled_scale', 'dense.weight_scale'], outputs: ['mm_scale'], name: '/dense/MatMul_scales_mul' },
      { op: 'Mul', inputs: ['mm_f', 'mm_scale'], outputs: ['mm'], name: '/dense/MatMul_output_scale_mul' },
      { op: 'Add', inputs: ['mm', 'dense.bias'], outputs: ['y'], name: '/dense/Add' },
    ],
  });
}

/**
 * One-head self-attention over the token embeddings, a residual, then masked mean pooling.
 * honourMask: (1 - mask) * -10000 is added to the scores before Softmax, as HF BERT does, so
 * pads get no attention (positive control). Without it pads reach every real token's hidden
 * state (negative control, cause `padding`, diagnosis `unmasked-padding`) though pooling is masked.
 * Outputs y [batch, 8] and hidden [batch, sequence, 8] (compare only real positions).
 */
export function maskedAttentionModel(honourMask: boolean): Uint8Array {
  const scores = honourMask ? 'scores_raw' : 'scores';
  const maskNodes: NodeSpec[] = honourMask
    ? [
        { op: 'Cast', inputs: ['attention_mask'], outputs: ['attn_mask_f'], attrs: { to: DataType.FLOAT }, name: '/attention/mask/Cast' },
        { op: 'Sub', inputs: ['one', 'attn_mask_f'], outputs: ['inverted'], name: '/attention/mask/Sub' },
        { op: 'Mul', inputs: ['inverted', 'neg_big'], outputs: ['additive'], name: '/attention/mask/Mul' },
        { op: 'Unsqueeze', inputs: ['additive', 'axes_seq'], outputs: ['additive3'], name: '/attention/mask/Unsqueeze' },
        { op: 'Add', inputs: ['scores_raw', 'additive3'], outputs: ['scores'], name: '/attention/mask/Add' },
      ]
    : [];
  return buildModel({
    opset: 17,
    inputs: TEXT_INPUTS,
    outputs: [POOLED, HIDDEN],
    initializers: [
      ...baseInitializers(),
      f32('attention.query.weight', [D, D], seededFloats(D * D, 25)),
      f32('attention.key.weight', [D, D], seededFloats(D * D, 26)),
      f32('attention.value.weight', [D, D], seededFloats(D * D, 27)),
      f32('inv_sqrt_d', [], [1 / Math.sqrt(D)]),
      ...(honourMask ? [f32('one', [], [1]), f32('neg_big', [], [-10000])] : []),
    ],
    nodes: [
      ...embeddingNodes(),
      { op: 'MatMul', inputs: ['emb', 'attention.query.weight'], outputs: ['q'], name: '/attention/query/MatMul' },
      { op: 'MatMul', inputs: ['emb', 'attention.key.weight'], outputs: ['k'], name: '/attention/key/MatMul' },
      { op: 'MatMul', inputs: ['emb', 'attention.value.weight'], outputs: ['v'], name: '/attention/value/MatMul' },
      { op: 'Transpose', inputs: ['k'], outputs: ['kt'], attrs: { perm: [0, 2, 1] }, name: '/attention/Transpose' },
      { op: 'MatMul', inputs: ['q', 'kt'], outputs: ['qk'], name: '/attention/MatMul' },
      { op: 'Mul', inputs: ['qk', 'inv_sqrt_d'], outputs: [scores], name: '/attention/Mul' },
      ...maskNodes,
      { op: 'Softmax', inputs: ['scores'], outputs: ['probs'], attrs: { axis: -1 }, name: '/attention/Softmax' },
      { op: 'MatMul', inputs: ['probs', 'v'], outputs: ['context'], name: '/attention/MatMul_1' },
      { op: 'Add', inputs: ['context', 'emb'], outputs: ['hidden'], name: '/attention/output/Add' },
      ...maskedPoolingNodes('hidden', 'y'),
    ],
  });
}

/** How a real export may differ from the HF signature above (exportedTextModel). */
export interface ExportShape {
  /** Batch and sequence dims as declared (a number fixes the sequence length). */
  batch?: string;
  seq?: string | number;
  ids?: { name?: string; dtype?: 'int64' | 'int32'; vocab?: number };
  mask?: { name?: string; dtype?: 'int64' | 'int32' | 'bool' | 'float32' | 'float16' };
  /** A token_type_ids input (2-row table). */
  types?: boolean;
  /** 'input': a position_ids input indexing a table; 'from-mask': positions computed in the graph as cumsum(mask) - 1 (left-padding models). */
  positions?: { from: 'input' | 'from-mask'; name?: string; rows?: number };
  /** Pooling honours the mask (default true); false: a plain mean over the sequence (negative control). */
  masked?: boolean;
  /** Also output token embeddings `last_hidden_state` [batch, seq, 8] (first), and an int64 `label` [batch] (ArgMax). */
  hidden?: boolean;
  label?: boolean;
  /** More inputs, fed to nothing (onnxruntime keeps unused graph inputs). */
  extraInputs?: ValueSpec[];
  /** More nodes, e.g. to gather an extra input into the token table. */
  extraNodes?: NodeSpec[];
}

/**
 * A configurable embedder for the shapes real exports take: token ids (and types, positions)
 * through their tables, masked mean pooling to `pooled` [batch, 8]. With `positions.from:
 * 'from-mask'`, positions follow the mask (pads first is as good as pads last).
 */
export function exportedTextModel(o: ExportShape = {}): Uint8Array {
  const B = o.batch ?? 'batch';
  const S = o.seq ?? 'sequence';
  const ids = o.ids?.name ?? 'input_ids';
  const mask = o.mask?.name ?? 'attention_mask';
  const vocab = o.ids?.vocab ?? TEXT_VOCAB;
  const pos = o.positions?.name ?? 'position_ids';
  const posRows = o.positions?.rows ?? 64;
  const inputs: ValueSpec[] = [
    { name: ids, dtype: o.ids?.dtype ?? 'int64', shape: [B, S] },
    { name: mask, dtype: o.mask?.dtype ?? 'int64', shape: [B, S] },
    ...(o.types ? [{ name: 'token_type_ids', dtype: 'int64', shape: [B, S] }] : []),
    ...(o.positions?.from === 'input' ? [{ name: pos, dtype: 'int64', shape: [B, S] }] : []),
    ...(o.extraInputs ?? []),
  ];
  const inits: TensorSpec[] = [f32('embeddings.word_embeddings.weight', [vocab, D], seededFloats(vocab * D, 21)), i64('axes_seq', [1], [1]), i64('axes_last', [1], [2]), f32('min_count', [], [1e-9])];
  const nodes: NodeSpec[] = [{ op: 'Gather', inputs: ['embeddings.word_embeddings.weight', ids], outputs: ['emb0'], attrs: { axis: 0 }, name: '/embeddings/word_embeddings/Gather' }, ...(o.extraNodes ?? [])];
  let emb = 'emb0';
  const add = (other: string, out: string) => {
    nodes.push({ op: 'Add', inputs: [emb, other], outputs: [out] });
    emb = out;
  };
  if (o.types) {
    inits.push(f32('embeddings.token_type_embeddings.weight', [TEXT_TYPES, D], seededFloats(TEXT_TYPES * D, 22)));
    nodes.push({ op: 'Gather', inputs: ['embeddings.token_type_embeddings.weight', 'token_type_ids'], outputs: ['typ'], attrs: { axis: 0 }, name: '/embeddings/token_type_embeddings/Gather' });
    add('typ', 'emb1');
  }
  if (o.positions) {
    inits.push(f32('embeddings.position_embeddings.weight', [posRows, D], seededFloats(posRows * D, 23)));
    let pids = pos;
    if (o.positions.from === 'from-mask') {
      inits.push(i64('one64', [], [1]), i64('zero64', [], [0]), i64('axis1', [], [1]));
      nodes.push(
        { op: 'Cast', inputs: [mask], outputs: ['mask_i'], attrs: { to: DataType.INT64 } },
        { op: 'CumSum', inputs: ['mask_i', 'axis1'], outputs: ['mask_cumsum'] },
        { op: 'Sub', inputs: ['mask_cumsum', 'one64'], outputs: ['pos_raw'] },
        { op: 'Max', inputs: ['pos_raw', 'zero64'], outputs: ['pos_from_mask'] },
      );
      pids = 'pos_from_mask';
    }
    nodes.push({ op: 'Gather', inputs: ['embeddings.position_embeddings.weight', pids], outputs: ['pe'], attrs: { axis: 0 }, name: '/embeddings/position_embeddings/Gather' });
    add('pe', 'emb2');
  }
  const outputs: ValueSpec[] = [{ name: 'pooled', dtype: 'float32', shape: [B, D] }];
  if (o.masked === false) {
    nodes.push({ op: 'ReduceMean', inputs: [emb], outputs: ['pooled'], attrs: { axes: [1], keepdims: 0 }, name: '/pooling/ReduceMean' });
  } else {
    nodes.push(
      { op: 'Cast', inputs: [mask], outputs: ['mask_f'], attrs: { to: DataType.FLOAT }, name: '/pooling/Cast' },
      { op: 'Unsqueeze', inputs: ['mask_f', 'axes_last'], outputs: ['mask3'], name: '/pooling/Unsqueeze' },
      { op: 'Mul', inputs: [emb, 'mask3'], outputs: ['masked'], name: '/pooling/Mul' },
      { op: 'ReduceSum', inputs: ['masked', 'axes_seq'], outputs: ['summed'], attrs: { keepdims: 0 }, name: '/pooling/ReduceSum' },
      { op: 'ReduceSum', inputs: ['mask3', 'axes_seq'], outputs: ['count'], attrs: { keepdims: 0 }, name: '/pooling/ReduceSum_1' },
      { op: 'Max', inputs: ['count', 'min_count'], outputs: ['count_clamped'], name: '/pooling/Max' },
      { op: 'Div', inputs: ['summed', 'count_clamped'], outputs: ['pooled'], name: '/pooling/Div' },
    );
  }
  if (o.hidden) {
    nodes.push({ op: 'Identity', inputs: [emb], outputs: ['last_hidden_state'] });
    outputs.unshift({ name: 'last_hidden_state', dtype: 'float32', shape: [B, S, D] });
  }
  if (o.label) {
    nodes.push({ op: 'ArgMax', inputs: ['pooled'], outputs: ['label'], attrs: { axis: 1, keepdims: 0 } });
    outputs.push({ name: 'label', dtype: 'int64', shape: [B] });
  }
  // Unused constants make onnxruntime warn: keep only those a node reads.
  const used = new Set(nodes.flatMap((n) => n.inputs));
  return buildModel({ opset: 17, inputs, outputs, initializers: inits.filter((t) => used.has(t.name as string)), nodes });
}
