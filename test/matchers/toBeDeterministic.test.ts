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

  test('repeats below 2 is one clear line', async () => {
    await expect(expect(invariantModel()).toBeDeterministic({ repeats: 1 })).rejects.toThrow(/repeats must be an integer of at least 2/);
  });
});
