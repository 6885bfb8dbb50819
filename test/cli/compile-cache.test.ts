import { spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { compileCacheDir } from '../../src/cli/compile-cache';

// The bin as installed: dist/src/cli/bin.js runs the bundle dist/cli.js through a V8 code cache.
const root = path.join(__dirname, '..', '..');
const bin = path.join(root, 'dist', 'src', 'cli', 'bin.js');
const model = path.join(root, 'examples', 'models', 'embedding_cnn.onnx');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'batchproof-cache-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function check(cacheHome: string, env: NodeJS.ProcessEnv = {}) {
  const { NODE_DISABLE_COMPILE_CACHE: _off, ...base } = process.env;
  const r = spawnSync(process.execPath, [bin, 'check', model, '--batch-sizes', '1,2', '--json'], {
    encoding: 'utf8',
    env: { ...base, XDG_CACHE_HOME: cacheHome, ...env },
  });
  const report = r.status === 0 ? JSON.parse(r.stdout) : null;
  return { status: r.status, stderr: r.stderr, verdict: report?.verdict, runs: report?.runs };
}
const cacheFiles = (home: string) => (fs.existsSync(path.join(home, 'batchproof')) ? fs.readdirSync(path.join(home, 'batchproof')) : []);

test('the bin runs from the bundle: the first run writes a cache for its command, the next few add to it, then it is only read', () => {
  expect(fs.existsSync(path.join(root, 'dist', 'cli.js'))).toBe(true);
  const home = path.join(tmp, 'fresh');
  const first = check(home);
  expect(first).toMatchObject({ status: 0, stderr: '', verdict: 'invariant' });
  // Named by command, Node, install, bundle, generation and the code paths its runs took.
  expect(cacheFiles(home)).toEqual([expect.stringMatching(/^cli\.js-check-v\d+\.\d+\.\d+-\w+-[0-9a-f]{8}-[0-9a-f]{16}\.1\.cpu\+invariant\+json\.v8$/)]);
  // Refreshed by the next runs (each adds the functions it compiled), one file at a time.
  for (const generation of [2, 3, 4]) {
    expect(check(home)).toEqual(first);
    expect(cacheFiles(home)).toEqual([expect.stringMatching(new RegExp(`\\.${generation}\\.cpu\\+invariant\\+json\\.v8$`))]);
  }
  const [file] = cacheFiles(home);
  const written = fs.statSync(path.join(home, 'batchproof', file)).mtimeMs;
  expect(check(home)).toEqual(first);
  expect(cacheFiles(home)).toEqual([file]);
  expect(fs.statSync(path.join(home, 'batchproof', file)).mtimeMs).toBe(written);
});

// A cache made by runs of one kind (a CNN, JSON out) lacked the code of another (a text model's
// padding runs, the text report), which then compiled on every run: 17 ms of a text check.
test('a later run down a code path the cache has not seen refreshes it, once', () => {
  const home = path.join(tmp, 'paths');
  for (let i = 0; i < 5; i++) check(home);
  const [settled] = cacheFiles(home);
  expect(settled).toMatch(/\.4\.cpu\+invariant\+json\.v8$/);
  const size = fs.statSync(path.join(home, 'batchproof', settled)).size;
  const { NODE_DISABLE_COMPILE_CACHE: _off, ...base } = process.env;
  const textReport = () => spawnSync(process.execPath, [bin, 'check', model, '--batch-sizes', '1,2'], { encoding: 'utf8', env: { ...base, XDG_CACHE_HOME: home } });
  expect(textReport().status).toBe(0);
  const [refreshed] = cacheFiles(home);
  expect(refreshed).toMatch(/\.5\.cpu\+invariant\+json\+text\.v8$/);
  expect(fs.statSync(path.join(home, 'batchproof', refreshed)).size).toBeGreaterThan(size);
  // Seen now: neither that path nor the first writes again.
  const written = fs.statSync(path.join(home, 'batchproof', refreshed)).mtimeMs;
  expect(textReport().status).toBe(0);
  check(home);
  expect(cacheFiles(home)).toEqual([refreshed]);
  expect(fs.statSync(path.join(home, 'batchproof', refreshed)).mtimeMs).toBe(written);
});

