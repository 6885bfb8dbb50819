import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { makeConsumer } from '../helpers/consumer';

// A packed tarball in a separate TypeScript Jest project: the exports, the setup entry, the
// types for both `expect` styles, and onnxruntime-node inside Jest's realm.
describe('the packed package in a consumer project', () => {
  const consumer = makeConsumer(path.join(__dirname, '..', '..', 'examples', 'consumer'));
  afterAll(() => fs.rmSync(consumer.dir, { recursive: true, force: true }));

  test('ships only dist and the README', () => {
    const pkg = path.join(consumer.dir, 'node_modules', 'batchproof');
    expect(fs.existsSync(path.join(pkg, 'dist', 'src', 'index.js'))).toBe(true);
    expect(fs.existsSync(path.join(pkg, 'dist', 'matchers', 'jest.js'))).toBe(true);
    // The bundled CLI that the bin runs (through the code cache).
    expect(fs.existsSync(path.join(pkg, 'dist', 'cli.js'))).toBe(true);
    expect(fs.existsSync(path.join(pkg, 'src'))).toBe(false);
    expect(fs.existsSync(path.join(pkg, 'dist', 'test'))).toBe(false);
  });

  test('type-checks with the global expect and with @jest/globals', () => {
    const r = consumer.run('tsc', ['--noEmit', '-p', '.']);
    expect(r.output).toBe('');
    expect(r.code).toBe(0);
  });

  test("its Jest suite passes through batchproof/jest, with no custom environment", () => {
    const r = consumer.run('jest', ['--ci']);
    expect(r.output).toMatch(/Tests:\s+10 passed, 10 total/);
    expect(r.code).toBe(0);
  }, 120_000);

  test('negative control: registering the matchers without batchproof/jest hits the realm error', () => {
    // The same suite with only expect.extend(matchers): Node's typed arrays are not shared, so
    // onnxruntime-node rejects Jest's Float32Array. This is what batchproof/jest fixes.
    fs.writeFileSync(path.join(consumer.dir, 'extend-only.js'), "expect.extend(require('batchproof/matchers').matchers);\n");
    fs.writeFileSync(
      path.join(consumer.dir, 'jest.extend-only.config.js'),
      "module.exports = { ...require('./jest.config.js'), setupFilesAfterEnv: ['<rootDir>/extend-only.js'] };\n",
    );
    const r = consumer.run('jest', ['--ci', '-c', 'jest.extend-only.config.js', 'test/models.test.ts']);
    expect(r.output).toMatch(/A float32 tensor's data must be type of function Float32Array/);
    expect(r.code).toBe(1);
  }, 120_000);

  // This project has Jest and no Vitest: what a user who takes the wrong entry, or has not
  // installed Vitest, sees. Before, Node's ERR_MODULE_NOT_FOUND and its resolver's stack trace
  // about 'vitest', or Jest's "Must use import to load ES Module".
  test('batchproof/vitest without Vitest installed is one line naming the fix: imported, required, or in Jest\'s setup files', () => {
    const missing = "BadInputError: batchproof/vitest registers batchproof's matchers on Vitest's expect, and Vitest is not installed here: npm install --save-dev vitest (3 or later); under Jest use batchproof/jest (setupFilesAfterEnv: ['batchproof/jest']) instead";
    const required = "BadInputError: batchproof/vitest is Vitest's setup file (setupFiles: ['batchproof/vitest']) and cannot be required; under Jest use batchproof/jest (setupFilesAfterEnv: ['batchproof/jest']), and for another runner expect.extend(matchers) with matchers from batchproof/matchers";
    const node = (...args: string[]) => spawnSync(process.execPath, args, { cwd: consumer.dir, encoding: 'utf8' });
    // The negative control: vitest cannot be found from the installed package.
    expect(node('-e', "try { require.resolve('vitest', { paths: ['node_modules/batchproof'] }); console.log('found'); } catch (e) { console.log(e.code); }").stdout.trim()).toBe('MODULE_NOT_FOUND');
    const caught = node('--input-type=module', '-e', "try { await import('batchproof/vitest'); } catch (e) { console.log(e.name + ': ' + e.message); }");
    expect(caught.stdout.trim()).toBe(missing);
    expect(node('-e', "try { require('batchproof/vitest'); } catch (e) { console.log(e.name + ': ' + e.message); }").stdout.trim()).toBe(required);
    // Uncaught, as a script that imports it: the message, not the resolver's trace.
    const uncaught = node('--input-type=module', '-e', "import 'batchproof/vitest';");
    expect(uncaught.status).toBe(1);
    expect(uncaught.stderr).toContain(missing);
    expect(uncaught.stderr).not.toMatch(/ERR_MODULE_NOT_FOUND|Cannot find package/);
    fs.writeFileSync(path.join(consumer.dir, 'jest.vitest-entry.config.js'), "module.exports = { ...require('./jest.config.js'), setupFilesAfterEnv: ['batchproof/vitest'] };\n");
    const jest = consumer.run('jest', ['--ci', '-c', 'jest.vitest-entry.config.js', 'test/globals.test.ts']);
    expect(jest.output).toContain(required);
    expect(jest.output).not.toMatch(/Must use import/);
    expect(jest.code).toBe(1);
  }, 60_000);

  test('from an ES module every entry gives its named exports (as cjs-module-lexer finds them), and the reporter class by name and as its default', () => {
    const r = spawnSync(process.execPath, [path.join('types', 'entries.mjs')], { cwd: consumer.dir, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    // Every entry but the setup ones was imported, and each had names to find.
    expect(Object.keys(out.entries).sort()).toEqual(['batchproof', 'batchproof/io', 'batchproof/matchers', 'batchproof/onnx', 'batchproof/reporter', 'batchproof/snapshot']);
    for (const [entry, { names, notNamed }] of Object.entries(out.entries as Record<string, { names: number; notNamed: string[] }>)) {
      expect({ entry, notNamed }).toEqual({ entry, notNamed: [] });
      expect(names).toBeGreaterThan(1);
    }
    expect(out.values).toEqual(['function', 'function', 'function', 'function', 'function']);
    expect(out.reporterIsDefault).toBe(true);
    expect(out.defaultReporter).toBe(true);
    expect(out.defaultMatchers).toBe(true);
  });

  test('every entry type-checks from ES and CommonJS modules under node16 and bundler resolution (strict, no skipLibCheck), with no any', () => {
    // types/entries.mts, and the same source as a .cts: the CommonJS side of node16.
    fs.copyFileSync(path.join(consumer.dir, 'types', 'entries.mts'), path.join(consumer.dir, 'types', 'entries.cts'));
    for (const resolution of ['node16', 'bundler']) {
      const r = consumer.run('tsc', ['-p', `types/tsconfig.${resolution}.json`]);
      expect({ resolution, output: r.output }).toEqual({ resolution, output: '' });
      expect(r.code).toBe(0);
    }
  }, 60_000);

  test("the README's TypeScript snippets compile against the package with the README's tsconfig", () => {
    const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
    const tsconfig = [...readme.matchAll(/^```json\n([\s\S]*?)^```/gm)].map((m) => m[1]).find((b) => b.includes('"batchproof/jest"'));
    expect(tsconfig).toBeDefined();
    const blocks = [...readme.matchAll(/^( *)```ts\n([\s\S]*?)^\1```/gm)].map((m) => m[2].split('\n').map((l) => l.slice(m[1].length)).join('\n'));
    // Vitest's config and transformers.js are not installed here: their projects check those.
    const snippets = blocks.filter((b) => !/from '(vitest\/config|@huggingface\/transformers)'/.test(b));
    expect(snippets.length).toBeGreaterThan(8);
    const dir = path.join(consumer.dir, 'readme');
    fs.mkdirSync(dir);
    // The names the snippets take as given.
    fs.writeFileSync(path.join(dir, 'given.d.ts'), `import type { Tensor } from 'onnxruntime-node';
declare global {
  const myImages: Float32Array;
  const texts: string[];
  const extractor: (texts: string[], options: { pooling: 'mean'; normalize: boolean }) => Promise<Tensor>;
  const embeddings: { data: Float32Array; dims: number[] };
  const tensor: Tensor;
  const vectors: number[][];
  const embed: (texts: string[]) => Promise<Tensor>;
}
export {};
`);
    snippets.forEach((b, i) => {
      const lines = b.split('\n');
      const imports = lines.filter((l) => l.startsWith('import '));
      if (/\bcheckBatchInvariance\(/.test(b) && !imports.some((l) => /\bcheckBatchInvariance\b/.test(l))) imports.push("import { checkBatchInvariance } from 'batchproof';");
      const body = lines.filter((l) => !l.startsWith('import ')).join('\n');
      fs.writeFileSync(path.join(dir, `snippet-${i}.ts`), `${imports.join('\n')}\nexport async function snippet(): Promise<void> {\n${body}\n}\n`);
    });
    fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ ...JSON.parse(tsconfig as string), include: ['.'] }));
    const r = consumer.run('tsc', ['--noEmit', '-p', 'readme']);
    expect(r.output).toBe('');
    expect(r.code).toBe(0);
  }, 60_000);

  test('the bin runs from the package', () => {
    const r = consumer.run('batchproof', ['check', 'models/embedding_cnn.onnx', '--batch-sizes', '1,2', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.output).verdict).toBe('invariant');
  });
});
