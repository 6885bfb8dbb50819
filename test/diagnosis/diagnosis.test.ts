import * as fs from 'fs';
import * as path from 'path';
import * as ort from 'onnxruntime-node';
import { checkBatchInvariance, locateDivergence } from '../../src';
import { diagnose, firstPaddingNode, graphSuspects } from '../../src/diagnosis';
import { readGraph } from '../../src/onnx/graph';
import { DataType } from '../../src/onnx/proto';
import { dynamicQuantizedTextModel, maskedAttentionModel, maskedPoolingModel, unmaskedPoolingModel } from '../helpers/text-models';
import { batchNormTrainingModel, bnModel, buildModel, int64Model, invariantModel, layerNormLeakyModel, leakyModel, seededFloats, type TensorSpec } from '../helpers/models';

const f32 = (name: string, dims: number[], data: ArrayLike<number>): TensorSpec => ({ name, dtype: 'float32', dims, data });
const i64 = (name: string, dims: number[], data: number[]): TensorSpec => ({ name, dtype: 'int64', dims, data });

/**
 * What onnxruntime's quantize_dynamic makes of y = x·W: DynamicQuantizeLinear on the
 * activation (one scale for the whole tensor), int8 weight, MatMulInteger, Cast, Mul by the scales.
 */
function dynamicQuantModel(): Uint8Array {
  const w = Array.from(seededFloats(32, 7), (v) => Math.round(v * 127));
  return buildModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 8] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 4] }],
    initializers: [
      { name: 'W_quantized', dtype: 'int8', dims: [8, 4], data: w },
      { name: 'W_zero_point', dtype: 'int8', dims: [], data: [0] },
      f32('W_scale', [], [0.01]),
    ],
    nodes: [
      { op: 'DynamicQuantizeLinear', inputs: ['x'], outputs: ['x_quantized', 'x_scale', 'x_zero_point'], name: 'x_QuantizeLinear' },
      { op: 'MatMulInteger', inputs: ['x_quantized', 'W_quantized', 'x_zero_point', 'W_zero_point'], outputs: ['y_int'], name: 'MatMul_quant' },
      { op: 'Cast', inputs: ['y_int'], outputs: ['y_float'], attrs: { to: DataType.FLOAT }, name: 'Cast' },
      { op: 'Mul', inputs: ['x_scale', 'W_scale'], outputs: ['scale'], name: 'scales_Mul' },
      { op: 'Mul', inputs: ['y_float', 'scale'], outputs: ['y'], name: 'output_Mul' },
    ],
  });
}

/**
 * A one-layer text encoder: ids [N,seq] -> embeddings -> self-attention -> pooling over seq.
 * `attention` / `pooling`: whether each applies attention_mask.
 */
