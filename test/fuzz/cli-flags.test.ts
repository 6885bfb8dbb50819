// CLI-only bad input: each is one line and exit 2, before any work; --max-memory reaches the API as maxBytes.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { byteSize } from '../../src/cli/parse';
import { cli } from '../helpers/cli';
import { bnModel, buildModel, invariantModel } from '../helpers/models';
import { exportedTextModel } from '../helpers/text-models';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-fuzz-flags-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const model = path.join(dir, 'm.onnx');
fs.writeFileSync(model, invariantModel());
const bn = path.join(dir, 'bn.onnx');
fs.writeFileSync(bn, bnModel().bytes);

function expectOneLine(r: { code: number; stdout: string; stderr: string }, message: RegExp): void {
  expect({ code: r.code, stdout: r.stdout, lines: r.stderr.trimEnd().split('\n').length }).toEqual({ code: 2, stdout: '', lines: 1 });
  expect(r.stderr).toMatch(message);
}

test('--outputs with no names (",", " , ") is refused: an empty list would compare nothing', async () => {
  for (const value of [',', ' , ', ',,']) {
    for (const command of ['check', 'determinism', 'locate']) {
      expectOneLine(await cli(command, model, '--outputs', value), /--outputs ".*": no names given; expected a comma-separated list of output names/);
    }
  }
  expect(JSON.parse((await cli('check', model, '--batch-sizes', '1,2', '--outputs', 'y,', '--json')).stdout).verdict).toBe('invariant');
});

test('an empty item in a comma-list flag is one line (1,,2 is an item left out); one trailing comma is allowed, as in a JS array', async () => {
  const empty = (flag: string) => new RegExp(`^batchproof: ${flag} \\S+: the list has an empty item \\(two commas in a row, or one first\\); give each item between commas, e.g. ${flag} `);
  for (const args of [
    ['check', model, '--batch-sizes', '1,,2'],
    ['locate', model, '--batch-sizes', ',1,2'],
    ['check', model, '--serve-sizes', '1,,2'],
    ['check', model, '--outputs', 'y,,y'],
    ['determinism', model, '--outputs', ',y'],
    ['check', model, '--const', 'x=1,,2'],
    ['check', model, '--shape', 'x=N,,8'],
  ]) {
    expectOneLine(await cli(...args), empty(args[2]));
  }
  expectOneLine(await cli('stats', bn, '--tolerance', 'z=1,,ratio=2'), /^batchproof: --tolerance z=1,,ratio=2: expected z=Z,ratio=R/);
  expectOneLine(await cli('check', model, '--tolerance', 'atol=1,,rtol=0'), /^batchproof: --tolerance atol=1,,rtol=0: not a tolerance/);
  const trailing = JSON.parse((await cli('check', model, '--batch-sizes', '1,2,', '--json')).stdout);
  expect([...new Set(trailing.batches.map((b: { size: number }) => b.size))]).toEqual([1, 2]);
});

test('a list flag given twice is one line naming both lists, not the last one kept', async () => {
  for (const [flag, first, second, both] of [
    ['--batch-sizes', '1,2', '4', '1,2,4'],
    ['--serve-sizes', '1', '1,8', '1,8'],
    ['--outputs', 'y', 'y', 'y'],
  ]) {
    expectOneLine(
      await cli('check', model, flag, first, flag, second),
      new RegExp(`^batchproof: ${flag} given twice \\(${first} and ${second}\\); give it once, with every item in one comma-separated list, e.g. ${flag} ${both}\n$`),
    );
  }
  expectOneLine(await cli('locate', model, '--batch-sizes', '1,2', '--batch-sizes', '4'), /--batch-sizes given twice/);
});

