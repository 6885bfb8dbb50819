// The padding recipe: pad every text to one length, where a text alone unpadded drifts but every
// text padded to the limit is bitwise equal in any batch (recipe.padLength); none when pads leak.
import { checkBatchInvariance } from '../../src';
import { DataType } from '../../src/onnx/proto';
import { buildModel, seededFloats } from '../helpers/models';
import { maskedPoolingModel, unmaskedPoolingModel } from '../helpers/text-models';

const sweep = { batchSizes: [1, 4] };

/**
 * Masked mean pooling whose divisor also sees the padded length (count + 1e-6 * tokens): pad ids
 * never matter, yet the padded shape moves the output a little, as kernels do on other shapes.
 */
function lengthDriftModel(): Uint8Array {
  return maskedEmbeddingModel({
    output: { name: 'y', dtype: 'float32', shape: ['batch', 8] },
    seed: 5,
    initializers: [
      { name: 'axes_seq', dtype: 'int64', dims: [1], data: [1n] as never },
      { name: 'one', dtype: 'int64', dims: [], data: [1n] as never },
    ],
    nodes: [
      { op: 'ReduceSum', inputs: ['masked', 'axes_seq'], outputs: ['summed'], attrs: { keepdims: 0 } },
      { op: 'ReduceSum', inputs: ['mask3', 'axes_seq'], outputs: ['count'], attrs: { keepdims: 0 } },
      { op: 'Gather', inputs: ['shape', 'one'], outputs: ['tokens'], attrs: { axis: 0 } },
      { op: 'Cast', inputs: ['tokens'], outputs: ['tokens_f'], attrs: { to: DataType.FLOAT } },
      { op: 'Mul', inputs: ['tokens_f', 'eps'], outputs: ['shift'] },
      { op: 'Add', inputs: ['count', 'shift'], outputs: ['divisor'] },
      { op: 'Div', inputs: ['summed', 'divisor'], outputs: ['y'] },
    ],
  });
}

/**
 * input_ids and attention_mask [batch, sequence] -> `masked` (table rows times the mask, per
 * token), `mask3`, `shape` (of input_ids) and `eps` (1e-6), for `nodes` to finish into `output`.
 */
function maskedEmbeddingModel(m: { output: { name: string; dtype: 'float32'; shape: (string | number)[] }; seed: number; initializers: Parameters<typeof buildModel>[0]['initializers']; nodes: Parameters<typeof buildModel>[0]['nodes'] }): Uint8Array {
  return buildModel({
    opset: 17,
    inputs: [
      { name: 'input_ids', dtype: 'int64', shape: ['batch', 'sequence'] },
      { name: 'attention_mask', dtype: 'int64', shape: ['batch', 'sequence'] },
    ],
    outputs: [m.output],
    initializers: [
      { name: 'table', dtype: 'float32', dims: [50, 8], data: seededFloats(400, m.seed) },
      { name: 'axes_last', dtype: 'int64', dims: [1], data: [2n] as never },
      { name: 'eps', dtype: 'float32', dims: [], data: [1e-6] },
      ...(m.initializers ?? []),
    ],
    nodes: [
      { op: 'Gather', inputs: ['table', 'input_ids'], outputs: ['emb'], attrs: { axis: 0 } },
      { op: 'Cast', inputs: ['attention_mask'], outputs: ['mask_f'], attrs: { to: DataType.FLOAT } },
      { op: 'Unsqueeze', inputs: ['mask_f', 'axes_last'], outputs: ['mask3'] },
      { op: 'Mul', inputs: ['emb', 'mask3'], outputs: ['masked'] },
      { op: 'Shape', inputs: ['input_ids'], outputs: ['shape'] },
      ...m.nodes,
    ],
  });
}

test('padding every text to the limit makes the served sizes bitwise equal: recipe.padLength', async () => {
  const r = await checkBatchInvariance(lengthDriftModel(), { ...sweep, servedSizes: [1, 4] });
  expect(r.causes).toContain('padding');
  expect(r.verdict).toBe('within-tolerance');
  expect(r.recipe?.padLength).toBe(16);
  expect(r.recipe?.verified).toBe(true);
  expect(r.answer).toMatch(/pad every text to 16 tokens and a text alone matches itself in any batch bitwise \(verified/);
});

test('no token recipe where pads leak, nor where none is needed', async () => {
  expect((await checkBatchInvariance(unmaskedPoolingModel(), sweep)).recipe?.padLength).toBeUndefined();
  expect((await checkBatchInvariance(maskedPoolingModel(), sweep)).recipe?.padLength).toBeUndefined();
});

/**
 * Token outputs (one row per token) that move with the batch size up to 2: batch 1 is a class of
 * its own, padding to 2 fixes it. The recipe's padded runs must be compared on the probes' real
 * tokens, as the check's own rows are, or no recipe is ever verified on a text model.
 */
function tokenOutputsBatchDriftModel(): Uint8Array {
  return maskedEmbeddingModel({
    output: { name: 'last_hidden_state', dtype: 'float32', shape: ['batch', 'sequence', 8] },
    seed: 6,
    initializers: [
      { name: 'zero', dtype: 'int64', dims: [], data: [0n] as never },
      { name: 'two', dtype: 'int64', dims: [], data: [2n] as never },
    ],
    nodes: [
      { op: 'Gather', inputs: ['shape', 'zero'], outputs: ['rows'], attrs: { axis: 0 } },
      { op: 'Min', inputs: ['rows', 'two'], outputs: ['capped'] },
      { op: 'Cast', inputs: ['capped'], outputs: ['capped_f'], attrs: { to: DataType.FLOAT } },
      { op: 'Mul', inputs: ['capped_f', 'eps'], outputs: ['shift'] },
      { op: 'Add', inputs: ['masked', 'shift'], outputs: ['last_hidden_state'] },
    ],
  });
}

test('a row recipe on a text model is verified on the real tokens, as the check kept them', async () => {
  const r = await checkBatchInvariance(tokenOutputsBatchDriftModel(), { batchSizes: [1, 2, 4] });
  expect(r.padding.tested).toBe(true);
  expect(r.causes).toEqual(['batch-size']);
  expect(r.classes.map((c) => c.sizes)).toEqual([[1], [2, 4]]);
  expect(r.recipeReason).toBeNull();
  expect(r.recipe).toMatchObject({ padTo: 2, verified: true, covers: [1, 4] });
});