function encoderModel(options: { attention: boolean; pooling: boolean }): Uint8Array {
  const d = 8;
  const nodes: Parameters<typeof buildModel>[0]['nodes'] = [
    { op: 'Gather', inputs: ['table', 'input_ids'], outputs: ['emb'], attrs: { axis: 0 }, name: 'embeddings' },
    { op: 'MatMul', inputs: ['emb', 'Wq'], outputs: ['q'], name: 'q_proj' },
    { op: 'MatMul', inputs: ['emb', 'Wk'], outputs: ['k'], name: 'k_proj' },
    { op: 'MatMul', inputs: ['emb', 'Wv'], outputs: ['v'], name: 'v_proj' },
    { op: 'Transpose', inputs: ['k'], outputs: ['kT'], attrs: { perm: [0, 2, 1] }, name: 'k_T' },
    { op: 'MatMul', inputs: ['q', 'kT'], outputs: ['scores'], name: 'scores' },
  ];
  if (options.attention) {
    nodes.push(
      { op: 'Unsqueeze', inputs: ['attention_mask', 'axes1'], outputs: ['mask3'], name: 'mask_unsqueeze' },
      { op: 'Cast', inputs: ['mask3'], outputs: ['maskf'], attrs: { to: DataType.FLOAT }, name: 'mask_cast' },
      { op: 'Sub', inputs: ['one', 'maskf'], outputs: ['inv'], name: 'mask_invert' },
      { op: 'Mul', inputs: ['inv', 'neg_big'], outputs: ['bias'], name: 'mask_bias' },
      { op: 'Add', inputs: ['scores', 'bias'], outputs: ['masked_scores'], name: 'add_mask' },
      { op: 'Softmax', inputs: ['masked_scores'], outputs: ['probs'], attrs: { axis: -1 }, name: 'attn_softmax' },
    );
  } else {
    nodes.push({ op: 'Softmax', inputs: ['scores'], outputs: ['probs'], attrs: { axis: -1 }, name: 'attn_softmax' });
  }
  nodes.push({ op: 'MatMul', inputs: ['probs', 'v'], outputs: ['ctx'], name: 'attn_out' });
  if (options.pooling) {
    nodes.push(
      { op: 'Unsqueeze', inputs: ['attention_mask', 'axes2'], outputs: ['pmask'], name: 'pool_unsqueeze' },
      { op: 'Cast', inputs: ['pmask'], outputs: ['pmaskf'], attrs: { to: DataType.FLOAT }, name: 'pool_cast' },
      { op: 'Mul', inputs: ['ctx', 'pmaskf'], outputs: ['masked_ctx'], name: 'pool_mul' },
      { op: 'ReduceSum', inputs: ['masked_ctx', 'axes1'], outputs: ['summed'], attrs: { keepdims: 0 }, name: 'pool_sum' },
      { op: 'ReduceSum', inputs: ['pmaskf', 'axes1'], outputs: ['count'], attrs: { keepdims: 0 }, name: 'pool_count' },
      { op: 'Div', inputs: ['summed', 'count'], outputs: ['pooled'], name: 'pool_div' },
    );
  } else {
    nodes.push({ op: 'ReduceMean', inputs: ['ctx'], outputs: ['pooled'], attrs: { axes: [1], keepdims: 0 }, name: 'pool_mean' });
  }
  return buildModel({
    opset: 17,
    inputs: [
      { name: 'input_ids', dtype: 'int64', shape: ['batch', 'sequence'] },
      { name: 'attention_mask', dtype: 'int64', shape: ['batch', 'sequence'] },
    ],
    outputs: [{ name: 'pooled', dtype: 'float32', shape: ['batch', d] }],
    initializers: [
      f32('table', [50, d], seededFloats(50 * d, 3)),
      f32('Wq', [d, d], seededFloats(d * d, 4)),
      f32('Wk', [d, d], seededFloats(d * d, 5)),
      f32('Wv', [d, d], seededFloats(d * d, 6)),
      ...(options.attention ? [f32('one', [], [1]), f32('neg_big', [], [-1e9])] : []),
      ...(options.attention || options.pooling ? [i64('axes1', [1], [1])] : []),
      ...(options.pooling ? [i64('axes2', [1], [2])] : []),
    ],
    nodes,
  });
}

const kinds = (ds: { kind: string }[]) => ds.map((d) => d.kind);

