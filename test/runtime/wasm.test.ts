/**
 * Provider 'wasm': onnxruntime-web 1.30's WebAssembly backend, in this Node process, against
 * onnxruntime-node's CPU on the bundled examples. Real sessions, no mocks.
 */
import * as ort from 'onnxruntime-node';
import * as path from 'path';
import { describeProviders } from '../../matchers';
import { checkBatchInvariance, compareProviders, describeFingerprint, fixture, fingerprintFor, openModel } from '../../src';
import { cli } from '../helpers/cli';

const root = path.join(__dirname, '..', '..');
const cnn = path.join(root, 'examples', 'models', 'embedding_cnn.onnx');
const transformer = path.join(root, 'examples', 'models', 'transformer_encoder.onnx');

describe("provider 'wasm': onnxruntime-web in Node", () => {
  test('a wasm handle runs the model and gives onnxruntime-node tensors of this realm back', async () => {
    const handle = await openModel(cnn, { provider: 'wasm' });
    try {
      expect(handle.settings.provider).toBe('wasm');
      // The names and dims come from onnxruntime-web's own metadata, as onnxruntime-node gives them.
      expect(handle.inputs).toEqual([{ name: 'input', dtype: 'float32', shape: ['batch', 3, 32, 32] }]);
      expect(handle.outputs).toEqual([{ name: 'embedding', dtype: 'float32', shape: ['batch', 64] }]);
      const x = new Float32Array(2 * 3 * 32 * 32).map((_, i) => Math.sin(i));
      const out = await handle.session.run({ input: new ort.Tensor('float32', x, [2, 3, 32, 32]) }, ['embedding']);
      expect(out.embedding).toBeInstanceOf(ort.Tensor);
      expect(out.embedding.data).toBeInstanceOf(Float32Array);
      expect(out.embedding.dims).toEqual([2, 64]);
      // The same numbers as onnxruntime-node's CPU, to float rounding.
      const cpu = await openModel(cnn, { provider: 'cpu' });
      const ref = await cpu.session.run({ input: new ort.Tensor('float32', x, [2, 3, 32, 32]) });
      const a = out.embedding.data as Float32Array;
      const b = ref.embedding.data as Float32Array;
      const maxAbs = Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i])));
      expect(maxAbs).toBeLessThan(1e-5);
      await cpu.close();
    } finally {
      await handle.close();
    }
  });

  test('checkBatchInvariance runs on wasm and gives a verdict (the CNN: invariant)', async () => {
    const report = await checkBatchInvariance(cnn, { provider: 'wasm', batchSizes: [1, 2, 4] });
    expect(report.fingerprint.provider).toBe('wasm');
    // Seen here: bitwise invariant, as on the CPU.
    expect(report.verdict).toBe('invariant');
  });

  test('checkBatchInvariance on the transformer encoder with wasm', async () => {
    const report = await checkBatchInvariance(transformer, { provider: 'wasm', batchSizes: [1, 2, 4] });
    expect(report.fingerprint.provider).toBe('wasm');
    console.log('transformer wasm verdict', report.verdict, report.summary);
    expect(['invariant', 'within-tolerance']).toContain(report.verdict);
  });

  test.each([
    ['embedding_cnn', cnn],
    ['transformer_encoder', transformer],
  ])('compareProviders %s: cpu against wasm differs by float rounding, within the default tolerance', async (_name, model) => {
    const report = await compareProviders(model, ['cpu', 'wasm']);
    expect(report.sides.map((s) => s.label)).toEqual(['cpu', 'wasm']);
    expect(report.sides[1].fingerprint.wasm).toEqual({ version: '1.30.0', threads: 1, simd: true });
    expect(report.sides.every((s) => s.repeatable)).toBe(true);
    const o = report.comparisons[0].outputs[0];
    console.log(_name, o.maxAbs, o.maxUlp);
    expect(o.maxAbs).toBeGreaterThan(0);
    expect(o.maxAbs).toBeLessThan(1e-5);
    expect(report.verdict).toBe('within-tolerance');
  });

  test('the CLI: compare --provider cpu --against wasm exits 0', async () => {
    const r = await cli('compare', transformer, '--provider', 'cpu', '--against', 'wasm', '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.sides.map((s: { label: string }) => s.label)).toEqual(['cpu', 'wasm']);
    expect(report.verdict).toBe('within-tolerance');
  });

  test('the fingerprint names onnxruntime-web, its threads and SIMD', async () => {
    const fx = fixture({ provider: 'wasm' });
    const f = await fx.fingerprint();
    expect(f).toMatchObject({ provider: 'wasm', onnxruntime: '1.30.0', threads: 1, gpu: null, wasm: { version: '1.30.0', threads: 1, simd: true } });
    expect(describeFingerprint(f)).toMatch(/^onnxruntime-web 1\.30\.0, wasm \(SIMD\), 1 thread, /);
    // No other provider carries the wasm facts.
    expect(fingerprintFor({ provider: 'cpu' }).wasm).toBeUndefined();
    await fx.close();
  });
});

const ran: string[] = [];
describeProviders(['cpu', 'wasm'], (fx) => {
  test('runs on this provider', async () => {
    const handle = await fx.load(cnn);
    const report = await checkBatchInvariance(handle, { batchSizes: [1, 2] });
    expect(report.fingerprint.provider).toBe(fx.settings.provider);
    ran.push(fx.label);
  });
});
afterAll(() => {
  // Both describes ran their test: wasm was not skipped.
  expect(ran.sort()).toEqual(['cpu', 'wasm']);
});
