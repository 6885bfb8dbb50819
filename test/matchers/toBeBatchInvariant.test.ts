import { toBeBatchInvariant } from '../../matchers';
import { messageText } from '../helpers/text';
import { openModel } from '../../src';
import { driftModel, invariantModel, leakyModel, seededFloats } from '../helpers/models';

const sizes = { batchSizes: [1, 2, 5] };

/** Calls the matcher as Jest would, to read its messages directly. */
async function run(received: unknown, ...args: unknown[]) {
  return toBeBatchInvariant.call({ isNot: false, promise: '' }, received, ...args);
}

describe('toBeBatchInvariant', () => {
  test('passes on an invariant model, and .not fails it with its own message', async () => {
    await expect(invariantModel()).toBeBatchInvariant(sizes);
    const r = await run(invariantModel(), sizes);
    expect(r.pass).toBe(true);
    expect(messageText(r)).toMatch(/Expected the model's outputs to depend on the batch, but every probe stayed bitwise equal: invariant/);
  });

  test('fails on a leaky model with the verdict, causes, table, worst element, minimum tolerance and fingerprint', async () => {
    await expect(leakyModel()).not.toBeBatchInvariant(sizes);
    const r = await run(leakyModel(), sizes);
    expect(r.pass).toBe(false);
    const message = messageText(r);
    expect(message).toMatch(/toBeBatchInvariant/);
    expect(message).toMatch(/Expected the same output for each sample whatever the batch, but: violated \(leakage\)/);
    expect(message).toMatch(/│ +5 │ 0,2,4/);
    expect(message).toMatch(/worst element: output 'y'\[\d+\], batch \d, position \d/);
    expect(message).toMatch(/minimum tolerance that passes: atol=/);
    expect(message).toMatch(/fingerprint: onnxruntime 1\.30\.\d+, cpu/);
  });

  test('a number is an absolute tolerance; exact makes drift fail', async () => {
    await expect(driftModel()).toBeBatchInvariant(1e-3);
    await expect(driftModel()).not.toBeBatchInvariant('exact');
    await expect(driftModel()).not.toBeBatchInvariant({ ...sizes, tolerance: 1e-9 });
  });

  test("expect(samples).toBeBatchInvariant(model) checks the user's own samples", async () => {
    const samples = { dtype: 'float32', dims: [6, 8], data: seededFloats(48, 9) };
    await expect(samples).toBeBatchInvariant(invariantModel(), 'exact');
    await expect(samples).not.toBeBatchInvariant(leakyModel());
    const r = await run(samples, leakyModel(), sizes);
    expect(r.report.samples).toEqual({ source: 'user', seed: 0, count: 6 });
  });

  test('uint8 samples (images as bytes) are samples when a model path follows', async () => {
    const file = require('path').join(require('os').tmpdir(), `bp-u8-${process.pid}.onnx`);
    const { buildModel } = await import('../helpers/models');
    require('fs').writeFileSync(
      file,
      buildModel({
        inputs: [{ name: 'img', dtype: 'uint8', shape: ['N', 4] }],
        outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 4] }],
        nodes: [{ op: 'Cast', inputs: ['img'], outputs: ['y'], attrs: { to: 1 } }],
      }),
    );
    const images = Uint8Array.from({ length: 24 }, (_, i) => (i * 37) % 256);
    await expect(images).toBeBatchInvariant(file, 'exact');
    const r = await run(images, file, sizes);
    expect(r.report.samples).toEqual({ source: 'user', seed: 0, count: 6 });
  });

  test('accepts a model handle and leaves it open for the next check', async () => {
    const handle = await openModel(invariantModel());
    await expect(handle).toBeBatchInvariant(sizes);
    await expect(handle).toBeDeterministic({ repeats: 2 });
    expect(handle.closed).toBe(false);
    await handle.close();
    await expect(expect(handle).toBeBatchInvariant()).rejects.toThrow(/was closed.*load the model again/);
  });

  test('bad input throws one clear line instead of passing', async () => {
    await expect(expect('missing.onnx').toBeBatchInvariant()).rejects.toThrow('missing.onnx: no such file; check the path to the .onnx model');
    await expect(expect(42).toBeBatchInvariant()).rejects.toThrow(/expected a model/);
    await expect(expect(invariantModel()).toBeBatchInvariant([1, 2] as never)).rejects.toThrow(/expected options, a tolerance number or 'exact'/);
    // Samples with a tolerance but no model: the model is missing, not a file named 'exact'.
    await expect(expect([[1, 2], [3, 4]]).toBeBatchInvariant('exact' as never)).rejects.toThrow(/^toBeBatchInvariant: expected a model .* or samples with the model as the first argument/);
    await expect(expect([[1, 2], [3, 4]]).toBeDeterministic('default' as never)).rejects.toThrow(/^toBeDeterministic: expected a model/);
  });

  test("options after the options are refused, never dropped: expect(model).toBeBatchInvariant(a, { tolerance: 'exact' }) ran on the default tolerance", async () => {
    // The drift model passes the default tolerance and fails 'exact': ignored, the second argument let it pass.
    await expect(expect(driftModel()).toBeBatchInvariant(sizes as never, { tolerance: 'exact' } as never)).rejects.toThrow(
      /^toBeBatchInvariant: a second argument after the options would be ignored, got \{"tolerance":"exact"\}; with expect\(model\) give one options object: expect\(model\)\.toBeBatchInvariant\(\{ \.\.\. \}\)/,
    );
    await expect(expect(driftModel()).toBeDeterministic('exact', { repeats: 3 } as never)).rejects.toThrow(/^toBeDeterministic: a second argument after the options would be ignored/);
    await expect(expect(async (b: number[][]) => b).toBeBatchInvariant({ samples: [[1], [2]] } as never, { tolerance: 'exact' } as never)).rejects.toThrow(
      /^toBeBatchInvariant: a second argument after the options would be ignored/,
    );
  });

  test("a model where the options go is named as such, not 'unknown option '0''; a Map is not options", async () => {
    const line = /^toBeBatchInvariant: a model \(bytes, a session or a handle\) where the options go, and the received value is a model too/;
    await expect(expect(invariantModel()).toBeBatchInvariant(invariantModel() as never)).rejects.toThrow(line);
    // uint8 samples with the model as bytes: the bytes cannot say which is which.
    await expect(expect(Uint8Array.from([1, 2, 3, 4])).toBeBatchInvariant(invariantModel())).rejects.toThrow(/samples that are bytes need the model as a path, a session or an openModel\(\) handle/);
    await expect(expect(invariantModel()).toBeBatchInvariant(new Map() as never)).rejects.toThrow(/^toBeBatchInvariant: expected options, a tolerance number or 'exact', got a Map/);
  });
});
