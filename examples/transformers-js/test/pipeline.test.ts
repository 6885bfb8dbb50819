// A transformers.js feature-extraction pipeline, checked the way a user would check theirs: the
// batch function is the pipeline itself, the samples are texts of different lengths (so every
// batch pads to its longest text). Both models are local folders; nothing is downloaded.
import * as path from 'path';
import { env, pipeline, type FeatureExtractionPipeline } from '@huggingface/transformers';
import { checkBatchInvariance, type BatchFunction } from 'batchproof';

env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = path.join(__dirname, '..', 'models');
env.useFSCache = false;
env.useBrowserCache = false;

// Any fetch would mean transformers.js went to the network; the last test says there was none.
const fetches: string[] = [];
const realFetch = globalThis.fetch;
globalThis.fetch = (async (input: unknown) => {
  fetches.push(String(input));
  throw new Error(`no network in this example: ${String(input)}`);
}) as typeof fetch;
afterAll(() => {
  globalThis.fetch = realFetch;
});

const texts = [
  'hello world',
  'the quick brown fox jumps over the lazy dog',
  'batch invariance matters',
  'padding tokens must not leak into other sentences',
  'embeddings',
  'a tokenizer splits unbelievable words into pieces',
  'attention masks hide the padding.',
  'search, rank and cluster texts with small models!',
];

const load = (name: string, dtype: 'fp32' | 'q8' = 'fp32') => pipeline('feature-extraction', name, { dtype }) as Promise<FeatureExtractionPipeline>;
/** The batch function: the pipeline on a batch of texts, mean-pooled with the mask, L2-normalized. */
const embedWith = (extractor: FeatureExtractionPipeline): BatchFunction => (batch) => extractor(batch as string[], { pooling: 'mean', normalize: true });

let extractor: FeatureExtractionPipeline;
let unmasked: FeatureExtractionPipeline;
let quantized: FeatureExtractionPipeline;
beforeAll(async () => {
  // dtype 'q8' loads onnx/model_quantized.onnx: transformers.js' 8-bit models (its default on wasm).
  [extractor, unmasked, quantized] = await Promise.all([load('tiny-bert'), load('tiny-bert-unmasked'), load('tiny-bert', 'q8')]);
});
afterAll(async () => {
  await Promise.all([extractor?.dispose(), unmasked?.dispose(), quantized?.dispose()]);
});

test('the hand-written WordPiece tokenizer splits words into known pieces and pads to the longest text', async () => {
  const { tokenizer } = extractor;
  expect(tokenizer.tokenize('Embeddings, 42!', { add_special_tokens: true })).toEqual(['[CLS]', 'embed', '##ding', '##s', ',', '[UNK]', '!', '[SEP]']);
  const vocab = tokenizer.get_vocab();
  expect(tokenizer.encode('a tokenizer')).toEqual(['[CLS]', 'a', 'token', '##izer', '[SEP]'].map((t) => vocab.get(t)));
  const padded = tokenizer(['hello', 'the quick brown fox'], { padding: true });
  expect(padded.attention_mask.tolist().map((r: bigint[]) => r.map(Number))).toEqual([[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1]]);
});

test('the pipeline pads each batch to its longest text, yet a text embeds the same alone and in any batch', async () => {
  const embed = embedWith(extractor);
  const out = await extractor(texts, { pooling: 'mean', normalize: true });
  expect(out.dims).toEqual([texts.length, 32]);
  await expect(texts).toBeBatchInvariant(embed);
  const report = await checkBatchInvariance(embed, { samples: texts });
  expect(report.verdict).not.toBe('violated');
  expect(report.samples).toMatchObject({ source: 'user', count: texts.length });
  // Batches up to 64, so the padding really varied; masked attention keeps it out (bitwise here).
  expect(Math.max(...report.plan.sizes)).toBeGreaterThanOrEqual(8);
  expect(report.minimumTolerance.atol).toBeLessThan(1e-6);
});

test('negative control: attention that ignores the mask lets the padding, so the batch-mates, leak in', async () => {
  const embed = embedWith(unmasked);
  await expect(texts).not.toBeBatchInvariant(embed);
  const report = await checkBatchInvariance(embed, { samples: texts });
  expect(report.verdict).toBe('violated');
  expect(report.causes).toContain('leakage');
  // Not float noise: the embeddings move by a few hundredths.
  expect(report.minimumTolerance.atol).toBeGreaterThan(1e-3);
});

// quantize_dynamic's DynamicQuantizeLinear takes one scale over the whole batch, pads included:
// a text's embedding moves with its batch-mates. The model is out of batchproof's sight (no
// diagnosis), so the report's note names dynamic quantization and the cure.
test("negative control: the 8-bit model (dtype 'q8') leaks through its one quantization scale per batch; the report says so", async () => {
  const report = await checkBatchInvariance(embedWith(quantized), { samples: texts });
  expect(report.verdict).toBe('violated');
  expect(report.causes).toContain('leakage');
  expect(report.minimumTolerance.atol).toBeGreaterThan(1e-4);
  expect(report.minimumTolerance.atol).toBeLessThan(3e-2);
  expect(report.diagnosis).toEqual([]);
  const message = await expect(texts).toBeBatchInvariant(embedWith(quantized)).then(() => '', (e: Error) => e.message);
  expect(message).toMatch(/dynamic quantization \(DynamicQuantizeLinear, one scale over the whole batch, pads included: transformers\.js' 8-bit models, dtype 'q8'.*load dtype: 'fp32'/);
});

// Token embeddings (pooling 'none', or the pipeline itself, called with no options) have as many
// tokens as the batch's longest text: one line that says so and to pool, no crash.
test('token embeddings: the pipeline itself, or pooling none, is one line saying to pool', async () => {
  // As a module would export it (`export default extractor`); its parameter type (string | string[]) is no BatchFunction's.
  const itself = extractor as unknown as BatchFunction;
  const line = (fn: BatchFunction) => checkBatchInvariance(fn, { samples: texts }).then(() => '', (e: Error) => `${e.name}: ${e.message}`);
  expect(await line(itself)).toMatch(/^BadInputError: the batch function's output 'output' is \[1, 12, 32\] on sample 1 alone but \[1, 4, 32\] on sample 0 alone: only the first axis may follow the batch; a transformers\.js feature-extraction pipeline called with no options returns token embeddings .*extractor\(texts, \{ pooling: 'mean', normalize: true \}\)$/);
  expect(await line((batch) => extractor(batch as string[], { pooling: 'none' }))).toMatch(/^BadInputError: .* on sample 0 alone: only the first axis may follow the batch; per-token outputs \(\[batch, tokens, hidden\]\) have as many tokens as the batch's longest sample: pool inside the function/);
  // Texts of one length never change the token axis: the pipeline itself is checked, titled by its task.
  const report = await checkBatchInvariance(itself, { samples: ['hello world', 'quick fox', 'lazy dog', 'small text'] });
  expect([report.verdict, report.model.path, report.model.outputs[0].shape]).toEqual(['invariant', '<feature-extraction pipeline>', ['batch', 4, 32]]);
});

test('the pipeline is deterministic', async () => {
  await expect(texts).toBeDeterministic(embedWith(extractor));
});

test('nothing was fetched', () => {
  expect(fetches).toEqual([]);
});
