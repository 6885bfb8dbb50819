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

const load = (name: string) => pipeline('feature-extraction', name, { dtype: 'fp32' }) as Promise<FeatureExtractionPipeline>;
/** The batch function: the pipeline on a batch of texts, mean-pooled with the mask, L2-normalized. */
const embedWith = (extractor: FeatureExtractionPipeline): BatchFunction => (batch) => extractor(batch as string[], { pooling: 'mean', normalize: true });

let extractor: FeatureExtractionPipeline;
let unmasked: FeatureExtractionPipeline;
beforeAll(async () => {
  [extractor, unmasked] = await Promise.all([load('tiny-bert'), load('tiny-bert-unmasked')]);
});
afterAll(async () => {
  await Promise.all([extractor?.dispose(), unmasked?.dispose()]);
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

test('the pipeline is deterministic', async () => {
  await expect(texts).toBeDeterministic(embedWith(extractor));
});

test('nothing was fetched', () => {
  expect(fetches).toEqual([]);
});