// Commander keeps the last of a flag given twice and drops the first without a word: `--json
// a.json --json b.json` wrote only b.json, `--tolerance exact --tolerance default` ran with default.
test('a flag that takes a value, given twice, is one line naming it; nothing runs, no file written', async () => {
  const a = path.join(dir, 'twice-a.json');
  const b = path.join(dir, 'twice-b.json');
  for (const [args, message] of [
    [['check', model, '--json', a, '--json', b], /^batchproof: --json given twice \(\S+twice-a\.json and \S+twice-b\.json\); give it once\n$/],
    [['check', model, '--json', '--json', b], /^batchproof: --json given twice \(--json alone and \S+twice-b\.json\); give it once\n$/],
    [['check', model, `--json=${a}`, `--json=${b}`], /^batchproof: --json given twice/],
    [['check', model, '--tolerance', 'exact', '--tolerance', 'default'], /^batchproof: --tolerance given twice \(exact and default\); give it once\n$/],
    [['check', model, '--provider', 'cpu', '--provider', 'wasm'], /^batchproof: --provider given twice \(cpu and wasm\); give it once\n$/],
    [['check', model, '--budget', '30s', '--budget', '1m'], /^batchproof: --budget given twice \(30s and 1m\)/],
    [['check', model, '--pad-to', '2', '--filler', 'zeros', '--filler', 'last'], /^batchproof: --filler given twice \(zeros and last\)/],
    [['determinism', model, '--repeats', '3', '--repeats', '4'], /^batchproof: --repeats given twice \(3 and 4\)/],
    [['compare', model, '--against', 'cpu', '--against', 'wasm'], /^batchproof: --against given twice \(cpu and wasm\)/],
    [['locate', model, '--threads', '1', '--threads', '2'], /^batchproof: --threads given twice \(1 and 2\)/],
    [['stats', bn, '--tolerance', 'z=1', '--tolerance', 'z=2'], /^batchproof: --tolerance given twice \(z=1 and z=2\)/],
    [['diff', model, model, '--neighbors', '2', '--neighbors', '3'], /^batchproof: --neighbors given twice \(2 and 3\)/],
    [['fingerprint', '--json', a, '--json', b], /^batchproof: --json given twice/],
    [['report', model, '-o', path.join(dir, 'x.html'), '-o', path.join(dir, 'y.html')], /^batchproof: -o \(--output\) given twice \(\S+x\.html and \S+y\.html\); give it once\n$/],
    [['report', model, '-o', path.join(dir, 'x.html'), '--title', 'one', '--title', ''], /^batchproof: --title given twice \(one and ''\)/],
    // A bad value is still said first.
    [['check', model, '--threads', 'x', '--threads', '2'], /^batchproof: --threads x: expected a positive integer\n$/],
  ] as [string[], RegExp][]) {
    expectOneLine(await cli(...args), message);
  }
  expect([fs.existsSync(a), fs.existsSync(b), fs.existsSync(path.join(dir, 'y.html'))]).toEqual([false, false, false]);
});

test('the repeatable flags (--shape, --dim, --const, --output-tolerance) still take one item each; one item twice is refused', async () => {
  const two = path.join(dir, 'two-dims.onnx');
  fs.writeFileSync(
    two,
    buildModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 'S', 'T'] }, { name: 'a', dtype: 'float32', shape: [] }, { name: 'b', dtype: 'float32', shape: [] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 'S', 'T'] }, { name: 'z', dtype: 'float32', shape: ['N', 'S', 'T'] }],
      nodes: [{ op: 'Mul', inputs: ['x', 'a'], outputs: ['y'] }, { op: 'Mul', inputs: ['x', 'b'], outputs: ['z'] }],
    }),
  );
  const base = ['check', two, '--batch-sizes', '1,2', '--const', 'a=2', '--const', 'b=3'];
  const r = await cli(...base, '--dim', 'S=2', '--dim', 'T=3', '--shape', 'x=N,S,T', '--shape', 'y=N,S,T', '--output-tolerance', 'y:exact', '--output-tolerance', 'z:ulp=2', '--json');
  expect(r.code).toBe(0);
  const report = JSON.parse(r.stdout);
  expect({ dims: report.model.dims, tolerance: report.tolerance, verdict: report.verdict }).toEqual({ dims: { S: 2, T: 3 }, tolerance: { y: 'exact (bitwise)', z: 'ulp<=2' }, verdict: 'invariant' });
  for (const [args, message] of [
    [['--dim', 'S=2', '--dim', 'S=4'], /^batchproof: --dim names 'S' twice \(S=2 and S=4\); give each name once\n$/],
    [['--shape', 'x=N,S,T', '--shape', 'x=N,2,3'], /^batchproof: --shape names 'x' twice \(x=N,S,T and x=N,2,3\); give each name once\n$/],
    [['--const', 'a=5'], /^batchproof: --const names 'a' twice \(a=2 and a=5\); give each name once\n$/],
    [['--output-tolerance', 'y:exact', '--output-tolerance', 'y:default'], /^batchproof: --output-tolerance names 'y' twice \(y:exact and y:default\); give each name once\n$/],
  ] as [string[], RegExp][]) {
    expectOneLine(await cli(...base, ...args), message);
  }
});

