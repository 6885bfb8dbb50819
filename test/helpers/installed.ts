import { execFileSync, spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { packProject } from './consumer';

const root = path.resolve(__dirname, '..', '..');
/** Installs of example projects, one per lockfile hash (node_modules/ is ignored and `npm ci` clears it). */
const cacheRoot = path.join(root, 'node_modules', '.cache', 'batchproof-projects');
const manifest = ['package.json', 'package-lock.json', '.npmrc'];

export interface InstalledProject {
  dir: string;
  /** 'installed' when this call ran `npm ci`, 'cached' when it reused an earlier install. */
  install: 'installed' | 'cached';
  installMs: number;
  run(bin: string, args: string[], timeoutMs?: number): { code: number; output: string };
}

/**
 * `npm ci` of the project's lockfile into the cache, once per lockfile hash: the first run needs
 * the npm registry (or npm's own cache), later ones are offline and take no install time. Built
 * in a staging folder and renamed into place, so a run killed mid-install or a concurrent run
 * never leaves a half-install behind.
 */
function cachedInstall(template: string, timeoutMs: number): { modules: string; install: 'installed' | 'cached' } {
  const hash = crypto.createHash('sha256');
  for (const f of manifest) hash.update(`${f}\0${fs.existsSync(path.join(template, f)) ? fs.readFileSync(path.join(template, f)) : ''}\0`);
  hash.update(`${process.platform}-${process.arch}-node${process.versions.node.split('.')[0]}`);
  const name = path.basename(template);
  const dir = path.join(cacheRoot, `${name}-${hash.digest('hex').slice(0, 16)}`);
  const done = path.join(dir, '.installed');
  if (fs.existsSync(done)) return { modules: path.join(dir, 'node_modules'), install: 'cached' };
  fs.mkdirSync(cacheRoot, { recursive: true });
  const staging = `${dir}.tmp-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(staging);
  for (const f of manifest) if (fs.existsSync(path.join(template, f))) fs.copyFileSync(path.join(template, f), path.join(staging, f));
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: staging, encoding: 'utf8', timeout: timeoutMs });
  if (r.status !== 0) {
    fs.rmSync(staging, { recursive: true, force: true });
    const last = `${r.stderr ?? ''}${r.error ? r.error.message : ''}`.trim().split('\n').filter((l) => !/Unknown project config/.test(l)).slice(-3).join(' | ');
    throw new Error(`npm ci of ${path.relative(root, template)} failed (the first run installs its lockfile from the npm registry, later runs are offline): ${last}`);
  }
  fs.writeFileSync(path.join(staging, '.installed'), `${new Date().toISOString()}\n`);
  try {
    fs.renameSync(staging, dir);
  } catch {
    // A concurrent run got there first: use its install.
    fs.rmSync(staging, { recursive: true, force: true });
    if (!fs.existsSync(done)) throw new Error(`could not move the install of ${name} into ${dir}`);
  }
  // Installs of older lockfiles of the same project, and stagings of runs that died, are dead weight.
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'EPERM';
    }
  };
  for (const entry of fs.readdirSync(cacheRoot)) {
    if (!entry.startsWith(`${name}-`) || path.join(cacheRoot, entry) === dir) continue;
    const staged = /\.tmp-(\d+)$/.exec(entry);
    if (!staged || !alive(Number(staged[1]))) fs.rmSync(path.join(cacheRoot, entry), { recursive: true, force: true });
  }
  return { modules: path.join(dir, 'node_modules'), install: 'installed' };
}

function link(target: string, at: string): void {
  fs.mkdirSync(path.dirname(at), { recursive: true });
  fs.symlinkSync(target, at);
}

/**
 * A copy of an example project with its own dependencies (from its lockfile, installed once and
 * cached, see cachedInstall) and batchproof from the packed tarball, unpacked into node_modules
 * as npm would install it. The package's own dependencies resolve from the project's install
 * where it has them (onnxruntime-node: the one copy that transformers.js also loads), else from
 * this repository's node_modules.
 */
export function installedProject(template: string, { installTimeoutMs = 300_000 } = {}): InstalledProject {
  const start = Date.now();
  const { modules: cached, install } = cachedInstall(template, installTimeoutMs);
  const installMs = Date.now() - start;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `batchproof-${path.basename(template)}-`));
  fs.cpSync(template, dir, { recursive: true, filter: (src) => !/(^|[\\/])(node_modules|[^\\/]*\.tgz)$/.test(path.relative(template, src)) });
  const modules = path.join(dir, 'node_modules');
  fs.mkdirSync(modules);
  for (const entry of fs.readdirSync(cached)) {
    if (['batchproof', '.bin', '.package-lock.json', '.cache'].includes(entry)) continue;
    fs.symlinkSync(path.join(cached, entry), path.join(modules, entry));
  }
  const tarball = packProject(dir);
  execFileSync('tar', ['-xzf', tarball, '-C', dir]);
  fs.rmSync(tarball);
  const pkgDir = path.join(modules, 'batchproof');
  fs.renameSync(path.join(dir, 'package'), pkgDir);
  const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
  for (const dep of Object.keys(pkg.dependencies ?? {})) {
    if (!fs.existsSync(path.join(modules, dep))) link(path.join(root, 'node_modules', dep), path.join(pkgDir, 'node_modules', dep));
  }
  const bin = path.join(modules, '.bin');
  fs.mkdirSync(bin);
  const cachedBin = path.join(cached, '.bin');
  for (const entry of fs.existsSync(cachedBin) ? fs.readdirSync(cachedBin) : []) {
    fs.symlinkSync(fs.realpathSync(path.join(cachedBin, entry)), path.join(bin, entry));
  }
  fs.symlinkSync(path.join(pkgDir, pkg.bin.batchproof), path.join(bin, 'batchproof'));
  return {
    dir,
    install,
    installMs,
    run(binName, args, timeoutMs = 240_000) {
      const r = spawnSync(process.execPath, [path.join(bin, binName), ...args], {
        cwd: dir,
        encoding: 'utf8',
        timeout: timeoutMs,
        env: { ...process.env, FORCE_COLOR: '0', CI: 'true' },
      });
      return { code: r.status ?? -1, output: `${r.stdout}${r.stderr}${r.error ? r.error.message : ''}` };
    },
  };
}