test('a refresh keeps what the cache held and adds what the run compiled', () => {
  const home = path.join(tmp, 'grows');
  check(home);
  const size = () => fs.statSync(path.join(home, 'batchproof', cacheFiles(home)[0])).size;
  const small = size();
  // The transformer drifts at batch 1, so this run also finds and verifies a padding recipe.
  const { NODE_DISABLE_COMPILE_CACHE: _off, ...base } = process.env;
  const r = spawnSync(process.execPath, [bin, 'check', path.join(root, 'examples', 'models', 'transformer_encoder.onnx'), '--batch-sizes', '1,2,3', '--json'], {
    encoding: 'utf8',
    env: { ...base, XDG_CACHE_HOME: home },
  });
  expect(JSON.parse(r.stdout).recipe).toMatchObject({ padTo: 2, verified: true });
  expect(size()).toBeGreaterThan(small);
});

test('another command keeps a cache of its own', () => {
  const home = path.join(tmp, 'commands');
  check(home);
  const r = spawnSync(process.execPath, [bin, 'fingerprint', '--json'], { encoding: 'utf8', env: { ...process.env, XDG_CACHE_HOME: home } });
  expect(r.status).toBe(0);
  expect(cacheFiles(home).map((f) => f.split('-')[1]).sort()).toEqual(['check', 'fingerprint']);
});

// Their code differs: one cache holding all three was read and deserialised in full by each.
test('a check of a model, of a batch function and on wasm keep a cache each', () => {
  const home = path.join(tmp, 'targets');
  check(home);
  const dir = fs.mkdtempSync(path.join(tmp, 'fn-'));
  const fn = path.join(dir, 'embed.cjs');
  fs.writeFileSync(fn, 'module.exports = async (batch) => batch.map((t) => [t.length, t.charCodeAt(0)]);\n');
  const texts = path.join(dir, 'texts.json');
  fs.writeFileSync(texts, JSON.stringify(['a', 'bb', 'ccc', 'dddd', 'eeeee']));
  const { NODE_DISABLE_COMPILE_CACHE: _off, ...base } = process.env;
  const run = (...args: string[]) => spawnSync(process.execPath, [bin, 'check', ...args, '--batch-sizes', '1,2'], { encoding: 'utf8', env: { ...base, XDG_CACHE_HOME: home } }).status;
  expect(run(fn, '--samples', texts)).toBe(0);
  expect(run(model, '--provider', 'wasm')).toBe(0);
  expect(cacheFiles(home).map((f) => /^cli\.js-(check(?:-[a-z]+)?)-v/.exec(f)?.[1]).sort()).toEqual(['check', 'check-function', 'check-wasm']);
});

test('cacheNameFor: the command, and the kind of target from the words alone', () => {
  const { cacheNameFor } = require(path.join(root, 'dist', 'src', 'cli', 'compile-cache.js')) as typeof import('../../src/cli/compile-cache');
  expect(cacheNameFor(['check', 'model.onnx', '--json'])).toBe('check');
  expect(cacheNameFor(['check', './embed.mjs', '--samples', 'texts.json'])).toBe('check-function');
  expect(cacheNameFor(['determinism', 'embed.JS', '--samples', 't.txt'])).toBe('determinism-function');
  expect(cacheNameFor(['compare', 'model.onnx', '--against', 'wasm'])).toBe('compare-wasm');
  expect(cacheNameFor(['check', 'model.onnx', '--provider=wasm'])).toBe('check-wasm');
  expect(cacheNameFor(['check', 'model.onnx', '--json', 'out.json'])).toBe('check');
  expect(cacheNameFor([])).toBe('');
});

