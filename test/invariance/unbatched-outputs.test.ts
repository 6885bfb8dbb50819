// Outputs whose batch axis is not first (time-major [sequence, batch, d]) and outputs with no
// batch axis at all (a scalar loss, a [hidden] vector pooled over the batch). The latter change
// with the batch-mates by design: the refusal must say so and name outputs that can be compared,
// not a --shape that cannot give such an output rows.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { checkBatchInvariance } from '../../src';
import { cli } from '../helpers/cli';
import { buildModel, seededFloats } from '../helpers/models';

/** y [sequence, batch, 4] = x @ W (batch on axis 1); pooled [4] the mean of y over sequence and batch; loss [] its sum. */
function timeMajorModel(): Uint8Array {
  return buildModel({
    opset: 17,
    inputs: [{ name: 'input.1', dtype: 'float32', shape: ['sequence', 'batch', 4] }],
    outputs: [
      { name: 'y', dtype: 'float32', shape: ['sequence', 'batch', 4] },
      { name: 'pooled', dtype: 'float32', shape: [4] },
      { name: 'loss', dtype: 'float32', shape: [] },
    ],
    initializers: [{ name: 'W', dtype: 'float32', dims: [4, 4], data: seededFloats(16, 3) }],
    nodes: [
      { op: 'MatMul', inputs: ['input.1', 'W'], outputs: ['y'] },
      { op: 'ReduceMean', inputs: ['y'], outputs: ['pooled'], attrs: { axes: [0, 1], keepdims: 0 } },
      { op: 'ReduceSum', inputs: ['pooled'], outputs: ['loss'], attrs: { keepdims: 0 } },
    ],
  } as never);
}

const small = { batchSizes: [1, 2, 3] };

async function refusal(p: Promise<unknown>): Promise<string> {
  const e = await p.then(() => null, (x: unknown) => x);
  expect((e as Error)?.name).toBe('BadInputError');
  expect((e as Error).message).not.toMatch(/\n/);
  return (e as Error).message;
}

describe('outputs with no batch axis', () => {
  test('a vector pooled over the batch: refused as computed over the batch, naming the outputs that have one', async () => {
    const message = await refusal(checkBatchInvariance(timeMajorModel(), small));
    expect(message).toMatch(/^output 'pooled' has no batch axis \(\[4\] at batch 1 and \[4\] at batch 2\): it is computed over the whole batch .*changes with the batch-mates by design.*; leave it out with --outputs y \(API: outputs: \['y'\]\)$/);
    expect(message).not.toMatch(/--shape/);
  });

  test('a scalar: the same, and the other unbatched output is not offered', async () => {
    const message = await refusal(checkBatchInvariance(timeMajorModel(), { ...small, outputs: ['loss', 'y', 'pooled'] }));
    expect(message).toMatch(/^output 'loss' has no batch axis \(\[\] at batch 1 and \[\] at batch 2\).*; leave it out with --outputs y \(API: outputs: \['y'\]\)$/);
  });

  test('the only output asked for: the cure names the others, not those declared without a batch dim', async () => {
    const message = await refusal(checkBatchInvariance(timeMajorModel(), { ...small, outputs: ['pooled'] }));
    // 'loss' (declared rank 0, not run) cannot be told from an undeclared shape, so it is offered.
    expect(message).toMatch(/leave it out with --outputs y,loss \(API/);
    const scalar = await refusal(checkBatchInvariance(timeMajorModel(), { ...small, outputs: ['loss'] }));
    expect(scalar).toMatch(/^output 'loss' has no batch axis.*; leave it out with --outputs y \(API/);
  });

  test('compare with sides that batch differently: one line naming the outputs, and the --outputs that runs', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-unbatched-'));
    try {
      const file = path.join(dir, 'rnn.onnx');
      fs.writeFileSync(file, timeMajorModel());
      const r = await cli('compare', file, '--batch-size', '4', '--against', 'cpu', '--against-batch-size', '1');
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/outputs 'pooled', 'loss' have no known batch axis, so sides that batch differently cannot be matched sample by sample \(an output computed over the whole batch, pooled or a loss, changes with it by design\); leave them out with --outputs y, or where they have a batch axis/);
      const one = await cli('compare', file, '--batch-size', '4', '--against', 'cpu', '--against-batch-size', '1', '--outputs', 'y,loss');
      expect(one.stderr).toMatch(/output 'loss' has no known batch axis.*; leave it out with --outputs y, or where it has a batch axis, mark it with --shape loss=/);
      const again = await cli('compare', file, '--batch-size', '4', '--against', 'cpu', '--against-batch-size', '1', '--outputs', 'y');
      expect(again.code).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('time-major: the output batched on axis 1 is found and compared', async () => {
    const r = await checkBatchInvariance(timeMajorModel(), { ...small, outputs: ['y'] });
    expect(r.model.outputs).toEqual([expect.objectContaining({ name: 'y', batchAxis: 1 })]);
    expect(r.verdict).toBe('invariant');
  });

  test('CLI: exit 2, one line, and the --outputs it names makes the check run', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-unbatched-'));
    try {
      const file = path.join(dir, 'rnn.onnx');
      fs.writeFileSync(file, timeMajorModel());
      const r = await cli('check', file, '--batch-sizes', '1,2,3');
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/output 'pooled' has no batch axis.*leave it out with --outputs y /);
      const again = await cli('check', file, '--batch-sizes', '1,2,3', '--outputs', 'y');
      expect(again.code).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
