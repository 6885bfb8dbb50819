import * as path from 'path';
import { checkBatchInvariance } from '../../src';
import { describeTolerance } from '../../src/compare/tolerance';
import type { InvarianceReport } from '../../src/invariance/report';
import { buildModel, multiOutputModel, seededFloats } from '../helpers/models';

const examples = path.join(__dirname, '..', '..', 'examples', 'models');
const sweep = { batchSizes: [1, 2, 3, 4] };

/** The batch's figures are the maximum of its outputs' (and pass only when each does). */
function expectConsistent(r: InvarianceReport): void {
  for (const b of r.batches) {
    expect(b.outputs.map((o) => o.output)).toEqual(r.model.outputs.map((o) => o.name));
    expect(Math.max(...b.outputs.map((o) => o.maxAbs))).toBe(b.maxAbs);
    expect(Math.max(...b.outputs.map((o) => o.maxUlp))).toBe(b.maxUlp);
    expect(b.outputs.every((o) => o.pass)).toBe(b.pass);
  }
}

/**
 * Two outputs from one input: `kept` = Relu(x·W + b) per row (batch-invariant), `centred` =
 * x - mean over the batch (leaks). Per-output figures must tell them apart.
 */
function halfLeakyModel(): Uint8Array {
  return buildModel({
    opset: 17,
    inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 8] }],
    outputs: [
      { name: 'kept', dtype: 'float32', shape: ['N', 4] },
      { name: 'centred', dtype: 'float32', shape: ['N', 8] },
    ],
    initializers: [
      { name: 'W', dtype: 'float32', dims: [8, 4], data: seededFloats(32, 7) },
      { name: 'b', dtype: 'float32', dims: [4], data: seededFloats(4, 8) },
    ],
    nodes: [
      { op: 'MatMul', inputs: ['x', 'W'], outputs: ['xw'] },
      { op: 'Add', inputs: ['xw', 'b'], outputs: ['z'] },
      { op: 'Relu', inputs: ['z'], outputs: ['kept'] },
      { op: 'ReduceMean', inputs: ['x'], outputs: ['mean'], attrs: { axes: [0], keepdims: 1 } },
      { op: 'Sub', inputs: ['x', 'mean'], outputs: ['centred'] },
    ],
  });
}

describe('check report data: drift per batch size per output, and the tolerance as numbers', () => {
  test('the training-mode BatchNorm CNN: every batch above 1 fails with max abs beyond its tolerance', async () => {
    const r = await checkBatchInvariance(path.join(examples, 'embedding_cnn_train_bn.onnx'), sweep);
    expect(r.verdict).toBe('violated');
    expect(r.toleranceSpec).toEqual({ embedding: { kind: 'allclose', atol: 1e-5, rtol: 1.3e-6 } });
    const atol = (r.toleranceSpec.embedding as { atol: number }).atol;
    const [one, ...rest] = r.batches;
    expect(one.outputs).toEqual([{ output: 'embedding', maxAbs: 0, maxUlp: 0, pass: true }]);
    expect(rest.length).toBe(3);
    for (const b of rest) {
      expect(b.outputs).toEqual([{ output: 'embedding', maxAbs: expect.any(Number), maxUlp: expect.any(Number), pass: false }]);
      expect(b.outputs[0].maxAbs).toBeGreaterThan(atol);
      expect(b.outputs[0].maxUlp).toBeGreaterThan(0);
    }
    expectConsistent(r);
  });

  test('the invariant CNN (negative control): max abs 0 and passing at every size', async () => {
    const r = await checkBatchInvariance(path.join(examples, 'embedding_cnn.onnx'), sweep);
    expect(r.verdict).toBe('invariant');
    expect(r.batches.map((b) => b.size)).toEqual([1, 2, 3, 4]);
    for (const b of r.batches) expect(b.outputs).toEqual([{ output: 'embedding', maxAbs: 0, maxUlp: 0, pass: true }]);
    expectConsistent(r);
  });

  test('one output leaks and one does not: each has its own figures, not the batch maximum', async () => {
    const r = await checkBatchInvariance(halfLeakyModel(), sweep);
    expect(r.causes).toContain('leakage');
    for (const b of r.batches.filter((x) => x.size > 1)) {
      const [kept, centred] = b.outputs;
      expect(kept).toEqual({ output: 'kept', maxAbs: 0, maxUlp: 0, pass: true });
      expect(centred.output).toBe('centred');
      expect(centred.maxAbs).toBeGreaterThan(1e-3);
      expect(centred.pass).toBe(false);
      expect(b.maxAbs).toBe(centred.maxAbs);
    }
    expectConsistent(r);
  });

  test('toleranceSpec: per output, the resolved numbers behind the words (integers exact)', async () => {
    const byDefault = await checkBatchInvariance(multiOutputModel(), sweep);
    expect(byDefault.toleranceSpec).toEqual({ y: { kind: 'allclose', atol: 1e-5, rtol: 1.3e-6 }, label: { kind: 'exact' } });
    const loose = await checkBatchInvariance(multiOutputModel(), { ...sweep, tolerance: { ulp: 4 } });
    expect(loose.toleranceSpec).toEqual({ y: { kind: 'ulp', ulp: 4 }, label: { kind: 'exact' } });
    for (const r of [byDefault, loose]) {
      for (const [name, t] of Object.entries(r.toleranceSpec)) expect(describeTolerance(t)).toBe(r.tolerance[name]);
      expect(Object.keys(r.toleranceSpec)).toEqual(Object.keys(r.tolerance));
    }
    // JSON keeps it as it is (numbers, no Infinity).
    expect(JSON.parse(JSON.stringify(loose)).toleranceSpec).toEqual(loose.toleranceSpec);
  });
});