// Two installs (two projects, two checkouts) of different versions, run in turn: each keeps its
// own cache instead of deleting the other's and compiling cold every time.
test('two installs of different bundles keep a cache each', () => {
  const dir = path.join(tmp, 'installs');
  const cache = path.join(dir, 'cache');
  const run = (name: string, hash: string) => {
    const file = path.join(dir, name, 'cli.js');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `// batchproof cli sha1:${hash.repeat(40)}\nconsole.log('${name}');\n`);
    const loader = `require(${JSON.stringify(path.join(root, 'dist', 'src', 'cli', 'compile-cache.js'))}).runFromCodeCache(${JSON.stringify(file)}, 'x', ${JSON.stringify(cache)})`;
    return spawnSync(process.execPath, ['-e', loader], { encoding: 'utf8' }).stdout.trim();
  };
  expect([run('one', 'a'), run('two', 'b')]).toEqual(['one', 'two']);
  const both = fs.readdirSync(cache).sort();
  expect(both).toHaveLength(2);
  // Each run again reads its own cache (generation 2 replaces its generation 1), not the other's.
  expect([run('one', 'a'), run('two', 'b')]).toEqual(['one', 'two']);
  expect(fs.readdirSync(cache).map((f) => f.replace(/\.\d+\.v8$/, '')).sort()).toEqual(both.map((f) => f.replace(/\.\d+\.v8$/, '')));
  expect(fs.readdirSync(cache).every((f) => f.endsWith('.2.v8'))).toBe(true);
});

