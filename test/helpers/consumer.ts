import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.resolve(__dirname, '..', '..');

/** Packs the project as `npm pack` would publish it (dist must be built: `npm test` builds first). */
export function packProject(into: string): string {
  if (!fs.existsSync(path.join(root, 'dist', 'src', 'index.js'))) execFileSync('npm', ['run', '-s', 'build'], { cwd: root });
  const out = execFileSync('npm', ['pack', '--silent', '--pack-destination', into], { cwd: root, encoding: 'utf8' });
  return path.join(into, out.trim().split('\n').pop() as string);
}

/**
 * A separate project that installs the packed tarball: batchproof is unpacked into its
 * node_modules exactly as npm would, while its other dependencies (jest, ts-jest, typescript,
 * onnxruntime-node) link to this repository's installed copies, so the test needs no network.
 */
export function makeConsumer(template: string): { dir: string; run(bin: string, args: string[]): { code: number; output: string } } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'batchproof-consumer-'));
  fs.cpSync(template, dir, { recursive: true });
  fs.cpSync(path.join(root, 'examples', 'models'), path.join(dir, 'models'), { recursive: true });
  const modules = path.join(dir, 'node_modules');
  fs.mkdirSync(modules);
  for (const entry of fs.readdirSync(path.join(root, 'node_modules'))) {
    if (['batchproof', '.bin', '.package-lock.json'].includes(entry)) continue;
    fs.symlinkSync(path.join(root, 'node_modules', entry), path.join(modules, entry));
  }
  const tarball = packProject(dir);
  execFileSync('tar', ['-xzf', tarball, '-C', dir]);
  fs.renameSync(path.join(dir, 'package'), path.join(modules, 'batchproof'));
  // .bin as npm lays it out: the dependencies' commands plus the package's own bin.
  const bin = path.join(modules, '.bin');
  fs.mkdirSync(bin);
  for (const entry of fs.readdirSync(path.join(root, 'node_modules', '.bin'))) {
    fs.symlinkSync(fs.realpathSync(path.join(root, 'node_modules', '.bin', entry)), path.join(bin, entry));
  }
  const pkg = JSON.parse(fs.readFileSync(path.join(modules, 'batchproof', 'package.json'), 'utf8'));
  fs.symlinkSync(path.join(modules, 'batchproof', pkg.bin.batchproof), path.join(bin, 'batchproof'));
  return {
    dir,
    run(bin, args) {
      const r = spawnSync(process.execPath, [path.join(modules, '.bin', bin), ...args], {
        cwd: dir,
        encoding: 'utf8',
        env: { ...process.env, FORCE_COLOR: '0', CI: 'true' },
      });
      return { code: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
    },
  };
}
