// Random option objects, as a careless or hostile user writes them: every call returns a report
// or throws a one-line BadInputError, never another error; and on a model whose samples leak
// into each other, no report ever hides the leak (issue 9).
import fc from 'fast-check';
import { BadInputError, checkBatchInvariance, checkDeterminism } from '../../src';
import { leakyModel } from '../helpers/models';

const model = leakyModel();

/** Values of every kind people pass by mistake, and some plausible ones. */
const anyValue = fc.oneof(
  fc.constantFrom(NaN, Infinity, -Infinity, 0, -1, 1.5, 1e12, 2 ** 53, 3n, '3', '', 'x', null, true, [], {}, [1, 2], [NaN, 1], () => 1),
  fc.integer({ min: -3, max: 40 }),
  fc.double({ noNaN: false }),
);
const smallSize = fc.integer({ min: 1, max: 24 });
const sizeList = fc.oneof(
  fc.array(smallSize, { minLength: 1, maxLength: 4 }),
  // eslint-disable-next-line no-sparse-arrays
  fc.constantFrom([1, , 4], [], [0, 2], [1, 1e12], [1n], [2.5], ['2']),
);

/** Mostly the plausible value, sometimes anything: so that many calls get through to a run. */
const or = <T,>(plausible: fc.Arbitrary<T>) => fc.oneof({ arbitrary: plausible, weight: 9 }, { arbitrary: anyValue, weight: 1 });

/** Each key present with probability about a half, plausible or wrong. */
const options = fc.record(
  {
    seed: or(fc.integer({ min: -1000, max: 1000 })),
    range: or(fc.oneof(fc.tuple(fc.double({ min: -10, max: 10 }), fc.double({ min: -10, max: 10 })), fc.constantFrom([0, 0], [-1e39, 1e39], [NaN, 1], [1]))),
    batchSizes: or(sizeList),
    servedSizes: or(sizeList),
    probes: or(fc.integer({ min: 1, max: 5 })),
    reference: or(fc.integer({ min: 1, max: 3 })),
    maxBatch: or(smallSize),
    padTo: or(smallSize),
    filler: or(fc.constantFrom('zeros', 'last')),
    tolerance: or(fc.constantFrom('exact', 'default', 1e-6, { ulp: 4 }, { atol: 1e-6, rtol: 0 })),
    outputs: or(fc.constantFrom(['y'], ['nope'])),
    threads: or(fc.integer({ min: 1, max: 2 })),
    budget: or(fc.constant({ seconds: 30 })),
    shapes: or(fc.constantFrom<unknown>({ x: ['N', 8] }, { x: 'N,8' })),
  },
  { requiredKeys: [] },
);

/** A leak of x - mean(x) is far above this: a tolerance that could hide it is the user's own call. */
const hidesLeak = (t: unknown): boolean => typeof t === 'number' ? t > 1e-3 : typeof t === 'object' && t !== null && Object.values(t).some((v) => typeof v === 'number' && v > 1e3);

describe('property: any options object gives a report or one clear line', () => {
  test('checkBatchInvariance on a leaky model', async () => {
    await fc.assert(
      fc.asyncProperty(options, async (opts) => {
        let report;
        try {
          report = await checkBatchInvariance(model, opts as never);
        } catch (e) {
          if (!(e instanceof BadInputError)) throw new Error(`not a BadInputError for ${JSON.stringify(Object.keys(opts))}: ${(e as Error)?.stack}`);
          if (/\n/.test(e.message)) throw new Error(`more than one line: ${e.message}`);
          return;
        }
        // Whatever got through, the leak shows in the causes, and only a loose tolerance may pass it.
        expect(report.causes).toContain('leakage');
        if (!hidesLeak(opts.tolerance)) expect(report.verdict).toBe('violated');
      }),
      { numRuns: 150, seed: 9 },
    );
  });

  test('checkDeterminism', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({ seed: anyValue, repeats: anyValue, batchSize: or(smallSize), range: anyValue }, { requiredKeys: [] }),
        async (opts) => {
          try {
            const report = await checkDeterminism(model, opts as never);
            expect(report.verdict).toBe('deterministic');
          } catch (e) {
            if (!(e instanceof BadInputError)) throw new Error(`not a BadInputError: ${(e as Error)?.stack}`);
            expect(e.message).not.toMatch(/\n/);
          }
        },
      ),
      { numRuns: 80, seed: 9 },
    );
  });
});
