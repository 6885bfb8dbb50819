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

  test('the bin runs from the package', () => {
    const r = consumer.run('batchproof', ['check', 'models/embedding_cnn.onnx', '--batch-sizes', '1,2', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.output).verdict).toBe('invariant');
  });
});
