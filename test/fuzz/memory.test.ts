/**
 * Sizes checked against memory before anything is allocated, threads capped, and model paths
 * that are not regular files or models with nothing to compare refused in one line.
 * Every refusal here must be fast and allocation-free: the process's RSS may not grow by 100 MB.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ort from 'onnxruntime-node';
import { checkBatchInvariance } from '../../src/invariance/check';
import { checkDeterminism } from '../../src/invariance/determinism';
import { executePlan } from '../../src/invariance/run';
import { makePlan, type Plan, type PlannedRun } from '../../src/invariance/plan';
import { prepareInputs } from '../../src/inputs/prepare';
import { resolveInputs } from '../../src/inputs/spec';
import {
  assertBatchFits,
  batchBytes,
  DEFAULT_MAX_BYTES,
  formatBytes,
  parseByteSize,
  planFootprint,
} from '../../src/inputs/memory';
import { maxThreads, validateSettings } from '../../src/runtime/settings';
import { openModel } from '../../src/runtime/handle';
import { modelBytes } from '../../src/runtime/model-bytes';
import { BadInputError } from '../../src/errors';
import { buildModel, invariantModel, seededFloats } from '../helpers/models';
import { compareProviders } from '../../src/compare-providers/compare';
import { cli } from '../helpers/cli';

const CNN = path.join(__dirname, '../../examples/models/embedding_cnn.onnx');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'batchproof-memory-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** x [N, d] -> y [N, d]: every dim of the output is declared through the input's symbols. */
function symbolicModel(): Uint8Array {
  return buildModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 'd'] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 'd'] }],
    nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }],
  });
}

/** Runs `fn`, expects a one-line BadInputError matching `pattern`, and that nothing big was allocated. */
const esc = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

async function refuses(fn: () => unknown, pattern: RegExp): Promise<string> {
  const before = process.memoryUsage().rss;
  let error: unknown;
  try {
    await fn();
  } catch (e) {
    error = e;
  }
  const grown = process.memoryUsage().rss - before;
  expect(error).toBeInstanceOf(BadInputError);
  const message = (error as Error).message;
  expect(message).not.toMatch(/\n/);
  expect(message).not.toMatch(/internal error/);
  expect(message).toMatch(pattern);
  expect(grown).toBeLessThan(100e6);
  return message;
}