// The bundle is written as its own module function (BUNDLE_HEAD): compiled as read through the
// cache, run once, and still a module that runs when required directly.
test('a wrapped bundle runs once, from its cache or required directly', () => {
  const dir = path.join(tmp, 'wrapped');
  fs.mkdirSync(dir);
  const file = path.join(dir, 'cli.js');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { BUNDLE_HEAD, BUNDLE_TAIL } = require(path.join(root, 'dist', 'src', 'cli', 'compile-cache.js')) as { BUNDLE_HEAD: string; BUNDLE_TAIL: string };
  fs.writeFileSync(file, `// batchproof cli sha1:${'c'.repeat(40)}\n${BUNDLE_HEAD}console.log('ran', typeof module, __filename === ${JSON.stringify(file)});${BUNDLE_TAIL}`);
  const loader = `require(${JSON.stringify(path.join(root, 'dist', 'src', 'cli', 'compile-cache.js'))}).runFromCodeCache(${JSON.stringify(file)}, 'x', ${JSON.stringify(path.join(dir, 'cache'))})`;
  const run = (env: NodeJS.ProcessEnv = {}) => spawnSync(process.execPath, ['-e', loader], { encoding: 'utf8', env: { ...process.env, ...env } }).stdout;
  expect(run()).toBe('ran object true\n');
  expect(fs.readdirSync(path.join(dir, 'cache'))).toHaveLength(1);
  expect(run()).toBe('ran object true\n');
  expect(run({ NODE_DISABLE_COMPILE_CACHE: '1' })).toBe('ran object true\n');
  expect(spawnSync(process.execPath, [file], { encoding: 'utf8' }).stdout).toBe('ran object true\n');
  // The real bundle is written that way, and runs when required too.
  const bundle = fs.readFileSync(path.join(root, 'dist', 'cli.js'), 'latin1');
  expect(bundle.slice(bundle.indexOf('\n') + 1).startsWith(BUNDLE_HEAD)).toBe(true);
  expect(bundle.endsWith(BUNDLE_TAIL)).toBe(true);
  expect(spawnSync(process.execPath, [path.join(root, 'dist', 'cli.js'), '--version'], { encoding: 'utf8' }).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
});

// V8 accepts a cache for any source of the same length and runs the cached code: npm gives every
// installed file the same mtime, so only the content hash on the bundle's first line tells two
// versions apart.
test('a bundle of the same length but other content never runs the old code', () => {
  const dir = path.join(tmp, 'same-length');
  fs.mkdirSync(dir);
  const file = path.join(dir, 'cli.js');
  const run = (hash: string, word: string) => {
    fs.writeFileSync(file, `${hash ? `// batchproof cli sha1:${hash.repeat(40)}\n` : ''}console.log('${word}');\n`);
    fs.utimesSync(file, new Date('1985-10-26T08:15:00Z'), new Date('1985-10-26T08:15:00Z'));
    const loader = `require(${JSON.stringify(path.join(root, 'dist', 'src', 'cli', 'compile-cache.js'))}).runFromCodeCache(${JSON.stringify(file)}, 'x', ${JSON.stringify(path.join(dir, 'cache'))})`;
    return spawnSync(process.execPath, ['-e', loader], { encoding: 'utf8' }).stdout.trim();
  };
  expect([run('a', 'AAAA'), run('a', 'AAAA')]).toEqual(['AAAA', 'AAAA']);
  expect(fs.readdirSync(path.join(dir, 'cache'))).toHaveLength(1);
  expect(run('b', 'BBBB')).toBe('BBBB');
  // A file without the hash line runs, uncached.
  fs.rmSync(path.join(dir, 'cache'), { recursive: true });
  expect(run('', 'CCCC')).toBe('CCCC');
  expect(fs.existsSync(path.join(dir, 'cache'))).toBe(false);
});

// The hash line says what the build wrote; an edit after it (patch-package, a fix tried by hand
// in node_modules) leaves it as it was. An edit of the same length ran the old code from the cache.
test('a bundle edited after the build, at the same length and with its hash line, runs as edited; a reinstall of the same bytes keeps the cache', () => {
  const dir = path.join(tmp, 'edited');
  fs.mkdirSync(dir);
  const file = path.join(dir, 'cli.js');
  const cache = path.join(dir, 'cache');
  const write = (word: string) => fs.writeFileSync(file, `// batchproof cli sha1:${'d'.repeat(40)}\nconsole.log('${word}');\n`);
  const loader = `require(${JSON.stringify(path.join(root, 'dist', 'src', 'cli', 'compile-cache.js'))}).runFromCodeCache(${JSON.stringify(file)}, 'x', ${JSON.stringify(cache)})`;
  const run = () => spawnSync(process.execPath, ['-e', loader], { encoding: 'utf8' }).stdout.trim();
  const generation = () => fs.readdirSync(cache).map((f) => Number(/\.(\d+)\.v8$/.exec(f)?.[1]));
  write('AAAA');
  // Edited at once (a bundle changed within the file system's clock tick is checksummed)...
  expect([run(), run()]).toEqual(['AAAA', 'AAAA']);
  write('BBBB');
  expect(run()).toBe('BBBB');
  // ...and once the bundle has settled, when its identity is recorded in the cache.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2100);
  expect([run(), run()]).toEqual(['BBBB', 'BBBB']);
  const settled = fs.statSync(file);
  write('CCCC');
  fs.utimesSync(file, settled.atime, settled.mtime);
  expect([run(), run()]).toEqual(['CCCC', 'CCCC']);
  // The same bytes at the same path, another file (npm ci): the cache is used, not compiled anew.
  const before = generation();
  fs.copyFileSync(file, `${file}.new`);
  fs.renameSync(`${file}.new`, file);
  expect(run()).toBe('CCCC');
  expect(generation()).toEqual([before[0] + 1]);
});

// The checksum catches a bad disk, not a person: whoever can write the cache folder can seal
// code of their own for the bundle (V8 checks only the source's length). A folder others can write
// (a shared XDG_CACHE_HOME) is neither read nor written.
test('a cache folder other users can write is not used: code planted there never runs', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { verifiedCache, sealCache } = require(path.join(root, 'dist', 'src', 'cli', 'compile-cache.js')) as typeof import('../../src/cli/compile-cache');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { checksum } = require(path.join(root, 'dist', 'src', 'kernels', 'checksum.js')) as typeof import('../../src/kernels/checksum');
  const dir = path.join(tmp, 'shared');
  const file = path.join(dir, 'cli.js');
  const [own, shared] = [path.join(dir, 'own'), path.join(dir, 'shared')];
  fs.mkdirSync(shared, { recursive: true });
  fs.chmodSync(shared, 0o777);
  const write = (word: string) => fs.writeFileSync(file, `// batchproof cli sha1:${'e'.repeat(40)}\nconsole.log('${word}');\n`);
  const run = (cache: string) => spawnSync(process.execPath, ['-e', `require(${JSON.stringify(path.join(root, 'dist', 'src', 'cli', 'compile-cache.js'))}).runFromCodeCache(${JSON.stringify(file)}, 'x', ${JSON.stringify(cache)})`], { encoding: 'utf8' }).stdout.trim();
  // Someone compiles code of their own at the bundle's length and seals it for the real bundle.
  write('EVIL');
  expect(run(own)).toBe('EVIL');
  write('GOOD');
  const [name] = fs.readdirSync(own);
  const planted = sealCache((verifiedCache(fs.readFileSync(path.join(own, name))) as { data: Buffer }).data, { sum: checksum(fs.readFileSync(file)), identity: '', file });
  fs.writeFileSync(path.join(own, name), planted);
  fs.writeFileSync(path.join(shared, name), planted);
  // In the user's own folder it would run (what the test guards against)...
  expect(run(own)).toBe('EVIL');
  // ...in one others can write, never; nothing is written there either.
  expect(run(shared)).toBe('GOOD');
  expect(fs.readdirSync(shared)).toEqual([name]);
});

test('a corrupt cache is rejected by V8 and replaced, never an error', () => {
  const home = path.join(tmp, 'corrupt');
  check(home);
  const [file] = cacheFiles(home);
  fs.writeFileSync(path.join(home, 'batchproof', file), 'not a code cache');
  expect(check(home)).toMatchObject({ status: 0, stderr: '', verdict: 'invariant' });
  expect(fs.readFileSync(path.join(home, 'batchproof', file)).toString()).not.toBe('not a code cache');
});

// V8 runs cached code unverified: three flipped bits crashed every later run (a V8 check failure,
// exit 133, or a segfault, 139). The checksum at the head of the file keeps them from V8.
test('a cache with bits flipped is never handed to V8: the run is as usual, the cache replaced', () => {
  const home = path.join(tmp, 'flipped');
  const first = check(home);
  const [file] = cacheFiles(home);
  const cache = path.join(home, 'batchproof', file);
  const bytes = fs.readFileSync(cache);
  const payload = bytes.length - 36;
  for (const [at, bit] of [[0.25, 1], [0.5, 4], [0.75, 6]]) bytes[36 + Math.floor(payload * at)] ^= 1 << bit;
  fs.writeFileSync(cache, bytes);
  expect(check(home)).toEqual(first);
  // Replaced by a good one, which the next run uses.
  expect(fs.readFileSync(cache).equals(bytes)).toBe(false);
  expect(check(home)).toEqual(first);
  // A cache of the old format (no checksum) is not trusted either.
  const [now] = cacheFiles(home);
  fs.writeFileSync(path.join(home, 'batchproof', now), fs.readFileSync(path.join(home, 'batchproof', now)).subarray(36));
  expect(check(home)).toEqual(first);
});

test('verifiedCache: the data when the checksum matches, null otherwise (and for the older formats)', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { verifiedCache, sealCache } = require(path.join(root, 'dist', 'src', 'cli', 'compile-cache.js')) as typeof import('../../src/cli/compile-cache');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { checksum } = require(path.join(root, 'dist', 'src', 'kernels', 'checksum.js')) as typeof import('../../src/kernels/checksum');
  const data = Buffer.from('some v8 bytes');
  const bundle = { sum: checksum(Buffer.from('the bundle')), identity: '2049:1234:56:78:90', file: '/home/me/project/node_modules/batchproof/dist/cli.js' };
  const sealed = sealCache(data, bundle);
  const rest = Buffer.concat([bundle.sum, Buffer.from([bundle.identity.length]), Buffer.from(bundle.identity), Buffer.from([0, bundle.file.length]), Buffer.from(bundle.file), data]);
  expect(sealed.equals(Buffer.concat([Buffer.from('bpc5'), checksum(rest), rest]))).toBe(true);
  expect(verifiedCache(sealed)).toEqual({ data, bundle });
  for (let i = 0; i < sealed.length; i++) {
    const bad = Buffer.from(sealed);
    bad[i] ^= 0x10;
    expect(verifiedCache(bad)).toBeNull();
  }
  expect(verifiedCache(sealed.subarray(0, sealed.length - data.length))).toBeNull();
  expect(verifiedCache(Buffer.alloc(0))).toBeNull();
  // A cache of an earlier format (no bundle path, no bundle recorded, CRC-32, SHA-256) is replaced, not trusted.
  const bpc4 = Buffer.concat([bundle.sum, Buffer.from([bundle.identity.length]), Buffer.from(bundle.identity), data]);
  expect(verifiedCache(Buffer.concat([Buffer.from('bpc4'), checksum(bpc4), bpc4]))).toBeNull();
  expect(verifiedCache(Buffer.concat([Buffer.from('bpc3'), checksum(data), data]))).toBeNull();
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(data));
  expect(verifiedCache(Buffer.concat([Buffer.from('bpc2'), crc, data]))).toBeNull();
  expect(verifiedCache(Buffer.concat([Buffer.from('bpc1'), crypto.createHash('sha256').update(data).digest(), data]))).toBeNull();
});

