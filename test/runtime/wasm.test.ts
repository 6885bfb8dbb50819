/**
 * Provider 'wasm': onnxruntime-web 1.30's WebAssembly backend, in this Node process, against
 * onnxruntime-node's CPU on the bundled examples. Real sessions, no mocks.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as ort from 'onnxruntime-node';
import * as os from 'os';
import * as path from 'path';
import { describeProviders, toMatchAcrossProviders } from '../../matchers';
import { selectEntries } from '../../matchers/describeProviders';
import { BadInputError, checkBatchInvariance, checkRunningStats, compareProviders, describeFingerprint, fixture, fingerprintFor, openModel } from '../../src';
import { cli } from '../helpers/cli';
import { bnCalibrationData, bnModel, buildModel, invariantModel, leakyModel } from '../helpers/models';

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

  test('sessions on changed models (stats, locate) run on wasm too: stats finds the training-mode BatchNorms', async () => {
    const r = await cli('stats', path.join(root, 'examples', 'models', 'embedding_cnn_train_bn.onnx'), '--provider', 'wasm', '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report.fingerprint.provider).toBe('wasm');
    expect(report.problems.length).toBeGreaterThan(0);
  });

  test('threads is env.wasm.numThreads, read once per process: another count later is one line; GPU-only options are refused', async () => {
    const one = await openModel(cnn, { provider: 'wasm', threads: 1 });
    await one.close();
    await expect(openModel(cnn, { provider: 'wasm', threads: 2 })).rejects.toThrow(
      "provider 'wasm' already runs with 1 thread in this process (onnxruntime-web reads env.wasm.numThreads once, when its first session starts); ask for threads: 1, or run the other thread count in another process",
    );
    expect(() => fixture({ provider: 'wasm', deviceId: 0 })).toThrow("deviceId applies to GPU providers, not 'wasm'; leave it out");
    expect(() => fixture({ provider: 'wasm', interOpThreads: 2 })).toThrow(/^interOpThreads does not apply to provider 'wasm'/);
    // BATCHPROOF_PROVIDERS names it like any provider.
    expect(selectEntries([{ provider: 'cpu' }], 'cpu,wasm')).toEqual([{ provider: 'cpu' }, { provider: 'wasm' }]);
  });

  test("onnxruntime-web's own config entry stays out of the caller's extra: the settings, both fingerprints and a side sharing the object read as given", async () => {
    // onnxruntime-web writes session.use_ort_model_bytes_directly into the options it gets.
    const extra = { session: { disable_prepacking: '1' } };
    const report = await compareProviders(cnn, [{ provider: 'cpu', extra }, { provider: 'wasm', extra }]);
    expect(extra).toEqual({ session: { disable_prepacking: '1' } });
    for (const side of report.sides) {
      expect(side.settings.extra).toEqual({ session: { disable_prepacking: '1' } });
      expect(side.fingerprint.sessionConfig).toEqual({ 'session.disable_prepacking': '1' });
    }
  });

  test("a batch past WebAssembly's 4 GiB is out of memory, in one line naming wasm's limit, not a batch fixed at export", async () => {
    // x [N, 1] broadcast to [N, 2^26] floats inside the graph: 256 MiB a sample, tiny inputs and outputs.
    const model = buildModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 1] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: ['N'] }],
      initializers: [{ name: 'wide', dtype: 'int64', dims: [2], data: [1, 2 ** 26] }],
      nodes: [
        { op: 'Expand', inputs: ['x', 'wide'], outputs: ['big'] },
        { op: 'ReduceMax', inputs: ['big'], outputs: ['y'], attrs: { axes: [1], keepdims: 0 } },
      ],
    });
    // Batch 17 is 4.25 GiB in one tensor: onnxruntime-web's 32-bit sizes overflow (a bad_alloc when the sum is over).
    const memory = /^<bytes>: onnxruntime-web ran out of memory on a batch of 17 \(.*\): provider 'wasm' runs in onnxruntime-web's WebAssembly memory, at most 4 GiB whatever this machine has; run smaller batches/;
    await expect(checkBatchInvariance(model, { provider: 'wasm', batchSizes: [1, 17] })).rejects.toThrow(memory);
    await expect(checkBatchInvariance(model, { provider: 'wasm', batchSizes: [1, 2, 17] })).rejects.toThrow(memory);
    await expect(compareProviders(model, [{ provider: 'wasm' }, { provider: 'cpu', batchSize: 1 }], { batchSize: 17 })).rejects.toThrow(memory);
  });

  test('a model with external data beside it runs on wasm as on cpu (onnxruntime-web reads no files itself: it is given them)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'batchproof-wasm-external-'));
    try {
      const m = bnModel({ storage: 'external' });
      const file = path.join(dir, 'model.onnx');
      fs.writeFileSync(file, m.bytes);
      fs.writeFileSync(path.join(dir, m.externalFile!.name), m.externalFile!.bytes);
      const report = await compareProviders(file, ['cpu', 'wasm']);
      expect(report.verdict).not.toBe('different');
      expect(report.comparisons[0].outputs[0].comparedRows).toBe(8);
      // From another working directory, as the CLI is run: the data is found beside the model.
      const r = await cli('check', file, '--provider', 'wasm', '--batch-sizes', '1,2', '--json');
      expect(r.stderr).toBe('');
      expect(JSON.parse(r.stdout).verdict).toBe('invariant');
      // stats runs the model's bytes, rewritten, with the data beside the file: on wasm too.
      const stats = await checkRunningStats(file, bnCalibrationData(64), { provider: 'wasm' });
      expect(stats.fingerprint.provider).toBe('wasm');
      expect(stats.verdict).toBe('healthy');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a model onnxruntime-web cannot load is one line naming onnxruntime-web and provider 'wasm', not onnxruntime-node's words", async () => {
    const unknownOp = buildModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 4] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 4] }],
      nodes: [{ op: 'NoSuchOp', inputs: ['x'], outputs: ['y'] }],
    });
    // The wasm side first, so it is the one that fails: the line must say which runtime did.
    const failure = compareProviders(unknownOp, ['wasm', 'cpu']);
    await expect(failure).rejects.toThrow(BadInputError);
    await expect(failure).rejects.toThrow(/^<bytes>: onnxruntime-web \(provider 'wasm'\) could not load the model \(.*NoSuchOp.*\); re-export it or check the session options$/);
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

describe('the served answer across runtimes: a batch on one side, each sample alone on the other', () => {
  test('CLI: compare --provider cpu --batch-size 8 --against wasm --against-batch-size 1: wasm runs 8 batches of 1, within tolerance', async () => {
    const r = await cli('compare', transformer, '--provider', 'cpu', '--batch-size', '8', '--against', 'wasm', '--against-batch-size', '1', '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.samples.batchSize).toBe(8);
    expect(report.runs).toEqual([{ side: 'cpu, batch 8', batchSize: 8, calls: 2 }, { side: 'wasm, batch 1', batchSize: 1, calls: 16 }]);
    expect(report.sides.map((s: { batchSize: number }) => s.batchSize)).toEqual([8, 1]);
    const o = report.comparisons[0].outputs[0];
    expect(o.comparedRows).toBe(8);
    expect(o.maxAbs).toBeGreaterThan(0);
    expect(o.maxAbs).toBeLessThan(1e-5);
    expect(report.verdict).toBe('within-tolerance');
    const text = await cli('compare', transformer, '--against', 'wasm', '--against-batch-size', '1');
    expect(text.stdout).toMatch(/same 8 synthesized samples \(seed 0\) on every side, cpu, batch 8 in one batch, wasm, batch 1 in 8 batches of 1, each batch run twice/);
  });

  test('toMatchAcrossProviders takes each side\'s batchSize', async () => {
    const result = await toMatchAcrossProviders.call({ isNot: false, promise: '' }, cnn, [{ provider: 'cpu', batchSize: 6 }, { provider: 'wasm', batchSize: 2 }]);
    expect(result.pass).toBe(true);
    expect(result.report.runs).toEqual([{ side: 'cpu, batch 6', batchSize: 6, calls: 2 }, { side: 'wasm, batch 2', batchSize: 2, calls: 6 }]);
  });

  test('the sides really batch differently: a model that mixes batch-mates differs at batch 4 against batch 1, not at 4 against 4', async () => {
    const leaky = leakyModel();
    const apart = await compareProviders(leaky, [{ provider: 'cpu', batchSize: 4 }, { provider: 'cpu', threads: 1, batchSize: 1 }]);
    expect(apart.verdict).toBe('different');
    const together = await compareProviders(leaky, [{ provider: 'cpu', batchSize: 4 }, { provider: 'cpu', threads: 1 }]);
    expect(together.verdict).toBe('identical');
    // A side batching more than the samples compared, or the same side twice: one line each.
    await expect(compareProviders(invariantModel(), [{ provider: 'cpu', batchSize: 2 }, { provider: 'wasm', batchSize: 4 }])).rejects.toThrow(
      /^side 2 \(wasm, batch 4\) batches 4 samples, more than the 2 compared; /,
    );
    await expect(compareProviders(invariantModel(), ['cpu', { provider: 'cpu', batchSize: 8 }])).rejects.toThrow(/^sides 1 and 2 have the same settings .*proves nothing/);
    await expect(compareProviders(invariantModel(), ['cpu', { provider: 'wasm', batchSize: 0 }])).rejects.toThrow("side 2's batchSize must be a positive integer, got 0; for example { provider: 'wasm', batchSize: 1 }");
    expect((await cli('compare', transformer, '--against-batch-size', '8')).code).toBe(2);
  });

  test('two wasm sides with different thread counts are refused before any session, with the cure', async () => {
    const message = "wasm sides with 1 and 2 threads cannot run in one process (onnxruntime-web reads env.wasm.numThreads once, when its first session starts); compare each wasm thread count against cpu in its own run (CLI: batchproof compare model.onnx --provider cpu --against wasm --against-threads N)";
    await expect(compareProviders(invariantModel(), ['wasm', { provider: 'wasm', threads: 2 }])).rejects.toThrow(new BadInputError(message));
    const r = await cli('compare', transformer, '--provider', 'wasm', '--against-threads', '2');
    expect(r).toMatchObject({ code: 2, stdout: '', stderr: `batchproof: ${message}\n` });
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
test('describeProviders ran both: wasm was not skipped', () => {
  expect(ran.sort()).toEqual(['cpu', 'wasm']);
});

/**
 * A consumer project without onnxruntime-web (or with another release of it): a node_modules of
 * links to every package here but onnxruntime-web, and batchproof as a package (its dist and
 * package.json). Node runs with --preserve-symlinks, so modules resolve from these paths and
 * never reach this repository's node_modules. Needs `npm run build` (npm test runs it first).
 */
