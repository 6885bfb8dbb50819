// determinism's minimum tolerance that passes, as check's and compare's: the smallest atol, rtol,
// ulp and (per sample) cosine distance that pass every comparison the verdict rests on, each
// given back to a fresh check passing it. The seeded random model differs run to run within a
// session and runs the same sequence in every new one, so a fresh check meets the same noise.
import { checkDeterminism, formatDeterminism, type Tolerance } from '../../src';
import { renderPage } from '../../src/html';
import { integerNoiseModel, invariantModel, seededNoiseModel } from '../helpers/models';

const options = { repeats: 3 };

describe('determinism: the minimum tolerance that passes', () => {
  test('each kind given back passes; a little less fails', async () => {
    const r = await checkDeterminism(seededNoiseModel(), options);
    expect([r.verdict, r.differingRuns]).toEqual(['nondeterministic', [2, 3]]);
    const m = r.minimumTolerance;
    for (const v of Object.values(m)) expect(v > 0 && Number.isFinite(v)).toBe(true);
    expect(m.atol).toBe(r.maxAbs);
    expect(m.ulp).toBe(r.maxUlp);
    expect(r.outputs).toEqual([{ output: 'y', dtype: 'float32', bitExact: false, pass: false, maxAbs: r.maxAbs, maxUlp: r.maxUlp, shapeMismatch: false, minimumTolerance: m }]);
    const verdict = async (tolerance: Tolerance) => (await checkDeterminism(seededNoiseModel(), { ...options, tolerance })).verdict;
    const kinds: [Tolerance, Tolerance][] = [
      [{ atol: m.atol, rtol: 0 }, { atol: m.atol * 0.999, rtol: 0 }],
      [{ atol: 0, rtol: m.rtol }, { atol: 0, rtol: m.rtol * 0.999 }],
      [{ ulp: m.ulp }, { ulp: m.ulp - 1 }],
      // Per sample: a cosine over the whole batch would be smaller than the worst sample's, and fail.
      [{ cosine: m.cosine }, { cosine: m.cosine * 0.999 }],
    ];
    for (const [passes, fails] of kinds) {
      expect([passes, await verdict(passes)]).toEqual([passes, 'within-tolerance']);
      expect([fails, await verdict(fails)]).toEqual([fails, 'nondeterministic']);
    }
  });

  test('the text names the minimum and the tolerance the verdict used', async () => {
    const r = await checkDeterminism(seededNoiseModel(), options);
    const text = formatDeterminism(r, { color: false });
    expect(text).toMatch(/^minimum tolerance that passes: atol=9\.\d\de-4 \(rtol=0\), or rtol=[\d.e+-]+ \(atol=0\), or ulp=[\d.e+]+, or cosine=[\d.e-]+$/m);
    expect(text).toMatch(/^tolerance: exact \(bitwise\)$/m);
    const within = await checkDeterminism(seededNoiseModel(), { ...options, tolerance: { ulp: r.minimumTolerance.ulp } });
    expect(within.verdict).toBe('within-tolerance');
    expect(formatDeterminism(within, { color: false })).toMatch(new RegExp(`^tolerance: ${within.tolerance.y.replace(/[+.()]/g, '\\$&')}$`, 'm'));
    expect(within.tolerance.y).toMatch(/ulp/);
  });

  test('two repeats: the one run that differs is "run 2 differs", not "runs 2 differ"', async () => {
    const r = await checkDeterminism(seededNoiseModel(), { repeats: 2 });
    expect(r.differingRuns).toEqual([2]);
    expect(formatDeterminism(r, { color: false })).toMatch(/^ {2}the same batch of 16 run 2 times: run 2 differs from run 1 by up to 9\.\d+e-4 /m);
  });

  test('bitwise equal runs: all zeros, and no minimum line', async () => {
    const r = await checkDeterminism(invariantModel(), options);
    expect(r.verdict).toBe('deterministic');
    expect(r.minimumTolerance).toEqual({ atol: 0, rtol: 0, ulp: 0, cosine: 0 });
    expect(r.outputs.map((o) => [o.output, o.bitExact, o.minimumTolerance])).toEqual([['y', true, { atol: 0, rtol: 0, ulp: 0, cosine: 0 }]]);
    const text = formatDeterminism(r, { color: false });
    expect(text).not.toMatch(/minimum tolerance/);
    expect(text).toMatch(/^tolerance: exact \(bitwise\)$/m);
  });

  test('an integer output that differs: no tolerance passes, and the text says why, output by output', async () => {
    const r = await checkDeterminism(integerNoiseModel(), options);
    expect(r.minimumTolerance).toEqual({ atol: Infinity, rtol: Infinity, ulp: Infinity, cosine: Infinity });
    const [y, k] = r.outputs;
    expect([y.output, Number.isFinite(y.minimumTolerance.atol), k.output, k.dtype, k.minimumTolerance.atol]).toEqual(['y', true, 'k', 'int64', Infinity]);
    const text = formatDeterminism(r, { color: false });
    expect(text).toMatch(/^minimum tolerance that passes: none: integer and bool outputs \('k' int64\) compare exactly, whatever the tolerance, and it differs$/m);
    expect(text).toMatch(/^ {2}output 'y': atol=9\.\d\de-4 \(rtol=0\), or /m);
    // The worst element is y's, as check's: k's difference (hundreds) is in its row and the reason.
    expect(r.worst?.output).toBe('y');
    expect(r.worst?.absDiff).toBe(y.maxAbs);
    expect(k.maxAbs).toBeGreaterThan(1);
    expect(text).toMatch(/^worst element: output 'y' /m);
    // y's own minimum, given to y alone with k left out, passes.
    const yOnly = await checkDeterminism(integerNoiseModel(), { ...options, outputs: ['y'], tolerance: { ulp: y.minimumTolerance.ulp } });
    expect(yOnly.verdict).toBe('within-tolerance');
  });
});