describe('the estimate', () => {
  test('counts inputs, shared inputs and declared outputs exactly, in BigInt', async () => {
    const handle = await openModel(CNN);
    try {
      const { specs } = resolveInputs(handle.inputs, {});
      const e = batchBytes(specs, handle.outputs, 512);
      // input [512, 3, 32, 32] float32 x 3 copies + output [512, 64] float32 x 2 copies
      expect(e.bytes).toBe(512n * 3n * 32n * 32n * 4n * 3n + 512n * 64n * 4n * 2n);
      expect(e.unknownOutputs).toEqual([]);
      // A big batch that fits passes, and returns the same estimate.
      expect(assertBatchFits({ specs, outputs: handle.outputs, batchSize: 512 }).bytes).toBe(e.bytes);
    } finally {
      await handle.close();
    }
  });

  test('products beyond 2^53 stay exact; outputs with undeclared dims are unknown, not zero', async () => {
    const handle = await openModel(symbolicModel());
    try {
      const { specs } = resolveInputs(handle.inputs, { dims: { d: 2 ** 40 } });
      const e = batchBytes(specs, handle.outputs, 2 ** 20);
      expect(e.bytes).toBe(2n ** 60n * 4n * 3n + 2n ** 60n * 4n * 2n);
      const unknown = batchBytes(specs, [{ name: 'z', dtype: 'float32', shape: ['N', 'other'] }, { name: 's', dtype: 'string', shape: ['N'] }], 4);
      expect(unknown.unknownOutputs).toEqual(['z', 's']);
      expect(unknown.bytes).toBe(4n * 2n ** 40n * 4n * 3n);
      expect(() => assertBatchFits({ specs, outputs: handle.outputs, batchSize: 2 ** 20, maxBytes: 1e9 })).toThrow(/needs about [\d.]+ EB \(limit 1\.0 GB\)/);
    } finally {
      await handle.close();
    }
  });

  test('the message names the size, the input, the limit and the cure', async () => {
    const handle = await openModel(CNN);
    try {
      const { specs } = resolveInputs(handle.inputs, {});
      await refuses(
        () => assertBatchFits({ specs, outputs: handle.outputs, batchSize: 100_000_000, maxBytes: 6e9 }),
        /^batch 100000000 needs about 3\.7 TB \(limit 6\.0 GB\), almost all of it for input 'input' \[N, 3, 32, 32\]; use smaller batch sizes or raise maxBytes \(CLI --max-memory\)$/,
      );
      // The total is every tensor's (the input's copies and the output's); the input is named with its own share of it, not the total.
      const estimate = batchBytes(specs, handle.outputs, 2);
      const input = estimate.tensors.find((t) => t.name === 'input')?.bytes as bigint;
      expect(input).toBeLessThan(estimate.bytes);
      await refuses(
        () => assertBatchFits({ specs, outputs: handle.outputs, batchSize: 2, maxBytes: 1000 }),
        new RegExp(`^${esc(`batch 2 needs about ${formatBytes(estimate.bytes)} (limit 1.0 KB), ${formatBytes(input)} of it for input 'input' [N, 3, 32, 32]; `)}`),
      );
      // One sample alone too big: smaller batches cannot help, the dims must shrink.
      await refuses(() => assertBatchFits({ specs, outputs: handle.outputs, batchSize: 2, maxBytes: 1000 }), /use smaller dims/);
    } finally {
      await handle.close();
    }
  });

  test('a tensor longer than a typed array can hold is refused even without a byte limit', async () => {
    const handle = await openModel(symbolicModel());
    try {
      const { specs } = resolveInputs(handle.inputs, { dims: { d: 2 ** 31 } });
      await refuses(
        () => assertBatchFits({ specs, outputs: handle.outputs, batchSize: 4, maxBytes: Infinity }),
        /holds 8589934592 values in one tensor, more than the 4294967296 a JavaScript typed array can hold/,
      );
    } finally {
      await handle.close();
    }
  });

  test('the JS heap is checked for the row lists of tiny samples', async () => {
    const handle = await openModel(invariantModel());
    try {
      const { specs } = resolveInputs(handle.inputs, {});
      // 1e8 samples of 8 floats: 9.6 GB of memory would fit a big machine, the heap never.
      await refuses(
        () => assertBatchFits({ specs, outputs: handle.outputs, batchSize: 100_000_000, maxBytes: Infinity }),
        /^batch 100000000 needs about [\d.]+ GB of JavaScript heap .*--max-old-space-size/,
      );
    } finally {
      await handle.close();
    }
  });

  test('bad limits and batch sizes are one line', async () => {
    const handle = await openModel(invariantModel());
    try {
      const { specs } = resolveInputs(handle.inputs, {});
      for (const maxBytes of [0, -1, NaN, 5n, '4GB']) {
        await refuses(() => assertBatchFits({ specs, batchSize: 4, maxBytes: maxBytes as number }), /^maxBytes must be a positive number of bytes/);
      }
      for (const batchSize of [NaN, Infinity, 1.5, 0]) {
        await refuses(() => assertBatchFits({ specs, batchSize }), /^a batch size must be a positive integer/);
      }
    } finally {
      await handle.close();
    }
  });

  test('the default limit comes from the machine', () => {
    expect(DEFAULT_MAX_BYTES).toBeGreaterThan(0);
    expect(DEFAULT_MAX_BYTES).toBeLessThanOrEqual(os.totalmem() / 2);
  });

  test('byte sizes print and parse', () => {
    expect(formatBytes(512n)).toBe('512 B');
    expect(formatBytes(1_500n)).toBe('1.5 KB');
    expect(formatBytes(999_999n)).toBe('1.0 MB');
    expect(formatBytes(6e9)).toBe('6.0 GB');
    expect(formatBytes(2n ** 80n)).toBe('1.2e+24 bytes');
    expect(formatBytes(10n ** 400n)).toBe('more than 1e308 bytes');
    expect(parseByteSize('4e9')).toBe(4e9);
    expect(parseByteSize('512MB')).toBe(512e6);
    expect(parseByteSize('8 GiB')).toBe(8 * 2 ** 30);
    expect(parseByteSize('1.5t')).toBe(1.5e12);
    for (const bad of ['', 'GB', '-1GB', '0', '4XB', 'iB', '4 i']) expect(parseByteSize(bad)).toBeNull();
  });

  test('planFootprint mirrors makePlan without allocating', () => {
    const cases = [
      {},
      { batchSizes: [1, 7, 33] },
      { batchSizes: [1, 4], reference: 9 },
      { batchSizes: [1, 4], servedSizes: [12] },
      { batchSizes: [1, 4], padTo: 10 },
      { maxBatch: 16, probes: 2 },
    ];
    for (const options of cases) {
      const plan = makePlan(options);
      const largest = Math.max(...plan.runs.map((r) => r.rows.length));
      const held = new Set(plan.runs.map((r) => r.rows));
      const rows = [...held].reduce((n, r) => n + r.length, 0);
      const f = planFootprint(options);
      expect(f.batchSize).toBe(largest);
      expect(f.plannedRows).toBeGreaterThanOrEqual(rows);
    }
    expect(planFootprint({ batchSizes: [1, 4], padTo: 99_999_999 }).what).toBe('batches padded to 99999999 (padTo, CLI --pad-to)');
    expect(planFootprint({ reference: 99_999_999 }).what).toBe('the reference batch of 99999999');
    expect(planFootprint({ batchSizes: [1], servedSizes: [100_000_000] }).what).toBe('served batch 100000000');
  });
});