test('--pad-to 1 (pads nothing) and --repeats beyond 10000 (runs without end) are one line naming the flag, before any run', async () => {
  expectOneLine(await cli('check', model, '--pad-to', '1'), /^batchproof: --pad-to 1: padding to 1 pads nothing \(every batch has a row already\); give the batch size your server pads to, 2 or more, e.g. --pad-to 8\n$/);
  // A batch function that fails after a few calls: a CLI that started the runs says so instead.
  const fn = path.join(dir, 'counted.js');
  fs.writeFileSync(fn, "let calls = 0; module.exports = async (batch) => { if (++calls > 50) throw new Error('the repeats ran'); return batch.map((s) => [s.length, 1]); };\n");
  const samples = path.join(dir, 'texts.json');
  fs.writeFileSync(samples, JSON.stringify(['a', 'bb', 'ccc', 'dddd']));
  for (const repeats of ['1000000000', '10001', '1']) {
    expectOneLine(await cli('determinism', fn, '--samples', samples, '--repeats', repeats), new RegExp(`^batchproof: --repeats ${repeats}: expected 2 to 10000 runs \\(each runs the whole batch again\\), e.g. --repeats 5\n$`));
  }
  expect((await cli('determinism', fn, '--samples', samples, '--repeats', '3')).code).toBe(0);
});