describe('determinism of a batch function: the first call counts in the minimum', () => {
  // Call 1 (sample 0 alone, which learns the outputs) is 1e-3 off, a warm-up; the runs of the
  // batch drift by 1e-6 a call; sample 0 alone again, after them, is as the runs.
  const warming = () => {
    let calls = 0;
    return (batch: unknown[]) => {
      calls++;
      const shift = calls === 1 ? 1e-3 : batch.length > 1 ? (calls - 2) * 1e-6 : 0;
      return (batch as number[]).map((x) => [x + shift, 2 * x]);
    };
  };
  const samples = [1, 2, 3, 4];

  test('the minimum passes the first call too, given back; a little less fails', async () => {
    const r = await checkDeterminism(warming(), { samples, ...options });
    expect([r.verdict, r.differingRuns, r.firstCall?.bitExact]).toEqual(['nondeterministic', [2, 3], false]);
    expect(r.maxAbs).toBe(r.firstCall!.maxAbs);
    expect(r.minimumTolerance.atol).toBe(r.firstCall!.maxAbs);
    expect(r.minimumTolerance.atol).toBeGreaterThan(1e-4);
    const verdict = async (tolerance: Tolerance) => (await checkDeterminism(warming(), { samples, ...options, tolerance })).verdict;
    const m = r.minimumTolerance;
    for (const [passes, fails] of [
      [{ atol: m.atol, rtol: 0 }, { atol: m.atol * 0.999, rtol: 0 }],
      [{ ulp: m.ulp }, { ulp: m.ulp - 1 }],
      [{ cosine: m.cosine }, { cosine: m.cosine * 0.999 }],
    ] as [Tolerance, Tolerance][]) {
      expect([passes, await verdict(passes)]).toEqual([passes, 'within-tolerance']);
      expect([fails, await verdict(fails)]).toEqual([fails, 'nondeterministic']);
    }
  });

  test('the page states the first call, the minimum tolerance and each output\'s', async () => {
    const r = await checkDeterminism(warming(), { samples, ...options });
    const ints = await checkDeterminism(integerNoiseModel(), options);
    const html = await renderPage([{ report: r, source: 'warming' }, { report: ints, source: 'ints' }]);
    const [fn, model] = html.split(/<section/).slice(-2);
    expect(fn).toMatch(/<strong>first call:<\/strong> sample 0 alone, the call that learnt the outputs, against sample 0 alone called again after the runs: differ by up to 1e-3 \([^)]+ ULP\), beyond the tolerance/);
    expect(fn).toMatch(/First call \(sample 0 alone, which learnt the outputs\) against sample 0 alone again/);
    expect(fn).toMatch(/Worst element of the first call/);
    expect(fn).toMatch(/<strong>minimum tolerance that passes:<\/strong> atol=1e-3, rtol=/);
    expect(fn).toMatch(/<strong>tolerance:<\/strong> output: exact/);
    expect(fn).toMatch(/Per output, over every comparison/);
    expect(model).toMatch(/<strong>minimum tolerance that passes:<\/strong> none: integer and bool outputs \(&#39;k&#39; int64\) compare exactly/);
    expect(model).not.toMatch(/first call/i);
  });
});