describe('executePlan refuses a plan that cannot fit, before its first run', () => {
  /** A plan with one run of `rows` rows; the row list has a length and no storage. */
  function planOf(purpose: PlannedRun['purpose'], size: number, rows: number): Plan {
    const run: PlannedRun = { purpose, size, rows: new Array(rows), probes: [{ probe: 0, position: 0 }] };
    return { reference: 1, probes: 1, sizes: [size], runs: [run], bySize: new Map([[size, [run]]]), pool2Base: 1 };
  }

  test.each([
    ['batch', 100_000_000, 100_000_000, /^batch 100000000 needs about .* for input 'input' \[N, 3, 32, 32\]/],
    ['reference', 99_999_999, 99_999_999, /^the reference batch of 99999999 needs about .* for input 'input'/],
    ['batch', 4, 99_999_999, /^batches padded to 99999999 \(padTo, CLI --pad-to\) needs about .* for input 'input'/],
  ] as const)('%s of %d rows (%d with padding)', async (purpose, size, rows, pattern) => {
    const handle = await openModel(CNN);
    try {
      const prepared = await prepareInputs(handle, {});
      const started = performance.now();
      await refuses(() => executePlan(handle, prepared.specs, prepared.shared, prepared.pool, planOf(purpose, size, rows)), pattern);
      expect(performance.now() - started).toBeLessThan(5000);
      // maxBytes is honoured: a small batch under a tiny limit is refused too.
      await refuses(
        () => executePlan(handle, prepared.specs, prepared.shared, prepared.pool, makePlan({ batchSizes: [1, 2] }), { maxBytes: 1000 }),
        /\(limit 1\.0 KB\)/,
      );
    } finally {
      await handle.close();
    }
  });

  test('no outputs to fetch is one line, not onnxruntime\'s "fetches cannot be an empty array"', async () => {
    const handle = await openModel(invariantModel());
    try {
      const prepared = await prepareInputs(handle, {});
      await refuses(
        () => executePlan(handle, prepared.specs, prepared.shared, prepared.pool, makePlan({ batchSizes: [1, 2] }), { outputs: [] }),
        /^no outputs to compare \(the outputs option is empty\); name at least one of: y$/,
      );
    } finally {
      await handle.close();
    }
    // Through the API (CLI --outputs ,): one line (the option table or executePlan says it).
    await refuses(() => checkBatchInvariance(invariantModel(), { outputs: [] }), /outputs must be a non-empty list|no outputs to compare/);
  });
});