describe('graphSuspects: what the graph alone shows', () => {
  test('dynamic quantization: the DynamicQuantizeLinear and the MatMulInteger it feeds', () => {
    const s = graphSuspects(readGraph(dynamicQuantModel()));
    expect(s).toEqual([expect.objectContaining({ kind: 'dynamic-quantization', nodes: ['x_QuantizeLinear', 'MatMul_quant'], certain: true })]);
    expect(s[0]?.detail).toContain('one quantization scale per tensor, over the whole batch');
  });

  test('a DynamicQuantizeLinear on a weight (not batched) is not dynamic quantization of the batch', () => {
    const bytes = buildModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 8] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 4] }],
      initializers: [f32('W', [8, 4], seededFloats(32, 2))],
      nodes: [
        { op: 'DynamicQuantizeLinear', inputs: ['W'], outputs: ['wq', 'ws', 'wz'] },
        { op: 'DequantizeLinear', inputs: ['wq', 'ws', 'wz'], outputs: ['wd'] },
        { op: 'MatMul', inputs: ['x', 'wd'], outputs: ['y'] },
      ],
    });
    expect(graphSuspects(readGraph(bytes))).toEqual([]);
  });

  test('batchnorm-training: training_mode=1, and the training outputs of opset 7 to 13', () => {
    expect(graphSuspects(readGraph(batchNormTrainingModel()))).toEqual([
      expect.objectContaining({ kind: 'batchnorm-training', nodes: ['BatchNormalization_0'], certain: true, detail: expect.stringContaining('training_mode=1') }),
    ]);
    const old = graphSuspects(readGraph(bnModel({ opset: 9, trainingMode: true }).bytes));
    expect(old).toEqual([expect.objectContaining({ kind: 'batchnorm-training', nodes: ['/bn1/BatchNormalization', '/bn2/BatchNormalization'] })]);
    expect(graphSuspects(readGraph(bnModel({ opset: 15 }).bytes))).toEqual([]);
  });

  test('batch-reduction: ReduceMean over axis 0 of the batched input (leakyModel)', () => {
    expect(graphSuspects(readGraph(leakyModel()))).toEqual([
      expect.objectContaining({ kind: 'batch-reduction', nodes: ['ReduceMean_0'], certain: true, detail: expect.stringContaining("over the batch axis (axis 0) of a value computed from input 'x'") }),
    ]);
  });

  test('reductions over other axes are not batch-reduction: axis 1, a LayerNorm over -1, axis 0 after a Transpose', () => {
    expect(graphSuspects(readGraph(int64Model()))).toEqual([]); // ReduceMean over seq
    expect(graphSuspects(readGraph(invariantModel()))).toEqual([]);
    // The LayerNorm's ReduceMeans over -1 are per sample; only the batch mean after it counts.
    expect(graphSuspects(readGraph(layerNormLeakyModel()))).toEqual([expect.objectContaining({ kind: 'batch-reduction', nodes: ['batch_mean'] })]);
    const transposed = (axes: number[]) =>
      buildModel({
        inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 8] }],
        outputs: [{ name: 'y', dtype: 'float32' }],
        nodes: [
          { op: 'Transpose', inputs: ['x'], outputs: ['xt'], attrs: { perm: [1, 0] } },
          { op: 'ReduceMean', inputs: ['xt'], outputs: ['y'], attrs: { axes, keepdims: 1 }, name: 'mean' },
        ],
      });
    // After the Transpose the batch sits at axis 1: axis 0 is the features.
    expect(graphSuspects(readGraph(transposed([0])))).toEqual([]);
    expect(graphSuspects(readGraph(transposed([1])))).toEqual([expect.objectContaining({ kind: 'batch-reduction', nodes: ['mean'], detail: expect.stringContaining('(axis 1)') })]);
    expect(graphSuspects(readGraph(transposed([-1])))).toEqual([expect.objectContaining({ kind: 'batch-reduction', nodes: ['mean'] })]);
    // A batch mean no output depends on cannot leak.
    const dead = buildModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 8] }],
      outputs: [{ name: 'y', dtype: 'float32' }],
      nodes: [
        { op: 'ReduceMean', inputs: ['x'], outputs: ['unused'], attrs: { axes: [0] } },
        { op: 'Relu', inputs: ['x'], outputs: ['y'] },
      ],
    });
    expect(graphSuspects(readGraph(dead))).toEqual([]);
  });

  test('the batch axis given by the caller: a time-major input reduced over axis 1 (its batch)', () => {
    const bytes = buildModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: ['time', 'batch', 4] }],
      outputs: [{ name: 'y', dtype: 'float32' }],
      nodes: [
        { op: 'Relu', inputs: ['x'], outputs: ['h'] },
        { op: 'ReduceMean', inputs: ['h'], outputs: ['y'], attrs: { axes: [1], keepdims: 1 }, name: 'mean' },
      ],
    });
    const g = readGraph(bytes);
    // The batch-named dim wins by default; the caller's map wins over that.
    expect(kinds(graphSuspects(g))).toEqual(['batch-reduction']);
    expect(graphSuspects(g, { batchAxes: { x: 1 } })).toHaveLength(1);
    expect(graphSuspects(g, { batchAxes: { x: 0 } })).toEqual([]);
  });

  test('opset 18: constant axes input read from the model bytes; no axes means every axis unless noop_with_empty_axes', () => {
    const reduce = (inputs: string[], attrs: Record<string, number> = {}) =>
      buildModel({
        opset: 18,
        inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 8] }],
        outputs: [{ name: 'y', dtype: 'float32' }],
        initializers: [i64('axes0', [1], [0]), i64('axes1', [1], [1])],
        nodes: [{ op: 'ReduceMean', inputs, outputs: ['y'], attrs, name: 'mean' }],
      });
    const over0 = reduce(['x', 'axes0']);
    expect(kinds(graphSuspects(readGraph(over0), { modelBytes: over0 }))).toEqual(['batch-reduction']);
    // Without the bytes the axes are unknown: nothing claimed.
    expect(graphSuspects(readGraph(over0))).toEqual([]);
    const over1 = reduce(['x', 'axes1']);
    expect(graphSuspects(readGraph(over1), { modelBytes: over1 })).toEqual([]);
    const all = reduce(['x']);
    expect(graphSuspects(readGraph(all), { modelBytes: all })).toEqual([expect.objectContaining({ kind: 'batch-reduction', detail: expect.stringContaining('every axis') })]);
    const noop = reduce(['x'], { noop_with_empty_axes: 1 });
    expect(graphSuspects(readGraph(noop), { modelBytes: noop })).toEqual([]);
  });

  test('unmasked-padding: whether attention_mask reaches the attention Softmax and the pooling', () => {
    const facts = (m: Uint8Array) => graphSuspects(readGraph(m), { modelBytes: m, mask: 'attention_mask' });
    expect(facts(encoderModel({ attention: true, pooling: true }))).toEqual([]);
    const none = facts(encoderModel({ attention: false, pooling: false }));
    expect(none).toEqual([expect.objectContaining({ kind: 'unmasked-padding', nodes: ['attn_softmax', 'pool_mean'] })]);
    expect(none[0]?.mask).toEqual({
      mask: 'attention_mask',
      attention: [{ node: 'attn_softmax', op: 'Softmax', masked: false }],
      pooling: [{ node: 'pool_mean', op: 'ReduceMean', masked: false }],
    });
    const poolOnly = facts(encoderModel({ attention: true, pooling: false }));
    expect(poolOnly).toEqual([expect.objectContaining({ nodes: ['pool_mean'], detail: "the mask 'attention_mask' reaches the attention, and the pooling ReduceMean 'pool_mean' ignores it" })]);
    const attnOnly = facts(encoderModel({ attention: false, pooling: true }));
    expect(attnOnly[0]?.mask?.pooling).toEqual([{ node: 'pool_sum', op: 'ReduceSum', masked: true }]);
    expect(attnOnly[0]?.nodes).toEqual(['attn_softmax']);
  });
});

