import * as fs from 'fs';
import * as path from 'path';
import { installedProject, type InstalledProject } from '../helpers/installed';

/** Vitest colours its summary even under FORCE_COLOR=0. */
const plain = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');
/** The baseline's values: its last 8 x 64 float32 (the header before them holds a timestamp). */
const values = (b: Buffer) => b.subarray(b.length - 8 * 64 * 4);
/** The largest difference between two runs of float32 values. */
function maxAbsDifference(a: Buffer, b: Buffer): number {
  const x = new Float32Array(Uint8Array.from(a).buffer);
  const y = new Float32Array(Uint8Array.from(b).buffer);
  return x.length === y.length ? Math.max(...x.map((v, i) => Math.abs(v - y[i]))) : Infinity;
}

// examples/vitest-consumer: a Vitest 3 project (its own lockfile, installed once and cached by
// its hash, offline thereafter) with batchproof from the packed tarball. Its only wiring is
// setupFiles ['batchproof/vitest'] and tsconfig types ['batchproof/vitest']: no snippet copied.
describe('batchproof/vitest in a separate Vitest project', () => {
  const root = path.join(__dirname, '..', '..');
  let project: InstalledProject;
  beforeAll(() => {
    project = installedProject(path.join(root, 'examples', 'vitest-consumer'));
    if (project.install === 'installed') console.log(`examples/vitest-consumer: npm ci took ${(project.installMs / 1000).toFixed(1)} s (cached for later runs)`);
    fs.mkdirSync(path.join(project.dir, 'models'));
    for (const m of ['embedding_cnn.onnx', 'embedding_cnn_train_bn.onnx']) fs.copyFileSync(path.join(root, 'examples', 'models', m), path.join(project.dir, 'models', m));
  }, 320_000);
  afterAll(() => project && fs.rmSync(project.dir, { recursive: true, force: true }));

  test('the entry is ESM that imports vitest, and vitest is only an optional peer', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(project.dir, 'node_modules', 'batchproof', 'package.json'), 'utf8'));
    // require() (Jest given this entry) gets a file that says which entry it needs.
    expect(pkg.exports['./vitest']).toEqual({ types: './dist/matchers/vitest.d.mts', import: './dist/matchers/vitest.mjs', require: './dist/matchers/vitest.cjs', default: './dist/matchers/vitest.mjs' });
    expect(pkg.peerDependenciesMeta.vitest).toEqual({ optional: true });
    expect(pkg.dependencies.vitest).toBeUndefined();
    const entry = fs.readFileSync(path.join(project.dir, 'node_modules', 'batchproof', 'dist', 'matchers', 'vitest.mjs'), 'utf8');
    // Imported by the module's own code, so that a project without it gets one line naming the fix.
    expect(entry).toMatch(/^ *vitest = await import\('vitest'\);$/m);
    expect(entry).not.toMatch(/^import .* from 'vitest';$/m);
  });

  test('its suite passes: invariant, deterministic, equal to its baseline; the train-mode BatchNorm leaks and fails', () => {
    const r = project.run('vitest', ['run']);
    const out = plain(r.output);
    expect(out).toMatch(/Tests\s+5 passed \(5\)/);
    // The committed baseline is compared, not written (CI is set: nothing is written there).
    expect(out).not.toMatch(/Snapshots\s+\d+ written/);
    expect(fs.readdirSync(path.join(project.dir, 'test', '__embeddings__', 'embedding_cnn.test.ts'))).toHaveLength(1);
    expect(r.code).toBe(0);
  }, 120_000);

  test('a drifted baseline fails the run with the matcher\'s own message', () => {
    const folder = path.join(project.dir, 'test', '__embeddings__', 'embedding_cnn.test.ts');
    const [file] = fs.readdirSync(folder);
    const saved = fs.readFileSync(path.join(folder, file));
    // Deleted, -u writes it again: the same values, up to this CPU's kernels (the committed
    // baseline was written on a machine with AVX-512; an AVX2-only one moves the last bits).
    fs.rmSync(path.join(folder, file));
    const write = project.run('vitest', ['run', '-u', '-t', 'baseline'], 120_000);
    expect(write.code).toBe(0);
    const written = fs.readFileSync(path.join(folder, file));
    expect(maxAbsDifference(values(written), values(saved))).toBeLessThan(1e-5);
    const bytes = Buffer.from(written);
    // Flip the sign of the last float of the last row: that row's cosine distance moves past 1e-6.
    bytes[bytes.length - 1] ^= 0x80;
    fs.writeFileSync(path.join(folder, file), bytes);
    const r = project.run('vitest', ['run', '-t', 'baseline'], 120_000);
    expect(r.code).toBe(1);
    expect(plain(r.output)).toMatch(/Tests\s+1 failed/);
    expect(plain(r.output)).toMatch(/1 of 8 rows/);
  }, 120_000);

  test('obsolete baselines show in Vitest\'s summary and -u removes them; a skipped or failed test keeps its own', () => {
    const file = path.join(project.dir, 'test', 'lifecycle.test.ts');
    const folder = path.join(project.dir, 'test', '__embeddings__', 'lifecycle.test.ts');
    const suite = (b: string) =>
      fs.writeFileSync(file, `import { expect, test } from 'vitest';
const rows = (k: number) => ({ data: new Float32Array(16).map((_, i) => Math.sin(i + k)), dims: [4, 4] });
test('a', () => { expect(rows(1)).toMatchEmbeddingSnapshot(); });
${b}\n`);
    const vitest = (...args: string[]) => {
      const r = project.run('vitest', ['run', ...args, 'test/lifecycle.test.ts'], 120_000);
      return { code: r.code, out: plain(r.output) };
    };
    try {
      suite("test('b', () => { expect(rows(2)).toMatchEmbeddingSnapshot(); });");
      expect(vitest('-u').out).toMatch(/Snapshots\s+2 written/);
      expect(fs.readdirSync(folder)).toHaveLength(2);
      // Under -u, neither a skipped test nor one that failed before its matcher loses its baseline.
      suite("test.skip('b', () => { expect(rows(2)).toMatchEmbeddingSnapshot(); });");
      expect(vitest('-u').out).not.toMatch(/Snapshots.*(obsolete|removed)/);
      suite("test('b', () => { throw new Error('fails before its matcher'); });");
      const failed = vitest('-u');
      expect(failed.out).toMatch(/Tests\s+1 failed \| 1 passed/);
      expect(failed.out).not.toMatch(/Snapshots.*(obsolete|removed)/);
      expect(fs.readdirSync(folder)).toHaveLength(2);
      // Test b gone: its baseline is named obsolete, then removed by -u.
      suite('');
      const obsolete = vitest();
      expect(obsolete.out).toMatch(/Snapshots\s+1 obsolete/);
      expect(obsolete.out).toMatch(/b 1 \[embedding baseline test\/__embeddings__\/lifecycle\.test\.ts\/b-1\.[0-9a-f]+\.emb\]/);
      expect(fs.readdirSync(folder)).toHaveLength(2);
      expect(vitest('-u').out).toMatch(/Snapshots\s+1 removed/);
      expect(fs.readdirSync(folder)).toEqual([expect.stringMatching(/^a-1\./)]);
    } finally {
      fs.rmSync(file, { force: true });
    }
  }, 120_000);

  test('the matchers are typed on Vitest\'s Assertion: tsc passes, and fails without batchproof/vitest', () => {
    const ok = project.run('tsc', ['--noEmit']);
    expect(ok.output).toBe('');
    expect(ok.code).toBe(0);
    const tsconfig = path.join(project.dir, 'tsconfig.json');
    fs.writeFileSync(path.join(project.dir, 'tsconfig.bare.json'), fs.readFileSync(tsconfig, 'utf8').replace('"node", "batchproof/vitest"', '"node"'));
    const bare = project.run('tsc', ['--noEmit', '-p', 'tsconfig.bare.json']);
    expect(bare.output).toMatch(/Property 'toBeBatchInvariant' does not exist/);
    expect(bare.code).not.toBe(0);
  }, 120_000);
});