test('a cache directory that cannot be written changes nothing but speed', () => {
  const blocked = path.join(tmp, 'blocked');
  fs.writeFileSync(blocked, 'a file where the cache directory would go');
  expect(check(blocked)).toMatchObject({ status: 0, stderr: '', verdict: 'invariant' });
});

// A container run as a uid with no passwd entry and no HOME (docker run --user 1234, env -i):
// os.homedir() throws. The check runs, without its caches. The uid is made with a user
// namespace, where the system allows one.
const homeless = spawnSync('unshare', ['--user', '--map-user=54321', 'true']).status === 0;
(homeless ? test : test.skip)('a user without a home directory: the check runs as usual, uncached', () => {
  const { HOME: _home, XDG_CACHE_HOME: _xdg, NODE_DISABLE_COMPILE_CACHE: _off, ...env } = process.env;
  for (const debug of [{}, { BATCHPROOF_DEBUG: '1' }]) {
    const r = spawnSync('unshare', ['--user', '--map-user=54321', process.execPath, bin, 'check', model, '--batch-sizes', '1,2', '--json'], { encoding: 'utf8', env: { ...env, ...debug } });
    expect({ status: r.status, stderr: r.stderr, verdict: r.status === 0 ? JSON.parse(r.stdout).verdict : null }).toEqual({ status: 0, stderr: '', verdict: 'invariant' });
  }
});

