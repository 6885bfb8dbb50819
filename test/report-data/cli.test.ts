import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cli } from '../helpers/cli';
import { leakyModel } from '../helpers/models';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'batchproof-report-data-cli-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const leaky = path.join(dir, 'leaky.onnx');
fs.writeFileSync(leaky, leakyModel());
const transformer = path.join(__dirname, '..', '..', 'examples', 'models', 'transformer_encoder.onnx');

describe('the report data in the JSON the CLI writes (what the page reads)', () => {
  test('check --json: per-output batches and toleranceSpec; locate --json: the profile', async () => {
    const check = JSON.parse((await cli('check', leaky, '--batch-sizes', '1,4', '--json')).stdout);
    expect(check.toleranceSpec).toEqual({ y: { kind: 'allclose', atol: 1e-5, rtol: 1.3e-6 } });
    expect(check.batches.map((b: { outputs: { pass: boolean }[] }) => b.outputs.map((o) => o.pass))).toEqual([[true], [false]]);
    const locate = JSON.parse((await cli('locate', leaky, '--batch-sizes', '1,2,3', '--json')).stdout);
    expect(locate.profile.map((p: { node: string }) => p.node)).toEqual(['ReduceMean_0', 'Sub_1']);
    expect(locate.profileTruncated).toBe(false);
  });

  test('compare --json: the element histogram, its counts adding up to the elements', async () => {
    const r = await cli('compare', transformer, '--optimization', 'disabled', '--against-optimization', 'all', '--json');
    expect(r.code).toBe(0);
    const o = JSON.parse(r.stdout).comparisons[0].outputs[0];
    const h = o.errorHistogram;
    expect(h.counts.length).toBe(h.edges.length - 1);
    expect(h.counts.reduce((a: number, b: number) => a + b, 0)).toBeGreaterThan(0); // fusions move some elements
    expect(h.zero + h.nonFinite + h.counts.reduce((a: number, b: number) => a + b, 0)).toBe(8 * 64);
  });
});