describe('diagnose: the graph and what the check saw', () => {
  test('dynamic quantization with leakage seen: confirmed, expected by design, the fix', () => {
    const d = diagnose(readGraph(dynamicQuantModel()), { causes: ['leakage'], firstDivergence: { node: 'x_QuantizeLinear', op: 'DynamicQuantizeLinear' } });
    expect(d).toEqual([
      {
        kind: 'dynamic-quantization',
        nodes: ['x_QuantizeLinear', 'MatMul_quant'],
        detail: expect.stringContaining('expected by design'),
        fix: 'quantize statically, keep this layer in float, or embed one sample per batch',
        confirmed: true,
      },
    ]);
    // Without leakage seen it is still named (the graph shows it), not confirmed.
    expect(diagnose(readGraph(dynamicQuantModel()), { causes: [] })).toEqual([expect.objectContaining({ kind: 'dynamic-quantization', confirmed: false })]);
  });

  test('locate names the DynamicQuantizeLinear: the diagnosis agrees and puts it first (real onnxruntime)', async () => {
    const bytes = dynamicQuantModel();
    const report = await checkBatchInvariance(bytes, { batchSizes: [1, 2, 3] });
    expect(report.causes).toContain('leakage');
    const located = await locateDivergence(bytes, { batchSizes: [1, 2, 3], report });
    expect(located.firstDivergence).toMatchObject({ node: 'x_QuantizeLinear', op: 'DynamicQuantizeLinear' });
    const d = diagnose(readGraph(bytes), { causes: report.causes, firstDivergence: located.firstDivergence });
    expect(d.map((x) => [x.kind, x.nodes[0], x.confirmed])).toEqual([['dynamic-quantization', 'x_QuantizeLinear', true]]);
  });

  test('the node locate names comes first, and its diagnosis leads', () => {
    // A training-mode BatchNorm followed by a batch mean: two diagnoses.
    const bytes = buildModel({
      opset: 15,
      inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 4, 6, 6] }],
      outputs: [{ name: 'y', dtype: 'float32' }],
      initializers: [f32('scale', [4], [1, 1, 1, 1]), f32('bias', [4], [0, 0, 0, 0]), f32('mean', [4], [0, 0, 0, 0]), f32('var', [4], [1, 1, 1, 1])],
      nodes: [
        { op: 'BatchNormalization', inputs: ['x', 'scale', 'bias', 'mean', 'var'], outputs: ['h', 'rm', 'rv'], attrs: { training_mode: 1 }, name: 'bn' },
        { op: 'ReduceMean', inputs: ['h'], outputs: ['batch_mean'], attrs: { axes: [0], keepdims: 1 }, name: 'batch_mean' },
        { op: 'Sub', inputs: ['h', 'batch_mean'], outputs: ['y'] },
      ],
    });
    const g = readGraph(bytes);
    expect(kinds(diagnose(g, { causes: ['leakage'] }))).toEqual(['batchnorm-training', 'batch-reduction']);
    const d = diagnose(g, { causes: ['leakage'], firstDivergence: { node: 'batch_mean', op: 'ReduceMean' } });
    expect(kinds(d)).toEqual(['batch-reduction', 'batchnorm-training']);
    expect(d[0]?.nodes).toEqual(['batch_mean']);
    // The fix names the command that rewrites the statistics: `batchproof stats` only checks them.
    expect(d[1]?.fix).toMatch(/model\.eval\(\).*`batchproof stats`.*`batchproof recalibrate`/);
  });

  test('batch-reduction: certain ones always (confirmed by leakage); axis-0 guesses only with leakage', () => {
    expect(diagnose(readGraph(leakyModel()), { causes: ['leakage'] })).toEqual([
      expect.objectContaining({ kind: 'batch-reduction', nodes: ['ReduceMean_0'], confirmed: true, fix: expect.stringContaining('store it as a constant') }),
    ]);
    expect(diagnose(readGraph(leakyModel()), { causes: [] })).toEqual([expect.objectContaining({ kind: 'batch-reduction', confirmed: false })]);
    // Einsum hides where the batch axis goes: a reduction over axis 0 after it is a guess.
    const guess = buildModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 8] }],
      outputs: [{ name: 'y', dtype: 'float32' }],
      nodes: [
        { op: 'Einsum', inputs: ['x'], outputs: ['e'], attrs: { equation: 'ij->ij' } },
        { op: 'ReduceMean', inputs: ['e'], outputs: ['y'], attrs: { axes: [0], keepdims: 1 }, name: 'mean' },
      ],
    });
    const g = readGraph(guess);
    expect(graphSuspects(g)).toEqual([]);
    expect(diagnose(g, { causes: [] })).toEqual([]);
    expect(diagnose(g, { causes: ['leakage'] })).toEqual([expect.objectContaining({ kind: 'batch-reduction', detail: expect.stringContaining('over axis 0') })]);
  });

  test('unmasked-padding: only when padding failed; names the first node and where the mask does not reach', () => {
    const bytes = encoderModel({ attention: true, pooling: false });
    const g = readGraph(bytes);
    expect(diagnose(g, { causes: [], padding: { tested: true, failed: false, mask: 'attention_mask' } }, { modelBytes: bytes })).toEqual([]);
    const d = diagnose(g, { causes: ['padding'], padding: { tested: true, failed: true, mask: 'attention_mask', firstNode: 'pool_mean' } }, { modelBytes: bytes });
    expect(d).toEqual([
      {
        kind: 'unmasked-padding',
        nodes: ['pool_mean'],
        detail: "pad tokens reach the output: the outputs at real tokens change with the pad tokens, first at node 'pool_mean' (ReduceMean); the mask 'attention_mask' reaches the attention, and the pooling ReduceMean 'pool_mean' ignores it",
        fix: 'pool with the mask (sum(hidden * mask) / sum(mask)); until then, embed each text alone, unpadded',
        confirmed: true,
      },
    ]);
    const noMask = diagnose(g, { causes: ['padding'], padding: { tested: true, failed: true, mask: null } });
    expect(noMask[0]?.detail).toContain('no mask input');
    expect(noMask[0]?.fix).toContain('export the model with an attention_mask input');
  });

  test('negative controls: an eval model and an invariant one get no diagnosis', () => {
    expect(diagnose(readGraph(invariantModel()), { causes: [] })).toEqual([]);
    expect(diagnose(readGraph(invariantModel()), { causes: ['batch-size'] })).toEqual([]);
    expect(diagnose(readGraph(bnModel({ opset: 15 }).bytes), { causes: ['leakage'] })).toEqual([]);
    expect(diagnose(readGraph(int64Model()), { causes: ['leakage'] })).toEqual([]);
  });
});