describe('checkBatchInvariance still runs what fits', () => {
  test('negative control: a normal sweep and a big batch that fits still run', async () => {
    const r = await checkBatchInvariance(invariantModel(), { batchSizes: [1, 2, 512] });
    expect(r.verdict).toBe('invariant');
    expect(r.runs.map((x) => x.batchSize)).toContain(512);
    const d = await checkBatchInvariance(invariantModel(), {});
    expect(d.plan.sizes).toContain(64);
  });

  test('maxBytes reaches the estimate', async () => {
    await refuses(() => checkBatchInvariance(CNN, { batchSizes: [1, 2], maxBytes: 1000 }), /^batch 2 needs about [\d.]+ KB \(limit 1\.0 KB\), [\d.]+ KB of it for input 'input' \[N, 3, 32, 32\]; use smaller dims/);
    const r = await checkBatchInvariance(CNN, { batchSizes: [1, 2], maxBytes: 1e9 });
    expect(r.runs.length).toBeGreaterThan(0);
  });
});

/**
 * x [N, 16] · W -> y [N, 30522]: a logits head, tiny weights and wide outputs (7.8 MB at batch 64).
 * compare keeps every side's outputs and runs each batch twice, determinism keeps its first run
 * while later ones come and go: at batch 64 their RSS rose 57 MB (compare cpu against cpu at 2
 * threads) and 46 MB (determinism, 5 repeats), where one batch's two copies are 15.6 MB.
 */
function logitsModel(): Uint8Array {
  return buildModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 16] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 30522] }],
    initializers: [{ name: 'W', dtype: 'float32', dims: [16, 30522], data: seededFloats(16 * 30522, 3) }],
    nodes: [{ op: 'MatMul', inputs: ['x', 'W'], outputs: ['y'] }],
  });
}

describe('compare and determinism count the outputs they hold, not one batch', () => {
  const logits = path.join(tmp, 'logits.onnx');
  beforeAll(() => fs.writeFileSync(logits, logitsModel()));
  const oneLine = (r: { code: number; stdout: string; stderr: string }, pattern: RegExp) => {
    expect({ code: r.code, stdout: r.stdout, lines: r.stderr.trimEnd().split('\n').length }).toEqual({ code: 2, stdout: '', lines: 1 });
    expect(r.stderr).toMatch(pattern);
  };

  test('a limit one batch fits but every side\'s outputs do not is refused before running; a normal run passes', async () => {
    const compare = [logits, '--batch-size', '64', '--against-threads', '2'];
    oneLine(await cli('compare', ...compare, '--max-memory', '40MB'), /^batchproof: a batch of 64 \(batchSize, CLI --batch-size\) needs about 62\.5 MB \(limit 40\.0 MB\), [^;]* for output 'y' \[N, 30522\]; use smaller batch sizes or raise maxBytes \(CLI --max-memory\)$/m);
    await refuses(() => compareProviders(logits, ['cpu', { provider: 'cpu', threads: 2 }], { batchSize: 64, maxBytes: 40e6 }), /needs about 62\.5 MB \(limit 40\.0 MB\)/);
    // A side in batches of 1 keeps its outputs too, and its runtime a buffer of one row only.
    await refuses(() => compareProviders(logits, ['cpu', { provider: 'cpu', batchSize: 1 }], { batchSize: 64, maxBytes: 40e6 }), /needs about 47\.1 MB \(limit 40\.0 MB\)/);
    expect((await cli('compare', ...compare, '--max-memory', '100MB')).code).toBe(0);
    expect((await cli('compare', ...compare)).code).toBe(0);
  });

  test('check counts three copies of its largest batch\'s outputs, as it holds (RSS rose 41 MB at batch 64 where two copies are 15.6 MB)', async () => {
    const check = [logits, '--batch-sizes', '1,64'];
    oneLine(await cli('check', ...check, '--max-memory', '30MB'), /^batchproof: batch 64 needs about 39\.1 MB \(limit 30\.0 MB\), 23\.4 MB of it for output 'y' \[N, 30522\]; use smaller batch sizes or raise maxBytes \(CLI --max-memory\)$/m);
    expect((await cli('check', ...check, '--max-memory', '100MB')).code).toBe(0);
  });

  test('determinism counts the runs in flight and not yet freed, not every repeat', async () => {
    const determinism = [logits, '--batch-size', '64', '--repeats', '5'];
    oneLine(await cli('determinism', ...determinism, '--max-memory', '40MB'), /^batchproof: a batch of 64 \(batchSize, CLI --batch-size\) needs about 54\.7 MB \(limit 40\.0 MB\), [^;]* for output 'y' \[N, 30522\]; use smaller batch sizes/m);
    // 50 repeats peak as 5 do (V8 frees the dropped runs), so they need no more.
    await refuses(() => checkDeterminism(logits, { batchSize: 64, repeats: 50, maxBytes: 40e6 }), /needs about 54\.7 MB/);
    expect((await checkDeterminism(logits, { batchSize: 64, repeats: 50, maxBytes: 60e6 })).verdict).toBe('deterministic');
    expect((await cli('determinism', ...determinism)).code).toBe(0);
  });
});

