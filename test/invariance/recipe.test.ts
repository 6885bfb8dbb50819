import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { checkBatchInvariance } from '../../src';
import { main } from '../../src/cli/main';
import { driftModel, invariantModel, leakyModel, nondeterministicModel, positionModel } from '../helpers/models';

// driftModel: on x86-64 onnxruntime CPU, batch 1 takes a GEMV kernel and every batch >= 2 a
// GEMM kernel, so batch 1 differs from all others, which agree bitwise (the forum's case).
const drifts = process.arch === 'x64';
const sizes = [1, 2, 3, 8, 16];

(drifts ? describe : describe.skip)('a model that drifts only at batch 1', () => {
  test('shows two stable classes and a verified recipe: pad to 2', async () => {
    const r = await checkBatchInvariance(driftModel(), { batchSizes: sizes, servedSizes: [1, 64], tolerance: 'exact' });
    expect(r.classes).toEqual([
      { sizes: [1], positions: 'all' },
      { sizes: [2, 3, 8, 16, 64], positions: 'all' },
    ]);
    expect(r.classesText).toBe('{1} | {2..64, every position}');
    expect(r.served.sizes).toEqual([1, 64]);
    expect(r.served.equal).toBe(false);
    expect(r.recipe).toEqual({ padTo: 2, filler: 'zeros', covers: [1, 64], verified: true });
    expect(r.answer).toMatch(/^batch 1 and batch 64 differ by at most [\d.e-]+; pad batches smaller than 2 up to 2 and they are bitwise equal \(verified\)$/);
    // Verification ran padded batches of 2 with three fillers, listed with every other run.
    expect(r.runs.find((x) => x.batchSize === 2)!.purposes).toContain('recipe');
  });

  test('the matcher runs a planned recipe: padTo 2 makes it bitwise invariant', async () => {
    await expect(driftModel()).not.toBeBatchInvariant({ tolerance: 'exact', batchSizes: sizes });
    await expect(driftModel()).toBeBatchInvariant({ tolerance: 'exact', batchSizes: sizes, padTo: 2 });
    await expect(driftModel()).toBeBatchInvariant({ tolerance: 'exact', batchSizes: sizes, padTo: 2, filler: 'last' });
    const r = await checkBatchInvariance(driftModel(), { tolerance: 'exact', batchSizes: sizes, padTo: 2 });
    // No batch of one row was run: every batch smaller than 2 was padded, as a server would.
    expect(r.runs.map((x) => x.batchSize)).not.toContain(1);
    expect(r.recipe).toEqual({ padTo: 2, filler: 'zeros', covers: [1, 16], verified: true });
  });

  test('a sweep that leaves out the reference size still serves it: batch 1 against the largest', async () => {
    for (const batchSizes of [[2, 8], [8]]) {
      const r = await checkBatchInvariance(driftModel(), { batchSizes, tolerance: 'exact' });
      expect(r.served.sizes).toEqual([1, 8]);
      expect(r.served.equal).toBe(false);
      expect(r.recipe).toMatchObject({ padTo: batchSizes[0], verified: true, covers: [1, 8] });
      expect(r.answer).toMatch(/^batch 1 and batch 8 differ by at most/);
    }
  });

  test('the CLI takes --serve-sizes and --pad-to', async () => {
    const file = path.join(os.tmpdir(), `batchproof-drift-${process.pid}.onnx`);
    fs.writeFileSync(file, driftModel());
    try {
      const out: string[] = [];
      expect(await main(['check', file, '--batch-sizes', '1,2,8', '--serve-sizes', '1,16', '--tolerance', 'exact', '--json'], (s) => out.push(s))).toBe(1);
      expect(JSON.parse(out.join('')).recipe).toEqual({ padTo: 2, filler: 'zeros', covers: [1, 16], verified: true });
      expect(await main(['check', file, '--batch-sizes', '1,2,8', '--tolerance', 'exact', '--pad-to', '2'], () => undefined)).toBe(0);
    } finally {
      fs.rmSync(file);
    }
  });
});