// A full disk: write() takes what fits and says how much, and the rest must not be lost
// unnoticed (a cut-short cache renamed into place). A small tmpfs in a mount namespace, where the
// system allows one.
const mountable = spawnSync('unshare', ['-Urm', 'sh', '-c', `mount -t tmpfs -o size=64k tmpfs ${JSON.stringify(tmp)}`]).status === 0;
(mountable ? test : test.skip)('a full disk: the check runs as usual and no cut-short cache is left in place', () => {
  const full = path.join(tmp, 'full');
  fs.mkdirSync(full);
  const compileCache = JSON.stringify(path.join(root, 'dist', 'src', 'cli', 'compile-cache.js'));
  // What is in the cache folder once the run is over, and whether each cache file is whole.
  const inspect = `const fs=require('fs'),p=require('path'),{verifiedCache}=require(${compileCache});const d=p.join(process.argv[1],'batchproof');console.log(JSON.stringify(fs.existsSync(d)?fs.readdirSync(d).filter(f=>f.endsWith('.v8')).map(f=>verifiedCache(fs.readFileSync(p.join(d,f)))!==null):[]))`;
  const { NODE_DISABLE_COMPILE_CACHE: _off, ...env } = process.env;
  const script = `mount -t tmpfs -o size=256k tmpfs "$0" && "$1" "$2" check "$3" --batch-sizes 1,2 --json >"$0/report.json" && "$1" -e "$4" "$0"`;
  const r = spawnSync('unshare', ['-Urm', 'sh', '-c', script, full, process.execPath, bin, model, inspect], { encoding: 'utf8', env: { ...env, XDG_CACHE_HOME: full } });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  // The cache (about 400 KB) does not fit: none is left, rather than its first 256 KB.
  expect(JSON.parse(r.stdout)).toEqual([]);
});

test('compileCacheDir: XDG_CACHE_HOME when absolute; a relative one is ignored, as the XDG spec says, for ~/.cache', () => {
  expect(compileCacheDir({ XDG_CACHE_HOME: '/var/cache/me', HOME: '/home/me' })).toBe(path.join('/var/cache/me', 'batchproof'));
  expect(compileCacheDir({ XDG_CACHE_HOME: 'cache', HOME: '/home/me' })).toBe(path.join('/home/me', '.cache', 'batchproof'));
  expect(compileCacheDir({ XDG_CACHE_HOME: '', HOME: '/home/me' })).toBe(path.join('/home/me', '.cache', 'batchproof'));
});

test('NODE_DISABLE_COMPILE_CACHE turns it off', () => {
  const home = path.join(tmp, 'off');
  expect(check(home, { NODE_DISABLE_COMPILE_CACHE: '1' })).toMatchObject({ status: 0, stderr: '', verdict: 'invariant' });
  expect(cacheFiles(home)).toEqual([]);
});
