import * as fs from 'fs';
import * as path from 'path';
import { locateDivergence } from '../../src';
import { PROFILE_LIMIT, type LocateReport } from '../../src/locate/locate';
import { readModel } from '../../src/onnx/graph';
import { buildModel, invariantModel, leakyModel, type NodeSpec } from '../helpers/models';

const examples = path.join(__dirname, '..', '..', 'examples', 'models');
const small = { batchSizes: [1, 2, 3] };

/** The profile's nodes appear in the graph's (topological) node order. */
function expectTopological(r: LocateReport, bytes: Uint8Array): void {
  const order = new Map(readModel(bytes, 'model').graph.nodes.map((n, i) => [n.name, i]));
  const at = r.profile.map((p) => order.get(p.node) as number);
  expect(at.every((i) => i !== undefined)).toBe(true);
  expect(at).toEqual([...at].sort((a, b) => a - b));
  expect(new Set(r.profile.map((p) => p.node)).size).toBe(r.profile.length);
}

const firstNonzero = (r: LocateReport) => r.profile.find((p) => p.maxAbs > 0);

/**
 * `before` Adds of a constant (per row, equal in every batch), then a mean over the batch
 * (the first divergence), a Mul that makes the difference 1000 times larger, the Sub that
 * takes it into the rows, and `after` more Adds.
 */
function longLeakyModel(before: number, after: number): Uint8Array {
  const nodes: NodeSpec[] = [];
  let t = 'x';
  const add = () => {
    const out = `t${nodes.length}`;
    nodes.push({ op: 'Add', inputs: [t, 'c'], outputs: [out] });
    t = out;
  };
  for (let i = 0; i < before; i++) add();
  nodes.push({ op: 'ReduceMean', inputs: [t], outputs: ['mean'], attrs: { axes: [0], keepdims: 1 } });
  nodes.push({ op: 'Mul', inputs: ['mean', 'k'], outputs: ['big'] });
  nodes.push({ op: 'Sub', inputs: [t, 'big'], outputs: ['d'] });
  t = 'd';
  for (let i = 0; i < after; i++) add();
  nodes[nodes.length - 1].outputs = ['y'];
  return buildModel({
    opset: 17,
    inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 8] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 8] }],
    initializers: [
      { name: 'c', dtype: 'float32', dims: [1], data: [0.001] },
      { name: 'k', dtype: 'float32', dims: [1], data: [1000] },
    ],
    nodes,
  });
}

describe('locate report data: the divergence profile', () => {
  test('a mean over the batch: every compared node in order, the first nonzero is the first divergence', async () => {
    const bytes = leakyModel();
    const r = await locateDivergence(bytes, small);
    expect(r.profile).toEqual([
      { node: 'ReduceMean_0', op: 'ReduceMean', maxAbs: r.firstDivergence?.maxAbs },
      { node: 'Sub_1', op: 'Sub', maxAbs: expect.any(Number) },
    ]);
    expect(r.profile[0].maxAbs).toBeGreaterThan(0);
    expect(r.profileTruncated).toBe(false);
    expect(r.profile.length).toBe(r.values.compared);
    expectTopological(r, bytes);
  });

  test('the training-mode BatchNorm CNN: zeros up to the first BatchNorm, then the drift it starts', async () => {
    const file = path.join(examples, 'embedding_cnn_train_bn.onnx');
    const r = await locateDivergence(file, small);
    const first = r.firstDivergence?.node;
    expect(first).toBe('/block1/block1.0/bn/BatchNormalization');
    expect(firstNonzero(r)?.node).toBe(first);
    const at = r.profile.findIndex((p) => p.node === first);
    expect(at).toBeGreaterThan(0); // the stem before it was compared, and equal
    expect(r.profile.slice(0, at).every((p) => p.maxAbs === 0)).toBe(true);
    expect(r.profile[at]).toEqual({ node: first, op: 'BatchNormalization', maxAbs: r.firstDivergence?.maxAbs });
    expect(r.profile.slice(at).filter((p) => p.maxAbs > 0).length).toBeGreaterThan(10);
    // One entry per node: a training-mode BatchNorm's running statistics, which no output
    // depends on, are not compared (they cannot be where the output diverges), so one value each.
    const bns = r.profile.filter((p) => p.op === 'BatchNormalization').length;
    expect(bns).toBe(11);
    expect(r.profile.length).toBe(r.values.compared);
    expect(r.profileTruncated).toBe(false);
    expectTopological(r, new Uint8Array(fs.readFileSync(file)));
  });

  test('an invariant model: nothing compared, an empty profile', async () => {
    const r = await locateDivergence(invariantModel(), small);
    expect(r.firstDivergence).toBeNull();
    expect(r).toMatchObject({ profile: [], profileTruncated: false });
  });

  test(`more than ${PROFILE_LIMIT} compared nodes: capped, the peaks and the first divergence kept, and said`, async () => {
    // 1999 Adds put the mean and the 1000x larger Mul after it in one run of two nodes of the
    // capped profile (3502 nodes in 2000 runs): the cap must keep the mean, not the larger Mul.
    const bytes = longLeakyModel(1999, 1500);
    const r = await locateDivergence(bytes, small);
    expect(r.values.compared).toBe(3502);
    expect(r.firstDivergence).toMatchObject({ node: 'ReduceMean_1999', cause: 'leakage' });
    expect(r.profileTruncated).toBe(true);
    expect(r.profile).toHaveLength(PROFILE_LIMIT);
    expect(firstNonzero(r)).toEqual({ node: 'ReduceMean_1999', op: 'ReduceMean', maxAbs: r.firstDivergence?.maxAbs });
    expect(r.profile.some((p) => p.node === 'Mul_2000')).toBe(false);
    // The largest difference is still there (a spike is never averaged away).
    const sub = r.profile.find((p) => p.node === 'Sub_2001');
    expect(sub?.maxAbs).toBeGreaterThan(100 * (r.firstDivergence?.maxAbs ?? Infinity));
    expect(r.notes.some((n) => /^profile: 3502 compared nodes shown as 2000/.test(n))).toBe(true);
    expectTopological(r, bytes);
    // Under the cap nothing is dropped (negative control).
    const short = await locateDivergence(longLeakyModel(20, 20), small);
    expect(short).toMatchObject({ profileTruncated: false });
    expect(short.profile).toHaveLength(short.values.compared);
    expect(short.notes.some((n) => n.startsWith('profile:'))).toBe(false);
  });
});