// A CLI user typed a flag: the line names that flag (as typed, or the API's option with the flag
// in brackets), never only the API's wording (`seed must be an integer`, `threads: 2`, `{ z: 0 }`).
test('a value the API refuses is said in the words of the flag the user gave', async () => {
  const text = path.join(dir, 'text.onnx');
  fs.writeFileSync(text, exportedTextModel({ ids: { vocab: 50 } }));
  const embed = path.join(dir, 'embed.js');
  fs.writeFileSync(embed, 'module.exports = async (batch) => batch.map((s) => [s.length, 1]);\n');
  const texts = path.join(dir, 'few-texts.json');
  fs.writeFileSync(texts, JSON.stringify(['a', 'bb', 'ccc']));
  const huge = '99999999999999999999';
  for (const [args, message] of [
    // Past 2^53 the digits are another number: the API would say "seed must be an integer, ...; for example seed: 0".
    [['check', model, '--seed', huge], /^batchproof: --seed 99999999999999999999: too large; expected an integer from -9007199254740991 to 9007199254740991\n$/],
    [['check', model, '--vocab', huge], /^batchproof: --vocab 99999999999999999999: too large; expected a positive integer, at most 9007199254740991\n$/],
    [['determinism', model, '--batch-size', huge], /^batchproof: --batch-size 99999999999999999999: too large/],
    [['check', model, '--pad-id', huge], /^batchproof: --pad-id 99999999999999999999: too large/],
    // A negative id: the API would say "padding.padId must be a token id".
    [['check', model, '--pad-id', '-1'], /^batchproof: --pad-id -1: a token id is 0 or more; give the id your tokenizer pads with, e.g. --pad-id 0\n$/],
    [['check', model, '--serve-sizes', `1,${huge}`], /^batchproof: --serve-sizes 1,99999999999999999999: '99999999999999999999' is not a positive integer \(at most 9007199254740991\)/],
    [['check', model, '--dim', `seq=${huge}`], /^batchproof: --dim seq=99999999999999999999: the size must be a whole number/],
    // The thread cap, for the flag given: compare's second side is --against-threads, not "threads".
    [['check', model, '--threads', '100000'], /^batchproof: --threads 100000: more than the \d+ threads allowed here \(4 per core, at least 64; this machine has \d+ cores\); use at most \d+, e.g. --threads \d+\n$/],
    [['compare', model, '--against-threads', '100000'], /^batchproof: --against-threads 100000: more than the \d+ threads allowed here .*e.g. --against-threads \d+\n$/],
    [['fingerprint', '--threads', '100000'], /^batchproof: --threads 100000: more than/],
    // Tolerances: the flag as written, not `tolerance atol` or the API's object.
    [['check', model, '--tolerance', 'atol=-1'], /^batchproof: --tolerance atol=-1: atol must be a non-negative number, got -1; use 'exact'/],
    [['check', model, '--tolerance', '-1'], /^batchproof: --tolerance -1: atol must be a non-negative number, got -1/],
    [['check', model, '--tolerance', 'atol=1,ulp=2'], /^batchproof: --tolerance atol=1,ulp=2: atol and ulp do not go together \(atol and rtol do; ulp and cosine stand alone\)/],
    [['check', model, '--tolerance', 'atol=1,atol=2'], /^batchproof: --tolerance atol=1,atol=2: atol is given twice; give it once\n$/],
    [['check', model, '--output-tolerance', 'y:ulp=1.5'], /^batchproof: --output-tolerance y:ulp=1.5: ulp must be a whole number, got 1.5\n$/],
    [['diff', model, model, '--tolerance', 'cosine=3'], /^batchproof: --tolerance cosine=3: cosine must be below 2, got 3/],
    [['stats', bn, '--tolerance', 'z=0'], /^batchproof: --tolerance z=0: z must be a positive finite number, got 0; for example z=0.5\n$/],
    [['stats', bn, '--tolerance', 'ratio=0.5'], /^batchproof: --tolerance ratio=0.5: ratio must be a finite number of at least 1/],
    [['stats', bn, '--tolerance', 'ratio=2:0.5'], /^batchproof: --tolerance ratio=2:0.5: ratio must be R >= 1 or \[lo, hi\]/],
    // The engine's own lines name the API option and the flag in brackets.
    [['check', model, '--output-tolerance', 'zz:exact'], /^batchproof: outputTolerances \(CLI --output-tolerance\) names output 'zz', which the model does not have; its outputs are: y\n$/],
    [['check', model, '--pad-axis', 'seq'], /^batchproof: padding.axis \(CLI --pad-axis\) "seq" asks for sequence padding, but the model has no mask input .*; name it with padding.mask \(CLI --mask NAME\), or leave it out\n$/],
    // --pad-id and --pad-side on a model with no mask were ignored without a word (exit 0).
    [['check', model, '--pad-id', '3'], /^batchproof: padding.padId \(CLI --pad-id\) 3 asks for sequence padding, but the model has no mask input/],
    [['locate', model, '--pad-side', 'left'], /^batchproof: padding.side \(CLI --pad-side\) "left" asks for sequence padding, but the model has no mask input/],
    [['check', text, '--vocab', '999'], /^batchproof: vocab \(CLI --vocab\) 999 is larger than the model's table: .*; use vocab 50 or less \(CLI --vocab 50\)/],
    [['check', embed, '--samples', texts, '--pad-to', '2'], /^batchproof: padTo \(CLI --pad-to\) adds filler rows: for a batch function, give filler \(CLI --filler\) as well, .*e\.g\. filler: '' \(CLI --filler ''\), or leave padTo out\n$/],
  ] as [string[], RegExp][]) {
    expectOneLine(await cli(...args), message);
  }
});

test('--max-memory: 512MB, 4GB (powers of 10), 2GiB, 8g (powers of 2), plain bytes', () => {
  const parse = byteSize('--max-memory');
  expect(['512MB', '4GB', '2GiB', '8g', '1000000', '1.5GB', '64 KiB', '2tb', '1e9'].map(parse)).toEqual([512e6, 4e9, 2 ** 31, 8 * 2 ** 30, 1e6, 1.5e9, 65536, 2e12, 1e9]);
  for (const bad of ['', 'lots', '0', '0.1', '-1', '4XB', 'GB', '1e400', 'NaN', 'Infinity', '4 GB extra', '0x10', '99999999999TB']) {
    expect(() => parse(bad)).toThrow(/^--max-memory .*: expected a size such as 512MB, 4GB or 2GiB \(or a number of bytes\)$/);
  }
});

test('--max-memory on every command that runs a model: a bad size is one line; a size reaches the run', async () => {
  const runs: string[][] = [
    ['check', model, '--batch-sizes', '1,2'],
    ['determinism', model, '--repeats', '2', '--batch-size', '2'],
    ['locate', model, '--batch-sizes', '1,2'],
    ['compare', model, '--against-threads', '1', '--batch-size', '2'],
  ];
  for (const args of runs) {
    expectOneLine(await cli(...args, '--max-memory', 'lots'), /--max-memory lots: expected a size such as 512MB/);
  }
  for (const args of runs) expect([args[0], (await cli(...args, '--max-memory', '4GB')).code]).toEqual([args[0], 0]);
  // A limit below what a batch takes: refused before the run, naming the limit and the flag.
  expectOneLine(await cli('check', model, '--batch-sizes', '1,2', '--max-memory', '16'), /--max-memory/);
  // stats and recalibrate run the user's own data, already in memory, in batches of --batch-size.
  for (const args of [['stats', bn], ['recalibrate', bn, '--data', path.join(dir, 'none.npy'), '-o', path.join(dir, 'out.onnx')]]) {
    expectOneLine(await cli(...args, '--max-memory', '4GB'), /unknown option '--max-memory'/);
  }
});


test("a memory refusal names the flag that set the batch (compare's and determinism's --batch-size, check's --pad-to)", async () => {
  for (const [args, message] of [
    [['determinism', model, '--batch-size', '512', '--max-memory', '1KB'], /^batchproof: a batch of 512 \(batchSize, CLI --batch-size\) needs about [\d.]+ KB \(limit 1\.0 KB\), [\d.]+ KB of it for input 'x' \[N, 8\]; /],
    [['compare', model, '--against-threads', '1', '--batch-size', '512', '--max-memory', '1KB'], /^batchproof: a batch of 512 \(batchSize, CLI --batch-size\) needs about/],
    [['check', model, '--batch-sizes', '1,2', '--pad-to', '512', '--max-memory', '1KB'], /^batchproof: batches padded to 512 \(padTo, CLI --pad-to\) needs about/],
    [['check', model, '--batch-sizes', '2', '--reference', '2'], /e\.g\. batchSizes: \[2, 4, 16\] \(CLI --batch-sizes 2,4,16\)\n$/],
  ] as [string[], RegExp][]) {
    expectOneLine(await cli(...args), message);
  }
});

test('--tolerance and --output-tolerance are echoed as written (atol=1, not atol=1e+0)', async () => {
  const check = JSON.parse((await cli('check', model, '--batch-sizes', '1,2', '--tolerance', 'atol=1', '--json')).stdout);
  expect(check.tolerance).toEqual({ y: 'atol=1, rtol=0' });
  const text = (await cli('check', model, '--batch-sizes', '1,2', '--output-tolerance', 'y:atol=0.5,rtol=100')).stdout;
  expect(text).toMatch(/^tolerance: atol=0\.5, rtol=100$/m);
  expect((await cli('determinism', model, '--repeats', '2', '--batch-size', '2', '--tolerance', 'cosine=0.25')).stdout).toMatch(/^tolerance: cosine distance<=0\.25$/m);
  expect((await cli('compare', model, '--against-threads', '1', '--batch-size', '2', '--tolerance', '2e-7')).stdout).toMatch(/^tolerance: atol=2e-7, rtol=0$/m);
});


// The API's lines start with the function that refused the input (`checkBatchInvariance: ...`);
// a CLI user ran a command and never called it.
test('a CLI line never starts with an API function name: function module flags, --call-timeout on a model', async () => {
  const embed = path.join(dir, 'embed-api.js');
  fs.writeFileSync(embed, 'module.exports = async (batch) => batch.map((s) => [s.length, 1]);\n');
  const texts = path.join(dir, 'api-texts.json');
  fs.writeFileSync(texts, JSON.stringify(['a', 'bb', 'ccc']));
  for (const [args, message] of [
    [['determinism', embed, '--samples', texts, '--threads', '2'], /^batchproof: threads \(--threads\) sets up a model's session or input tensors/],
    [['check', embed, '--samples', texts, '--vocab', '5'], /^batchproof: vocab \(--vocab\) sets up a model's session or input tensors/],
    [['check', model, '--call-timeout', '5s'], /^batchproof: --call-timeout limits a batch function's calls, and \S+m\.onnx is a model, run by onnxruntime; leave it out\n$/],
    [['determinism', model, '--call-timeout', '5s'], /^batchproof: --call-timeout limits a batch function's calls/],
    // The API's twin-sides line: its settings' flags too, here the side the user set to a default.
    [['compare', model, '--no-against-deterministic'], /^batchproof: sides 1 and 2 have the same settings .*change the provider, threads, optimization, deterministic or batch size of one side \(CLI --against, --against-threads, --against-optimization, --against-deterministic, --against-batch-size\)\n$/],
  ] as [string[], RegExp][]) {
    const r = await cli(...args);
    expectOneLine(r, message);
    expect(r.stderr).not.toMatch(/checkBatchInvariance|checkDeterminism/);
  }
});

// onnxruntime's broadcast error alone ("64 by 512") left the user to guess that their --dim was the cause.
test('--dim at a size the model does not take: the line names the dim set, and a position table that limits it', async () => {
  const text = path.join(__dirname, '..', '..', 'examples', 'models', 'text_embedder.onnx');
  for (const args of [['check', text], ['determinism', text], ['compare', text, '--against-threads', '1'], ['locate', text]]) {
    expectOneLine(
      await cli(...args, '--dim', 'sequence=512'),
      /^batchproof: \S+text_embedder\.onnx: the model fails at sequence=512 \(onnxruntime: .*64 by 512\): its graph indexes 'position_embeddings\.weight' \(64 rows, \/position_embeddings\/Gather\) with positions it makes itself, not with an input's ids, so sequence is likely limited to 64 .*\(CLI --dim sequence=64\) or less\n$/,
    );
  }
  expect((await cli('check', text, '--dim', 'sequence=64', '--batch-sizes', '1,2')).code).toBe(0);
  // No table to blame (a bias of 4 added along the axis): the dim set is still named as the likely cause.
  const bias = path.join(dir, 'bias4.onnx');
  fs.writeFileSync(
    bias,
    buildModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 'S'] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 'S'] }],
      initializers: [{ name: 'b', dtype: 'float32', dims: [4], data: [1, 2, 3, 4] }],
      nodes: [{ op: 'Add', inputs: ['x', 'b'], outputs: ['y'] }],
    }),
  );
  expect((await cli('check', bias, '--dim', 'S=4', '--batch-sizes', '1,2')).code).toBe(0);
  expectOneLine(await cli('check', bias, '--dim', 'S=8'), /^batchproof: \S+bias4\.onnx: the model fails at S=8 \(onnxruntime, on a batch of 1: .*\): a shape error with that size set by dims \(CLI --dim S=8\), so the model likely does not take it .*try a smaller size/);
  // Not set by --dim: the generic line, which names the flags to check.
  expectOneLine(await cli('check', bias, '--shape', 'x=N,8', '--shape', 'y=N,8'), /onnxruntime failed on a batch of 1 .*check --shape\/--dim\/--const/);
});