function consumer(web: string | null): { dir: string; node(args: string[]): { code: number | null; stdout: string; stderr: string }; done(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'batchproof-noweb-'));
  const modules = path.join(dir, 'node_modules');
  fs.mkdirSync(modules);
  for (const name of fs.readdirSync(path.join(root, 'node_modules'))) {
    if (name === 'onnxruntime-web' || name.startsWith('.')) continue;
    fs.symlinkSync(path.join(root, 'node_modules', name), path.join(modules, name));
  }
  const pkg = path.join(modules, 'batchproof');
  fs.mkdirSync(pkg);
  fs.symlinkSync(path.join(root, 'dist'), path.join(pkg, 'dist'));
  fs.copyFileSync(path.join(root, 'package.json'), path.join(pkg, 'package.json'));
  if (web) {
    // Another release: only its package.json is read; loading it would be the bug.
    fs.mkdirSync(path.join(modules, 'onnxruntime-web'));
    fs.writeFileSync(path.join(modules, 'onnxruntime-web', 'package.json'), JSON.stringify({ name: 'onnxruntime-web', version: web, main: 'index.js' }));
    fs.writeFileSync(path.join(modules, 'onnxruntime-web', 'index.js'), "throw new Error('onnxruntime-web of another release was loaded');\n");
  }
  return {
    dir,
    node: (args) => {
      const r = spawnSync(process.execPath, ['--preserve-symlinks', '--preserve-symlinks-main', ...args], {
        cwd: dir,
        encoding: 'utf8',
        env: { ...process.env, XDG_CACHE_HOME: path.join(dir, 'cache'), BATCHPROOF_PROVIDERS: '', BATCHPROOF_REQUIRE: '' },
        timeout: 60_000,
      });
      return { code: r.status, stdout: r.stdout, stderr: r.stderr };
    },
    done: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

describe('wasm where onnxruntime-web is missing, or of another release', () => {
  const bin = path.join('node_modules', 'batchproof', 'dist', 'src', 'cli', 'bin.js');
  const cure = "install onnxruntime-web 1.30 with 'npm install --save-dev onnxruntime-web@~1.30.0'";
  const missing = 'onnxruntime-web is not installed, an optional peer dependency of batchproof';

  test('missing: the CLI fails in one line naming it and the cure (exit 2); the API throws the same; describeProviders skips it with that reason', () => {
    const c = consumer(null);
    try {
      const r = c.node([bin, 'compare', cnn, '--provider', 'cpu', '--against', 'wasm']);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(`batchproof: provider 'wasm' is not available here (${missing}); ${cure}\n`);
      expect(r.code).toBe(2);
      const api = c.node(['-e', `
        const { fixture, availableProvidersSync, BadInputError } = require('batchproof');
        const { describeProviders } = require('batchproof/matchers');
        const seen = [];
        Object.assign(globalThis, {
          describe: Object.assign((name, fn) => { seen.push('run ' + name); fn(); }, { skip: (name) => seen.push('skip ' + name) }),
          test: () => {}, afterAll: () => {},
        });
        describeProviders(['cpu', 'wasm'], () => {});
        fixture({ provider: 'wasm' }).load(${JSON.stringify(cnn)}).then(
          () => console.log(JSON.stringify({ loaded: true })),
          (e) => console.log(JSON.stringify({ seen, bad: e instanceof BadInputError, message: e.message, probe: availableProvidersSync().find((p) => p.name === 'wasm') })),
        );`]);
      expect(api.stderr).toBe('');
      const out = JSON.parse(api.stdout);
      expect(out.bad).toBe(true);
      expect(out.message).toBe(`provider 'wasm' is not available here (${missing}); ${cure}`);
      expect(out.probe).toEqual({ name: 'wasm', available: false, reason: missing });
      expect(out.seen).toEqual(['run cpu', `skip wasm (skipped: ${missing})`]);
    } finally {
      c.done();
    }
  });

  test('another release: one line naming both versions, and onnxruntime-web is never loaded', () => {
    const c = consumer('1.29.0');
    try {
      const r = c.node([bin, 'check', cnn, '--provider', 'wasm']);
      expect(r.stderr).toBe(`batchproof: provider 'wasm' is not available here (onnxruntime-web 1.29.0 is installed; batchproof runs 1.30, the release of its onnxruntime-node); ${cure}\n`);
      expect(r.code).toBe(2);
      // The cpu provider of the same project still works.
      const ok = c.node([bin, 'check', cnn, '--batch-sizes', '1,2']);
      expect(ok.code).toBe(0);
    } finally {
      c.done();
    }
  });
});