/**
 * Two feeds for a [rows, L] text batch that differ only in the token ids at pad positions
 * (right padding unless `side` says left); the mask is 0 there in both.
 */
function padFeeds(inputs: string[], lengths: number[], L: number, side: 'left' | 'right' = 'right') {
  const rows = lengths.length;
  const make = (padId: number) => {
    const ids = new BigInt64Array(rows * L);
    const mask = new BigInt64Array(rows * L);
    lengths.forEach((len, r) => {
      for (let k = 0; k < L; k++) {
        const real = side === 'right' ? k < len : k >= L - len;
        ids[r * L + k] = BigInt(real ? 1 + ((r * 7 + k * 3) % 40) : padId);
        mask[r * L + k] = real ? 1n : 0n;
      }
    });
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', ids, [rows, L]),
      attention_mask: new ort.Tensor('int64', mask, [rows, L]),
    };
    if (inputs.includes('token_type_ids')) feeds.token_type_ids = new ort.Tensor('int64', new BigInt64Array(rows * L), [rows, L]);
    return feeds;
  };
  return [make(0), make(17)] as const;
}

describe('firstPaddingNode: where pad tokens first reach the real positions (real onnxruntime)', () => {
  const two = ['input_ids', 'attention_mask'];
  const three = [...two, 'token_type_ids'];

  test('a model that honours its mask everywhere: no node differs beyond the tolerance', async () => {
    const [a, b] = padFeeds(two, [3, 5], 6);
    const r = await firstPaddingNode(encoderModel({ attention: true, pooling: true }), a, b, { lengths: [3, 5], paddedLength: 6 });
    expect(r.first).toBeNull();
    expect(r.compared).toBeGreaterThan(10);
    expect(r.notes).toEqual([]);
  });

  test('pooling that ignores the mask: the pooling ReduceMean (compared whole, no padded axis)', async () => {
    const [a, b] = padFeeds(two, [3, 5], 6);
    const r = await firstPaddingNode(encoderModel({ attention: true, pooling: false }), a, b, { lengths: [3, 5], paddedLength: 6 });
    expect(r.first).toMatchObject({ node: 'pool_mean', op: 'ReduceMean', output: 'pooled', axes: [] });
    expect(r.first?.maxAbs).toBeGreaterThan(1e-3);
  });

  test('attention without the mask: the Softmax, at real queries and real keys', async () => {
    const [a, b] = padFeeds(two, [3, 5], 6);
    const r = await firstPaddingNode(encoderModel({ attention: false, pooling: true }), a, b, { lengths: [3, 5], paddedLength: 6 });
    expect(r.first).toMatchObject({ node: 'attn_softmax', op: 'Softmax', axes: [1, 2] });
    // The scores before it differ only at pad keys, which are cut away.
    expect(r.firstBitwise?.node).toBe('attn_softmax');
  });

  test("the shared text controls and the exported BERT-like example, left padding too", async () => {
    const [a, b] = padFeeds(three, [2, 4], 5);
    expect((await firstPaddingNode(maskedPoolingModel(), a, b, { lengths: [2, 4], paddedLength: 5 })).first).toBeNull();
    expect((await firstPaddingNode(unmaskedPoolingModel(), a, b, { lengths: [2, 4], paddedLength: 5 })).first?.node).toBe('/pooling/ReduceMean');
    expect((await firstPaddingNode(maskedAttentionModel(false), a, b, { lengths: [2, 4], paddedLength: 5 })).first?.node).toBe('/attention/Softmax');
    expect((await firstPaddingNode(maskedAttentionModel(true), a, b, { lengths: [2, 4], paddedLength: 5 })).first).toBeNull();
    const example = fs.readFileSync(path.join(__dirname, '..', '..', 'examples', 'models', 'text_embedder.onnx'));
    const [c, d] = padFeeds(three, [3, 7], 9);
    expect((await firstPaddingNode(example, c, d, { lengths: [3, 7], paddedLength: 9 })).first).toBeNull();
    const [l1, l2] = padFeeds(three, [2, 4], 5, 'left');
    expect((await firstPaddingNode(unmaskedPoolingModel(), l1, l2, { lengths: [2, 4], paddedLength: 5, side: 'left' })).first?.node).toBe('/pooling/ReduceMean');
    expect((await firstPaddingNode(maskedPoolingModel(), l1, l2, { lengths: [2, 4], paddedLength: 5, side: 'left' })).first).toBeNull();
  });

  test('a hidden size equal to the padded length: both axes cut, said in a note, the right node found', async () => {
    // encoderModel's hidden size is 8: pad to 8.
    const [a, b] = padFeeds(two, [3, 6], 8);
    const r = await firstPaddingNode(encoderModel({ attention: true, pooling: false }), a, b, { lengths: [3, 6], paddedLength: 8 });
    expect(r.first?.node).toBe('pool_mean');
    expect(r.notes).toEqual([expect.stringContaining('the padded length 8 is also a fixed size in the model')]);
    const masked = await firstPaddingNode(encoderModel({ attention: true, pooling: true }), a, b, { lengths: [3, 6], paddedLength: 8 });
    expect(masked.first).toBeNull();
  });
});

