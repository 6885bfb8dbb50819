// Decoders with cross-attention (optimum's seq2seq decoder_model.onnx): input_ids and
// attention_mask on the decoder's sequence, encoder_hidden_states and encoder_attention_mask on the
// encoder's. Padding is tested on the mask that shares the token input's axis, whatever the input
// order (optimum lists encoder_attention_mask first), and the report says the other mask held no pads.
import { checkBatchInvariance, formatReport } from '../../src';
import { buildModel, seededFloats } from '../helpers/models';
import { DataType } from '../../src/onnx/proto';

const f32 = (name: string, dims: number[], data: ArrayLike<number>) => ({ name, dtype: 'float32', dims, data });
const i64 = (name: string, dims: number[], data: number[]) => ({ name, dtype: 'int64', dims, data: BigInt64Array.from(data.map(BigInt)) });
function pool(h: string, mask: string, out: string, p: string, masked = true) {
  if (!masked) return [{ op: 'ReduceMean', inputs: [h], outputs: [out], attrs: { axes: [1], keepdims: 0 } }];
  return [
    { op: 'Cast', inputs: [mask], outputs: [p + 'mf'], attrs: { to: DataType.FLOAT } },
    { op: 'Unsqueeze', inputs: [p + 'mf', 'ax2'], outputs: [p + 'm3'] },
    { op: 'Mul', inputs: [h, p + 'm3'], outputs: [p + 'hm'] },
    { op: 'ReduceSum', inputs: [p + 'hm', 'ax1'], outputs: [p + 's'], attrs: { keepdims: 0 } },
    { op: 'ReduceSum', inputs: [p + 'm3', 'ax1'], outputs: [p + 'c'], attrs: { keepdims: 0 } },
    { op: 'Div', inputs: [p + 's', p + 'c'], outputs: [out] },
  ];
}
function crossModel(o: { encFirst?: boolean; selfMasked?: boolean } = {}): Uint8Array {
  const self = [{ name: 'input_ids', dtype: 'int64', shape: ['batch_size', 'decoder_sequence_length'] }, { name: 'attention_mask', dtype: 'int64', shape: ['batch_size', 'decoder_sequence_length'] }];
  const enc = [{ name: 'encoder_hidden_states', dtype: 'float32', shape: ['batch_size', 'encoder_sequence_length', 8] }, { name: 'encoder_attention_mask', dtype: 'int64', shape: ['batch_size', 'encoder_sequence_length'] }];
  return buildModel({ opset: 17, inputs: o.encFirst ? [...enc, ...self] : [...self, ...enc],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['batch_size', 8] }],
    initializers: [f32('wte', [50, 8], seededFloats(400, 1)), i64('ax1', [1], [1]), i64('ax2', [1], [2])],
    nodes: [
      { op: 'Gather', inputs: ['wte', 'input_ids'], outputs: ['e'], attrs: { axis: 0 } },
      ...pool('e', 'attention_mask', 'a', 'd_', o.selfMasked !== false),
      ...pool('encoder_hidden_states', 'encoder_attention_mask', 'c', 'x_'),
      { op: 'Add', inputs: ['a', 'c'], outputs: ['y'] },
    ] } as never);
}
const small = { batchSizes: [1, 2, 3] };
const untestedNote = "sequence padding: 'encoder_attention_mask' [batch_size, encoder_sequence_length] held all 1s (no pads): only 'decoder_sequence_length' ('attention_mask') was padded, so a model that ignores that mask was not tested; give samples with your own pads in it (--inputs)";

describe('a decoder with cross-attention and two masks', () => {
  test.each([['decoder inputs first', false], ['encoder_attention_mask first', true]])('%s: padding is tested on attention_mask', async (_, encFirst) => {
    const r = await checkBatchInvariance(crossModel({ encFirst }), small);
    expect(r.padding).toMatchObject({ tested: true, mask: 'attention_mask', axis: 'decoder_sequence_length' });
    expect(r.padding.comparisons.find((c) => c.run === 'unpadded')?.bitExact).toBe(true);
    expect(r.causes).not.toContain('padding');
  });

  test('the encoder mask, never padded, is named in a note rather than implied tested', async () => {
    const r = await checkBatchInvariance(crossModel(), small);
    expect(r.notes).toContain(untestedNote);
    // The inputs line says what each mask was fed: pads in the padded one, 1s throughout the other.
    const text = formatReport(r, { color: false });
    expect(text).toContain('attention_mask mask (1 on tokens, 0 on pads),');
    expect(text).toContain('encoder_attention_mask mask, all 1s (no pads)');
    expect(text).not.toContain('encoder_attention_mask mask (1 on tokens');
  });

  test('negative control: self-attention pooling that ignores attention_mask fails with padding, encoder mask first', async () => {
    const r = await checkBatchInvariance(crossModel({ encFirst: true, selfMasked: false }), small);
    expect(r.verdict).toBe('violated');
    expect(r.causes).toContain('padding');
  });
});