describe('the API refuses sizes that cannot fit (default limit), before allocating', () => {
  test.each([
    ['batchSizes', { batchSizes: [1, 100_000_000] }, /^batch 100000000 needs about 3\.8 TB .* for input 'input' \[N, 3, 32, 32\]/],
    ['reference', { reference: 99_999_999 }, /^the reference batch of 99999999 needs about .* for input 'input'/],
    ['servedSizes', { servedSizes: [100_000_000] }, /^served batch 100000000 needs about .* for input 'input'/],
    ['padTo', { padTo: 99_999_999 }, /^batches padded to 99999999 \(padTo, CLI --pad-to\) needs about .* for input 'input'/],
  ])('%s', async (_name, options, pattern) => {
    const started = performance.now();
    await refuses(() => checkBatchInvariance(CNN, options), pattern);
    expect(performance.now() - started).toBeLessThan(5000);
  });

  test('an input [N, 1e9] or [N, 2^40] through dims or shapes', async () => {
    await refuses(() => checkBatchInvariance(symbolicModel(), { dims: { d: 1e9 } }), /^batch 64 needs about [\d.]+ [TG]B \(limit .* for input 'x' \[N, 1000000000\]/);
    await refuses(() => checkBatchInvariance(symbolicModel(), { dims: { d: 2 ** 40 } }), /^batch 64 needs about [\d.]+ PB .* for input 'x' \[N, 1099511627776\]/);
    await refuses(() => checkBatchInvariance(symbolicModel(), { shapes: { x: ['N', 2 ** 40] } }), /needs about [\d.]+ PB/);
  });

  test('a shared (non-batched) input too large is refused before it is built', async () => {
    const shared = buildModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 8] }, { name: 'table', dtype: 'float32', shape: ['rows', 8] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 8] }],
      nodes: [{ op: 'Add', inputs: ['x', 'x'], outputs: ['y'] }],
    });
    await refuses(() => checkBatchInvariance(shared, { shapes: { table: ['rows', 8] }, dims: { rows: 2 ** 36 } }), /^one copy needs about .*, all of it for shared input 'table' \[68719476736, 8\]/);
  });

  test('checkDeterminism with batchSize 1e9', async () => {
    await refuses(() => checkDeterminism(CNN, { batchSize: 1e9 }), /^a batch of 1000000000 \(batchSize, CLI --batch-size\) needs about .* for input 'input' \[N, 3, 32, 32\]/);
  });
});