test('dynamic quantization inside a masked encoder: the pads enter the scale, so the padding diagnosis is dynamic-quantization, not unmasked-padding', async () => {
  const three = ['input_ids', 'attention_mask', 'token_type_ids'];
  // Quantized after masked pooling: the pads never reach the scale.
  const [a, b] = padFeeds(three, [2, 4], 5);
  expect((await firstPaddingNode(dynamicQuantizedTextModel(), a, b, { lengths: [2, 4], paddedLength: 5 })).first).toBeNull();
  // The exported quantized example quantizes the hidden states, pads included.
  const bytes = fs.readFileSync(path.join(__dirname, '..', '..', 'examples', 'models', 'text_embedder_quantized.onnx'));
  const [c, e] = padFeeds(three, [3, 7], 9);
  const r = await firstPaddingNode(bytes, c, e, { lengths: [3, 7], paddedLength: 9 });
  expect(r.first).toMatchObject({ node: '/embeddings_norm/Add_1_output_0_QuantizeLinear', op: 'DynamicQuantizeLinear' });
  const g = readGraph(bytes);
  const padding = { tested: true, failed: true, mask: 'attention_mask', firstNode: r.first?.node ?? null };
  const d = diagnose(g, { causes: ['padding'], padding }, { modelBytes: bytes });
  expect(d).toEqual([expect.objectContaining({ kind: 'dynamic-quantization', confirmed: true, detail: expect.stringContaining('computed over the pad tokens too') })]);
  expect(d[0]?.nodes[0]).toBe('/embeddings_norm/Add_1_output_0_QuantizeLinear');
  // Without the first node, the mask applied before every attention and pooling says the same.
  expect(kinds(diagnose(g, { causes: ['padding'], padding: { ...padding, firstNode: null } }, { modelBytes: bytes }))).toEqual(['dynamic-quantization']);
  // The float model with the same failure would be unmasked-padding (nothing else explains it).
  const plain = readGraph(fs.readFileSync(path.join(__dirname, '..', '..', 'examples', 'models', 'text_embedder.onnx')));
  expect(kinds(diagnose(plain, { causes: ['padding'], padding: { ...padding, firstNode: null } }))).toEqual(['unmasked-padding']);
});

