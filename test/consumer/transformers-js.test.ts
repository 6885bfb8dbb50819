import * as fs from 'fs';
import * as path from 'path';
import { installedProject, type InstalledProject } from '../helpers/installed';

// examples/transformers-js: a separate project with @huggingface/transformers from its own
// lockfile (installed once, cached by the lockfile's hash, offline thereafter) and batchproof
// from the packed tarball. Its suite runs a real feature-extraction pipeline on a tiny local
// BERT: the pipeline passes, the variant whose attention ignores the mask fails with leakage.
describe('a transformers.js pipeline in a separate project', () => {
  let project: InstalledProject;
  beforeAll(() => {
    project = installedProject(path.join(__dirname, '..', '..', 'examples', 'transformers-js'));
    // The first run's install is the slow part: say what it cost.
    if (project.install === 'installed') console.log(`examples/transformers-js: npm ci took ${(project.installMs / 1000).toFixed(1)} s (cached for later runs)`);
  }, 320_000);
  afterAll(() => project && fs.rmSync(project.dir, { recursive: true, force: true }));

  test('batchproof comes from the tarball, transformers.js and onnxruntime-node from the lockfile', () => {
    const modules = path.join(project.dir, 'node_modules');
    expect(fs.lstatSync(path.join(modules, 'batchproof')).isSymbolicLink()).toBe(false);
    expect(fs.existsSync(path.join(modules, 'batchproof', 'src'))).toBe(false);
    const lock = JSON.parse(fs.readFileSync(path.join(project.dir, 'package-lock.json'), 'utf8'));
    const version = (p: string) => JSON.parse(fs.readFileSync(path.join(modules, p, 'package.json'), 'utf8')).version;
    expect(version('@huggingface/transformers')).toBe(lock.packages['node_modules/@huggingface/transformers'].version);
    expect(version('onnxruntime-node')).toBe(lock.packages['node_modules/onnxruntime-node'].version);
  });

  test('its Jest suite passes: the pipeline is invariant, the unmasked variant leaks, nothing is downloaded', () => {
    const r = project.run('jest', ['--ci']);
    expect(r.output).toMatch(/Tests:\s+7 passed, 7 total/);
    expect(r.code).toBe(0);
  }, 240_000);
});