describe('threads', () => {
  test('capped at a multiple of the cores, in one line', async () => {
    const cap = maxThreads();
    expect(cap).toBeGreaterThanOrEqual(64);
    expect(() => validateSettings({ threads: cap })).not.toThrow();
    for (const key of ['threads', 'interOpThreads'] as const) {
      await refuses(() => validateSettings({ [key]: 100_000 }), new RegExp(`^${key} 100000 is more than the ${cap} allowed here \\(4 per core, at least 64; this machine has ${os.availableParallelism()} cores\\); use at most ${cap}`));
    }
    const started = performance.now();
    await refuses(() => checkBatchInvariance(invariantModel(), { threads: 100_000 }), /^threads 100000 is more than the/);
    expect(performance.now() - started).toBeLessThan(5000);
  });

  test('BigInt and other kinds are BadInputError, not TypeError', async () => {
    for (const v of [2n, '2', 1.5, NaN, null, Symbol('t')]) {
      await refuses(() => validateSettings({ threads: v as number }), /^threads must be a positive integer, got /);
    }
    await refuses(() => validateSettings({ deterministic: 1n as unknown as boolean }), /^deterministic must be true or false, got 1n/);
    await refuses(() => validateSettings({ extra: { session: { x: 1n } } }), /^extra\.session\.x must be a string/);
    await refuses(() => validateSettings(null as never), /^session settings must be an object/);
    // A handle pinned to its settings: asking for other threads names both, whatever the kind.
    const handle = await openModel(invariantModel());
    try {
      await refuses(() => openModel(handle, { threads: 2n as unknown as number }), /^threads: 2n \(a BigInt\) asks for another session/);
    } finally {
      await handle.close();
    }
  });
});

describe('model files that are not regular files', () => {
  const fifo = path.join(tmp, 'model.fifo');
  let held: number;
  beforeAll(() => {
    require('child_process').execFileSync('mkfifo', [fifo]);
    // Held open for reading and writing, with bytes in it: a reader that got past the check
    // would neither block on open nor hang on an empty read, it would read garbage and fail.
    held = fs.openSync(fifo, 'r+');
    fs.writeSync(held, Buffer.from([0x08, 0x07, 0x12, 0x00]));
  });
  afterAll(() => fs.closeSync(held));

  const pipeWords = /is a pipe \(a FIFO or a process substitution such as <\(\.\.\.\)\), not a regular file; save the model to a file and pass its path$/;

  test('a FIFO, a process substitution (/dev/fd/N on a pipe), a char device, a directory', async () => {
    const substituted = `/dev/fd/${held}`;
    for (const [file, pattern] of [
      [fifo, pipeWords],
      [substituted, pipeWords],
      ['/dev/null', /^\/dev\/null: is a character device, not a regular file; save the model to a file and pass its path$/],
      [tmp, /: is a directory; point at an \.onnx file inside it$/],
    ] as const) {
      await refuses(() => checkBatchInvariance(file), pattern);
      await refuses(() => openModel(file), pattern);
      await refuses(() => modelBytes(file), pattern);
    }
  });
});

describe('models with nothing to compare', () => {
  test('a graph with no outputs', async () => {
    const noOutputs = buildModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 2] }],
      outputs: [],
      nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }],
    });
    await refuses(() => checkBatchInvariance(noOutputs), /^<bytes>: the model declares no outputs, so there is nothing to compare; re-export it with its outputs/);
    const file = path.join(tmp, 'no-outputs.onnx');
    fs.writeFileSync(file, noOutputs);
    await refuses(() => openModel(file), /no-outputs\.onnx: the model declares no outputs/);
    const session = await ort.InferenceSession.create(noOutputs);
    try {
      await refuses(() => checkBatchInvariance(session), /^<session>: the model declares no outputs/);
    } finally {
      await session.release();
    }
  });

  test('a graph with no nodes and no outputs (onnxruntime cannot load it)', async () => {
    const empty = buildModel({ inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 2] }], outputs: [], nodes: [] });
    await refuses(() => openModel(empty), /^<bytes>: the model's graph computes nothing \(no outputs, or no nodes that produce them\), so onnxruntime cannot load it; re-export it with its outputs$/);
  });
});
