// Dynamic quantization takes one scale over the whole tensor: batch-mates of the same range give
// bitwise the same scale, so only a large batch-mate shows the leak (issue 10).
import { checkBatchInvariance, locateDivergence, type InvarianceReport } from '../../src';
import { chartsFor } from '../../src/html/charts';
import { escText } from '../../src/html/escape';
import { statements } from '../../src/html/sections';
import { approx } from '../../src/report/format';
import { buildModel, invariantModel, leakyModel } from '../helpers/models';

/** x [N, 8] -> DynamicQuantizeLinear -> DequantizeLinear: the quantize_dynamic pattern, bare. */
function quantizeRoundTrip(): Uint8Array {
  return buildModel({
    opset: 13,
    inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 8] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 8] }],
    nodes: [
      { op: 'DynamicQuantizeLinear', inputs: ['x'], outputs: ['q', 'scale', 'zero'] },
      { op: 'DequantizeLinear', inputs: ['q', 'scale', 'zero'], outputs: ['y'] },
    ],
  });
}

/** Every row spans exactly [-1, 1], so any batch of them has the same quantization scale. */
function sameRange(count: number) {
  const data = new Float32Array(count * 8);
  for (let r = 0; r < count; r++) {
    for (let c = 0; c < 8; c++) data[r * 8 + c] = c === 0 ? -1 : c === 7 ? 1 : Math.sin(r * 8 + c) * 0.9;
  }
  return { dtype: 'float32', dims: [count, 8], data };
}

test('an outlier batch-mate shows the leak ordinary batch-mates hide', async () => {
  const r = await checkBatchInvariance(quantizeRoundTrip(), { samples: sameRange(12), batchSizes: [1, 2, 4] });
  // Ordinary batch-mates: every batch row bitwise equal to the reference.
  expect(r.batches.every((b) => !b.causes.includes('leakage'))).toBe(true);
  expect(r.causes).toContain('leakage');
  expect(r.notes.join(' ')).toMatch(/batch-mates 100 times larger moved the first probe by [\d.e-]+ \(ordinary batch-mates did not\)/);
  expect(r.diagnosis.map((d) => d.kind)).toContain('dynamic-quantization');
});

test('control: a per-sample model is untouched by an outlier batch-mate', async () => {
  const r = await checkBatchInvariance(invariantModel(), { batchSizes: [1, 2, 4] });
  expect(r.verdict).toBe('invariant');
  expect(r.runs.flatMap((x) => x.purposes)).toContain('outlier');
});

describe('where only the outlier run fails, every statement names it (y = x - mean over the batch, atol 10)', () => {
  // Ordinary batch-mates move a probe by under 1; batch-mates 100 times larger by about 44.
  const options = { batchSizes: [1, 2, 3, 8], tolerance: 10 };
  let r: InvarianceReport;
  beforeAll(async () => {
    r = await checkBatchInvariance(leakyModel(), options);
  });

  test('the summary gives the failing run and its magnitude, then the sizes within the tolerance', () => {
    expect(r.verdict).toBe('violated');
    expect(r.batches.every((b) => b.pass && b.bitExact === (b.size === 1))).toBe(true);
    expect(r.outlier).toEqual({ size: 2, probe: 0, maxAbs: expect.any(Number), bitExact: false, pass: false });
    expect(r.outlier!.maxAbs).toBeGreaterThan(10);
    const table = Math.max(...r.batches.map((b) => b.maxAbs));
    expect(r.summary).toBe(
      `outputs differ beyond the tolerance with batch-mates 100 times larger (the outlier run, batch 2), by at most ${approx(r.outlier!.maxAbs)}: samples leak into each other (output changes with the batch-mates); within the tolerance at batch sizes 2..8 vs batch 1, by at most ${approx(table)}`,
    );
  });

  test('the minimum tolerance passes the outlier run, and just below it fails', async () => {
    expect(r.minimumTolerance.atol).toBe(r.outlier!.maxAbs);
    expect(r.worst).toMatchObject({ run: 'outlier', absDiff: r.outlier!.maxAbs });
    expect((await checkBatchInvariance(leakyModel(), { ...options, tolerance: r.minimumTolerance.atol })).verdict).toBe('within-tolerance');
    expect((await checkBatchInvariance(leakyModel(), { ...options, tolerance: r.minimumTolerance.atol * 0.99 })).verdict).toBe('violated');
  });

  test('the HTML statements and the drift chart say the outlier run fails, beside "no batch size fails"', () => {
    const html = statements(r as never);
    expect(html).toContain(escText(r.summary));
    expect(html).toMatch(/outlier run[\s\S]*batch 2 with batch-mates 100 times larger, against the same batch with ordinary ones: differs by at most [\d.]+, beyond the tolerance/);
    const drift = chartsFor(r as never).find((c) => c.kind === 'drift')!;
    expect(drift.caption).toMatch(/^No batch size fails\. The outlier run \(batch 2, batch-mates 100 times larger\) fails, by at most [\d.]+ over the outputs: it is not drawn here\./);
  });

  test('locate searches the outlier run, the one that fails, and names the batch mean', async () => {
    const l = await locateDivergence(leakyModel(), { ...options, report: r });
    expect(l.compared).toEqual({ cause: 'leakage', batchSize: 2, probe: 0, runs: ['batch', 'outlier'], positions: [0, 0] });
    expect(l.firstDivergence).toMatchObject({ node: 'ReduceMean_0', op: 'ReduceMean', cause: 'leakage' });
    expect(l.firstDivergence!.maxAbs).toBeGreaterThan(10);
    expect(l.summary).toMatch(/comparing a batch with ordinary batch-mates and with batch-mates 100 times larger \(the outlier run, batch 2\)$/);
  });
});

test('dynamic quantization: the summary says the outlier run fails by how much, not "by at most 0.0"', async () => {
  const r = await checkBatchInvariance(quantizeRoundTrip(), { samples: sameRange(12), batchSizes: [1, 2, 4] });
  expect(r.batches.every((b) => b.bitExact)).toBe(true);
  expect(r.summary).toBe(`outputs differ beyond the tolerance with batch-mates 100 times larger (the outlier run, batch 2), by at most ${approx(r.outlier!.maxAbs)}: samples leak into each other (output changes with the batch-mates)`);
  expect(r.outlier!.maxAbs).toBeGreaterThan(0.01);
  // Within a tolerance that passes it, the summary still says what moved.
  const loose = await checkBatchInvariance(quantizeRoundTrip(), { samples: sameRange(12), batchSizes: [1, 2, 4], tolerance: 1 });
  expect(loose.verdict).toBe('within-tolerance');
  expect(loose.summary).toBe(`outputs differ, within the tolerance with batch-mates 100 times larger (the outlier run, batch 2), by at most ${approx(loose.outlier!.maxAbs)}: samples leak into each other (output changes with the batch-mates)`);
});