describe('outputs left out (outputs / --outputs): the layer named reaches a compared output', () => {
  // y = x - max(x over the batch) is compared; z = x - mean(x over the batch) comes first in the graph.
  const twoLeaks = () => buildModel({
    opset: 17,
    inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 8] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 8] }, { name: 'z', dtype: 'float32', shape: ['N', 8] }],
    nodes: [
      { op: 'ReduceMean', inputs: ['x'], outputs: ['zm'], attrs: { axes: [0], keepdims: 1 }, name: 'z_batch_mean' },
      { op: 'Sub', inputs: ['x', 'zm'], outputs: ['z'], name: 'z_centre' },
      { op: 'ReduceMax', inputs: ['x'], outputs: ['ym'], attrs: { axes: [0], keepdims: 1 }, name: 'y_batch_max' },
      { op: 'Sub', inputs: ['x', 'ym'], outputs: ['y'], name: 'y_centre' },
    ],
  });

  test('check and locate name the reduction behind the compared output, not the one behind the output left out (real onnxruntime)', async () => {
    const bytes = twoLeaks();
    const options = { batchSizes: [1, 2, 4], outputs: ['y'] };
    const report = await checkBatchInvariance(bytes, options);
    expect(report.causes).toContain('leakage');
    expect(report.diagnosis.map((d) => [d.kind, d.nodes])).toEqual([['batch-reduction', ['y_batch_max']]]);
    const located = await locateDivergence(bytes, options);
    expect(located.firstDivergence).toMatchObject({ node: 'y_batch_max', op: 'ReduceMax' });
    expect(located.profile.map((p) => p.node)).not.toContain('z_batch_mean');
    // The control: compare z only, and its own reduction is the one named.
    const other = await checkBatchInvariance(bytes, { ...options, outputs: ['z'] });
    expect(other.diagnosis.map((d) => d.nodes)).toEqual([['z_batch_mean']]);
    expect((await locateDivergence(bytes, { ...options, outputs: ['z'], report: other })).firstDivergence?.node).toBe('z_batch_mean');
  });

  test('a training-mode BatchNorm and a dynamic quantization that feed only an output left out are not named', () => {
    const bytes = buildModel({
      opset: 15,
      inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 4, 6, 6] }],
      outputs: [{ name: 'y', dtype: 'float32' }, { name: 'z', dtype: 'float32' }, { name: 'q', dtype: 'uint8' }],
      initializers: [f32('scale', [4], [1, 1, 1, 1]), f32('bias', [4], [0, 0, 0, 0]), f32('mean', [4], [0, 0, 0, 0]), f32('var', [4], [1, 1, 1, 1])],
      nodes: [
        { op: 'BatchNormalization', inputs: ['x', 'scale', 'bias', 'mean', 'var'], outputs: ['z', 'rm', 'rv'], attrs: { training_mode: 1 }, name: 'bn' },
        { op: 'DynamicQuantizeLinear', inputs: ['x'], outputs: ['q', 'q_scale', 'q_zero'], name: 'dq' },
        { op: 'ReduceMean', inputs: ['x'], outputs: ['m'], attrs: { axes: [0], keepdims: 1 }, name: 'batch_mean' },
        { op: 'Sub', inputs: ['x', 'm'], outputs: ['y'], name: 'centre' },
      ],
    });
    const g = readGraph(bytes);
    expect(kinds(diagnose(g, { causes: ['leakage'] }))).toEqual(['dynamic-quantization', 'batchnorm-training', 'batch-reduction']);
    expect(diagnose(g, { causes: ['leakage'] }, { outputs: ['y'] }).map((d) => [d.kind, d.nodes])).toEqual([['batch-reduction', ['batch_mean']]]);
    expect(kinds(diagnose(g, { causes: ['leakage'] }, { outputs: ['z'] }))).toEqual(['batchnorm-training']);
    expect(kinds(diagnose(g, { causes: ['leakage'] }, { outputs: ['q'] }))).toEqual(['dynamic-quantization']);
  });

  test('firstPaddingNode searches only values a compared output depends on', async () => {
    // y: masked pooling (compared); z: a mean over the sequence that ignores the mask, earlier in the graph.
    const bytes = buildModel({
      opset: 17,
      inputs: [{ name: 'input_ids', dtype: 'int64', shape: ['batch', 'sequence'] }, { name: 'attention_mask', dtype: 'int64', shape: ['batch', 'sequence'] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: ['batch', 4] }, { name: 'z', dtype: 'float32', shape: ['batch', 4] }],
      initializers: [f32('table', [50, 4], seededFloats(200, 3)), i64('axes1', [1], [1]), i64('axes2', [1], [2])],
      nodes: [
        { op: 'Gather', inputs: ['table', 'input_ids'], outputs: ['emb'], attrs: { axis: 0 }, name: 'embeddings' },
        { op: 'ReduceMean', inputs: ['emb'], outputs: ['z'], attrs: { axes: [1], keepdims: 0 }, name: 'z_unmasked_mean' },
        { op: 'Unsqueeze', inputs: ['attention_mask', 'axes2'], outputs: ['m3'], name: 'mask_unsqueeze' },
        { op: 'Cast', inputs: ['m3'], outputs: ['mf'], attrs: { to: DataType.FLOAT }, name: 'mask_cast' },
        { op: 'Mul', inputs: ['emb', 'mf'], outputs: ['masked'], name: 'mask_mul' },
        { op: 'ReduceSum', inputs: ['masked', 'axes1'], outputs: ['s'], attrs: { keepdims: 0 }, name: 'pool_sum' },
        { op: 'ReduceSum', inputs: ['mf', 'axes1'], outputs: ['c'], attrs: { keepdims: 0 }, name: 'pool_count' },
        { op: 'Div', inputs: ['s', 'c'], outputs: ['y'], name: 'pool_div' },
      ],
    });
    const [a, b] = padFeeds(['input_ids', 'attention_mask'], [3, 5], 6);
    const all = await firstPaddingNode(bytes, a, b, { lengths: [3, 5], paddedLength: 6 });
    expect(all.first?.node).toBe('z_unmasked_mean');
    const compared = await firstPaddingNode(bytes, a, b, { lengths: [3, 5], paddedLength: 6, outputs: ['y'] });
    expect(compared.first).toBeNull();
    expect(compared.compared).toBeGreaterThan(3);
    expect((await firstPaddingNode(bytes, a, b, { lengths: [3, 5], paddedLength: 6, outputs: ['z'] })).first?.node).toBe('z_unmasked_mean');
    // And the check on y alone: padding holds, nothing diagnosed; on z: the unmasked mean, named.
    const onY = await checkBatchInvariance(bytes, { batchSizes: [1, 2], outputs: ['y'] });
    expect(onY.diagnosis).toEqual([]);
    const onZ = await checkBatchInvariance(bytes, { batchSizes: [1, 2], outputs: ['z'] });
    expect(onZ.diagnosis.map((d) => [d.kind, d.nodes[0]])).toEqual([['unmasked-padding', 'z_unmasked_mean']]);
  });
});