describe('recipe: null with the reason, when no padding can work', () => {
  test('leakage', async () => {
    const r = await checkBatchInvariance(leakyModel(), { batchSizes: sizes });
    expect(r.recipe).toBeNull();
    expect(r.recipeReason).toMatch(/^leakage/);
    expect(r.classes).toEqual([]);
  });

  test('nondeterminism', async () => {
    const r = await checkBatchInvariance(nondeterministicModel(), { batchSizes: sizes });
    expect(r.recipe).toBeNull();
    expect(r.recipeReason).toMatch(/^nondeterminism/);
  });

  test('position', async () => {
    const r = await checkBatchInvariance(positionModel(), { batchSizes: sizes });
    expect(r.recipe).toBeNull();
    expect(r.recipeReason).toMatch(/^position/);
  });

  test('an invariant model needs none', async () => {
    const r = await checkBatchInvariance(invariantModel(), { batchSizes: sizes, servedSizes: [1, 32] });
    expect(r.recipe).toEqual({ padTo: null, reason: 'not needed' });
    expect(r.classesText).toBe('{1..32, every position}');
    expect(r.answer).toBe('batch 1 and batch 32 are bitwise equal');
  });
});

describe('small batches, where probes fill every row', () => {
  test('every probe is moved, so a class is never split for want of a shared probe', async () => {
    const r = await checkBatchInvariance(driftModel(), { batchSizes: [1, 3], seed: 7, tolerance: 'exact' });
    expect(r.runs.find((x) => x.batchSize === 3)!.purposes).toEqual(expect.arrayContaining(['batch', 'mates', 'permuted']));
    if (drifts) expect(r.classesText).toBe('{1} | {3, every position}');
  });

  test('a budget always runs one real batch: a leaky model cannot pass by running nothing', async () => {
    const r = await checkBatchInvariance(leakyModel(), { budget: { seconds: 0.000001 } });
    expect(r.plan.sizes).toEqual([1, 2]);
    expect(r.verdict).toBe('violated');
  });
});

describe('a recipe that fails verification says how', () => {
  // Batch-size drift a pad to 2 would cure: from batch 2 on every value moves by one part in 2^20.
  const texts = ['alpha', 'bravo two', 'charlie 3', 'delta four!', 'echo', 'foxtrot 66', 'golf', 'hotel 8', 'india nine', 'juliet'];
  const drifting = (batch: readonly string[]) =>
    batch.map((t) => {
      const v = [...t].reduce((a, ch) => a + ch.charCodeAt(0) * 0.013, 0);
      return [batch.length >= 2 ? v * (1 + 2 ** -20) : v, t.length];
    });
  const served = { batchSizes: [1, 2, 4], servedSizes: [1, 4] };

  test('the padded batch still differs from the largest served size', async () => {
    // The filler itself moves the output: a batch holding '' is not the batch the server ran.
    const fn = async (batch: unknown[]) => drifting(batch as string[]).map(([v, n]) => [v + (batch.includes('') ? 0.5 : 0), n]);
    const r = await checkBatchInvariance(fn, { samples: texts, ...served, filler: '' });
    expect(r.classesText).toBe('{1} | {2, 4, every position}');
    expect(r.recipe).toBeNull();
    expect(r.recipeReason).toBe('padding to 2 was tried: batch 1 padded to 2 still differs from batch 4 (bitwise)');
  });

  test('the padded batch changes with what the filler rows hold', async () => {
    // Rows move when a batch holds a duplicate, which only the "copy of the last sample" filler makes.
    const fn = async (batch: unknown[]) => drifting(batch as string[]).map(([v, n]) => [v + (new Set(batch).size < batch.length ? 0.5 : 0), n]);
    const r = await checkBatchInvariance(fn, { samples: texts, ...served, filler: '' });
    expect(r.recipe).toBeNull();
    expect(r.recipeReason).toBe('padding to 2 was tried: batch 1 padded to 2 changes with what the filler rows hold');
  });
});

test('an invariant batch function needs no recipe, filler or not', async () => {
  const rowWise = async (batch: unknown[]) => (batch as string[]).map((t) => [t.length, t.charCodeAt(0)]);
  const samples = ['alpha', 'bravo two', 'charlie 3', 'delta four!', 'echo', 'foxtrot 66'];
  const r = await checkBatchInvariance(rowWise, { samples, batchSizes: [1, 2, 4] });
  expect(r.verdict).toBe('invariant');
  expect(r.recipe).toEqual({ padTo: null, reason: 'not needed' });
  expect(r.recipeReason).toBeNull();
});
