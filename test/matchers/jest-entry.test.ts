// batchproof/jest where Jest injects no globals (injectGlobals: false, for suites that import
// expect from '@jest/globals', as the README shows), and outside Jest.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.join(__dirname, '..', '..');
const transformer = path.join(root, 'examples', 'models', 'transformer_encoder.onnx');

const source = `
import { describe, expect, test } from '@jest/globals';
import { describeProviders } from ${JSON.stringify(path.join(root, 'matchers'))};

test('the matchers are on the expect of @jest/globals', async () => {
  await expect(${JSON.stringify(transformer)}).toBeBatchInvariant({ batchSizes: [1, 2] });
  await expect(${JSON.stringify(transformer)}).not.toBeBatchInvariant({ batchSizes: [1, 2], tolerance: 'exact' });
});

test('an embedding baseline is written', () => {
  expect([[1, 2, 3], [3, 1, 2]]).toMatchEmbeddingSnapshot();
});

describe('a matrix', () => {
  describeProviders(['cpu'], (fx) => {
    test('runs on its provider', async () => {
      await expect(await fx.load(${JSON.stringify(transformer)})).toBeDeterministic({ repeats: 2, batchSize: 2 });
    });
  });
});
`;

test('with injectGlobals: false the matchers, embedding baselines and describeProviders work', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'batchproof-noglobals-'));
  try {
    fs.writeFileSync(path.join(dir, 'noglobals.test.ts'), source);
    const config = {
      rootDir: dir,
      testEnvironment: 'node',
      injectGlobals: false,
      setupFilesAfterEnv: [path.join(root, 'matchers', 'jest.ts')],
      transform: { '^.+\\.ts$': [require.resolve('ts-jest'), { tsconfig: path.join(root, 'tsconfig.json'), diagnostics: false, isolatedModules: true }] },
      testTimeout: 60000,
    };
    const results = path.join(dir, 'results.json');
    // --ci=false: the baseline below is written whether or not CI is set where this suite runs.
    const r = spawnSync(process.execPath, [require.resolve('jest/bin/jest'), '--ci=false', '--config', JSON.stringify(config), '--json', '--outputFile', results], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
    const output = `${r.stdout}\n${r.stderr}`;
    expect({ code: r.status, output }).toMatchObject({ code: 0 });
    const json = JSON.parse(fs.readFileSync(results, 'utf8'));
    const tests = json.testResults.flatMap((f: { assertionResults: { title: string; status: string }[] }) => f.assertionResults);
    expect(tests.map((t: { title: string; status: string }) => [t.title, t.status])).toEqual([
      ['the matchers are on the expect of @jest/globals', 'passed'],
      ['an embedding baseline is written', 'passed'],
      ['runs on its provider', 'passed'],
    ]);
    expect(fs.readdirSync(path.join(dir, '__embeddings__', 'noglobals.test.ts'))).toHaveLength(1);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);

test('outside Jest, batchproof/jest is one line saying where it goes, not a TypeError', () => {
  const entry = path.join(root, 'dist', 'matchers', 'jest.js');
  const r = spawnSync(process.execPath, ['-e', `try { require(${JSON.stringify(entry)}) } catch (e) { console.log(e.name + ': ' + e.message) }`], { encoding: 'utf8' });
  expect(r.stdout.trim()).toBe(
    "BadInputError: batchproof/jest registers batchproof's matchers on Jest's expect, and there is no Jest here: list it in Jest's config (setupFilesAfterEnv: ['batchproof/jest']); under Vitest use batchproof/vitest, and for another runner expect.extend(matchers) with matchers from batchproof/matchers",
  );
});
