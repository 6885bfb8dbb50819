import { toBeDeterministic } from '../../matchers';
import { messageText } from '../helpers/text';
import { driftModel, invariantModel, nondeterministicModel } from '../helpers/models';

describe('toBeDeterministic', () => {
  test('passes when reruns are bitwise equal; determinism is not batch invariance', async () => {
    // driftModel changes with the batch size but never run to run.
    await expect(driftModel()).toBeDeterministic();
    await expect(driftModel()).not.toBeBatchInvariant('exact');
  });

  test('fails on a model that samples noise at run time, naming the runs that differ', async () => {
    await expect(nondeterministicModel()).not.toBeDeterministic();
    const r = await toBeDeterministic.call({ isNot: false, promise: '' }, nondeterministicModel(), { repeats: 3 });
    expect(r.pass).toBe(false);
    expect(r.report.differingRuns).toEqual([2, 3]);
    expect(messageText(r)).toMatch(/Expected the same batch to give the same outputs on every run, but: nondeterministic/);
    expect(messageText(r)).toMatch(/runs 2, 3 differ from run 1 by up to/);
    expect(messageText(r)).toMatch(/fingerprint: /);
  });

  test('a tolerance loosens it, and .not has its own message', async () => {
    await expect(nondeterministicModel()).toBeDeterministic({ tolerance: 1e-2 });
    const r = await toBeDeterministic.call({ isNot: true, promise: '' }, invariantModel());
    expect(r.pass).toBe(true);
    expect(messageText(r)).toMatch(/Expected runs of the same batch to differ, but they did not: deterministic/);
  });

  test('a cosine tolerance is per sample, as in check: the other samples cannot outweigh the one that changed', async () => {
    // Noise of up to 1e-3 on every element: next to sample 0's values of about 1e-3 it turns the
    // vector (cosine distance about 0.1); next to the others' values of about 10 it is nothing.
    const data = new Float32Array(16 * 8);
    for (let r = 0; r < 16; r++) for (let c = 0; c < 8; c++) data[r * 8 + c] = r === 0 ? 1e-3 * Math.sin(c + 1) : 10 + Math.sin(r * 8 + c);
    const samples = { dtype: 'float32', dims: [16, 8], data };
    const r = await toBeDeterministic.call({ isNot: false, promise: '' }, samples, nondeterministicModel(), { tolerance: { cosine: 1e-3 } });
    expect(r.report.verdict).toBe('nondeterministic');
    expect(r.pass).toBe(false);
    // Control: without sample 0 every sample's cosine distance is far below 1e-3.
    const rest = { dtype: 'float32', dims: [15, 8], data: data.slice(8) };
    await expect(rest).toBeDeterministic(nondeterministicModel(), { tolerance: { cosine: 1e-3 } });
  });

  test('repeats below 2 is one clear line', async () => {
    await expect(expect(invariantModel()).toBeDeterministic({ repeats: 1 })).rejects.toThrow(/repeats must be an integer of at least 2/);
  });
});
