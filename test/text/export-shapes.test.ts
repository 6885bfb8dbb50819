// Text models in the shapes real exports take (optimum, tf2onnx, torch.onnx with or without
// dynamic_axes): position_ids as an input or from the mask, no token_type_ids, int32/bool/float
// masks, other dim names, fixed lengths, several outputs. Each is checked with no flags, and the
// user's mistakes (naming token ids as the mask) are refused in one line, never blamed on the model.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BadInputError, checkBatchInvariance, type InvarianceReport } from '../../src';
import { cli } from '../helpers/cli';
import { exportedTextModel, TEXT_VOCAB } from '../helpers/text-models';

const sweep = { batchSizes: [1, 4] };

async function badInput(p: Promise<unknown>): Promise<string> {
  const e = await p.then(() => null, (x: unknown) => x);
  expect(e).toBeInstanceOf(BadInputError);
  expect((e as Error).message).not.toMatch(/\n/);
  return (e as Error).message;
}

const byRun = (r: InvarianceReport) => Object.fromEntries(r.padding.comparisons.map((c) => [c.run, c]));

/** Padding was really exercised: every isolating run compared something, and the pads changed nothing. */
function paddingClean(r: InvarianceReport): void {
  expect(r.padding.tested).toBe(true);
  const runs = byRun(r);
  for (const name of ['unpadded', 'pad-ids', 'served']) expect(runs[name]).toBeDefined();
  expect(runs.unpadded.bitExact).toBe(true);
  expect(runs['pad-ids'].bitExact).toBe(true);
  expect(r.causes).not.toContain('padding');
  expect(r.verdict).not.toBe('violated');
}

describe('--mask naming what is evidently not a mask is refused in one line', () => {
  const model = exportedTextModel({ types: true, positions: { from: 'input' } });

  test.each([
    ['token ids', 'input_ids', /--mask input_ids: 'input_ids' indexes the embedding table 'embeddings\.word_embeddings\.weight' \(50 rows, \/embeddings\/word_embeddings\/Gather\), so it holds token ids, not a mask .*leave --mask out \(the mask 'attention_mask' is found by its name\) or name it with --mask attention_mask/],
    ['token types', 'token_type_ids', /--mask token_type_ids: 'token_type_ids' indexes the embedding table .* \(2 rows.*so it holds token ids, not a mask/],
    ['positions', 'position_ids', /--mask position_ids: 'position_ids' holds positions .*not a mask/],
  ])('%s (API)', async (_what, mask, message) => {
    expect(await badInput(checkBatchInvariance(model, { ...sweep, padding: { mask } }))).toMatch(message);
  });

  test('the real mask named explicitly is still accepted', async () => {
    paddingClean(await checkBatchInvariance(model, { ...sweep, padding: { mask: 'attention_mask' } }));
  });

  test('CLI: check --mask input_ids exits 2 with one line naming the fix', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-mask-'));
    try {
      const file = path.join(dir, 'text.onnx');
      fs.writeFileSync(file, model);
      const r = await cli('check', file, '--batch-sizes', '1,4', '--mask', 'input_ids');
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/--mask input_ids: 'input_ids' indexes the embedding table .* so it holds token ids, not a mask .*--mask attention_mask/);
      expect(r.stderr).not.toMatch(/violated|NaN|at .*\.js/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("user samples whose named mask holds token ids are refused, not re-padded into a 'padding' verdict", async () => {
    const n = 6;
    const seq = 8;
    const ids = new BigInt64Array(n * seq);
    const mask = new BigInt64Array(n * seq);
    for (let r = 0; r < n; r++) for (let t = 0; t < 3 + r % 4; t++) {
      ids[r * seq + t] = BigInt(2 + ((r * 7 + t * 3) % 40));
      mask[r * seq + t] = 1n;
    }
    const dims = [n, seq];
    const samples = { input_ids: { dtype: 'int64', dims, data: ids }, attention_mask: { dtype: 'int64', dims, data: mask } };
    const plain = exportedTextModel();
    expect(await badInput(checkBatchInvariance(plain, { ...sweep, samples, padding: { mask: 'input_ids' } }))).toMatch(/--mask input_ids: 'input_ids' indexes the embedding table/);
    // A mask-named input (no table to tell) whose samples hold ids: named as not a mask.
    const swapped = { input_ids: samples.attention_mask, attention_mask: samples.input_ids };
    expect(await badInput(checkBatchInvariance(plain, { ...sweep, samples: swapped }))).toMatch(/samples 'attention_mask' row 0: holds \d+, so it is not a mask \(1 on tokens, 0 on pads\).*--mask/);
  });

  test('with no flags, an input named like a mask that indexes the token table is not taken for the mask', async () => {
    // e.g. `masked_input_ids` (the ids with [MASK] tokens in), listed before the attention mask.
    const model2 = exportedTextModel({
      extraInputs: [],
      ids: { name: 'masked_input_ids' },
    });
    const r = await checkBatchInvariance(model2, sweep);
    expect(r.padding.mask).toBe('attention_mask');
    paddingClean(r);
    expect(r.model.inputs.find((i) => i.name === 'masked_input_ids')?.synthesis).toMatchObject({ kind: 'ids', high: TEXT_VOCAB });
  });
});
