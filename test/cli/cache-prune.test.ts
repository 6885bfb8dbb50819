import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

// The code cache keeps one file (about 0.5 MB) per command, kind of target, install and Node
// version: every install that ever ran (a removed checkout, an npx or CI install, an older Node)
// left its files for good. Writing a cache now prunes those whose bundle is gone or that no run
// has used for 30 days, and never anything that is not a cache.
const root = path.join(__dirname, '..', '..');
const compileCache = path.join(root, 'dist', 'src', 'cli', 'compile-cache.js');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { shortTag } = require(compileCache) as typeof import('../../src/cli/compile-cache');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'batchproof-prune-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const DAY = 24 * 3600 * 1000;
/** An install: a small bundle of its own (its hash line, a line of output) at dir/NAME/cli.js. */
function install(dir: string, name: string, hash: string): string {
  const file = path.join(dir, name, 'cli.js');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `// batchproof cli sha1:${hash.repeat(40).slice(0, 40)}\nconsole.log(${JSON.stringify(name)});\n`);
  return file;
}
const loader = (file: string, cache: string) => `require(${JSON.stringify(compileCache)}).runFromCodeCache(${JSON.stringify(file)}, 'x', ${JSON.stringify(cache)})`;
const run = (file: string, cache: string) => spawnSync(process.execPath, ['-e', loader(file, cache)], { encoding: 'utf8' }).stdout.trim();
/** The cache file of an install (its tag is a hash of the bundle's path). */
const cacheOf = (cache: string, file: string) => fs.readdirSync(cache).filter((f) => f.includes(`-${shortTag(path.resolve(file))}-`) && f.endsWith('.v8'));
const age = (file: string, ms: number) => fs.utimesSync(file, new Date(Date.now() - ms), new Date(Date.now() - ms));
/** A bundle's identity is recorded once it has been unchanged 2 s: past that, a run that reads does not write. */
const settle = () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2100);

test("a write prunes other installs' caches whose bundle is gone or that no run used for 30 days; a run that reads renews its cache, and nothing else is touched", () => {
  const dir = path.join(tmp, 'installs');
  const cache = path.join(dir, 'cache');
  const [used, unused, recent, removed, current] = ['used', 'unused', 'recent', 'removed', 'current'].map((name, i) => install(dir, name, 'abcde'[i]));
  settle();
  for (const file of [used, unused, recent, removed]) expect(run(file, cache)).toBe(path.basename(path.dirname(file)));
  // `used` settles: its refreshes written, its next run only reads.
  for (let i = 0; i < 4; i++) run(used, cache);
  const [usedCache] = cacheOf(cache, used);
  expect(usedCache).toMatch(/\.4\.v8$/);
  const [unusedCache] = cacheOf(cache, unused);
  const [recentCache] = cacheOf(cache, recent);
  const [removedCache] = cacheOf(cache, removed);
  const at = (name: string) => path.join(cache, name);
  age(at(usedCache), 40 * DAY);
  age(at(unusedCache), 40 * DAY);
  age(at(recentCache), 20 * DAY);
  fs.rmSync(path.dirname(removed), { recursive: true });
  // Not the caches': a note, a file named as a cache but not one, a link named as one to an old
  // cache elsewhere, the facts folder, a temporary being written and one a run left 2 hours ago.
  const foreign = ['notes.txt', 'cli.js-x-v20.0.0-x64-0123abcd-0123456789abcdef.1.v8', 'cli.js-x-v20.0.0-x64-feedbeef-fedcba9876543210.3.v8', 'facts'];
  fs.writeFileSync(at(foreign[0]), 'mine');
  fs.writeFileSync(at(foreign[1]), 'not a cache, named as one');
  fs.copyFileSync(at(unusedCache), path.join(dir, 'elsewhere.v8'));
  age(path.join(dir, 'elsewhere.v8'), 40 * DAY);
  fs.symlinkSync(path.join(dir, 'elsewhere.v8'), at(foreign[2]));
  fs.mkdirSync(at('facts'));
  fs.writeFileSync(path.join(at('facts'), 'kept.json'), '{}');
  const [writing, left] = [`${recentCache}.4242.tmp`, `${recentCache}.4243.tmp`];
  fs.writeFileSync(at(writing), 'bpc5');
  fs.writeFileSync(at(left), 'bpc5');
  age(at(left), 2 * 3600 * 1000);
  for (const f of [...foreign, writing]) fs.lutimesSync(at(f), new Date(Date.now() - 40 * DAY), new Date(Date.now() - 40 * DAY));
  fs.utimesSync(at(writing), new Date(), new Date());
  const before = fs.readdirSync(cache).sort();

  // A run that only reads prunes nothing (the hot path is as it was), and renews its own cache.
  expect(run(used, cache)).toBe('used');
  expect(fs.readdirSync(cache).sort()).toEqual(before);
  expect(Date.now() - fs.statSync(at(usedCache)).mtimeMs).toBeLessThan(DAY);

  // A write (a new install's first run) prunes.
  expect(run(current, cache)).toBe('current');
  const [currentCache] = cacheOf(cache, current);
  expect(fs.readdirSync(cache).sort()).toEqual([usedCache, recentCache, currentCache, ...foreign, writing].sort());
  expect(fs.readFileSync(at(foreign[1]), 'utf8')).toBe('not a cache, named as one');
  expect(fs.existsSync(path.join(dir, 'elsewhere.v8'))).toBe(true);
  expect(fs.readdirSync(at('facts'))).toEqual(['kept.json']);
  // The installs whose caches stayed still run from them; the pruned one runs, compiling anew.
  expect([run(used, cache), run(recent, cache), run(unused, cache)]).toEqual(['used', 'recent', 'unused']);
  expect(cacheOf(cache, used)).toEqual([usedCache]);
  expect(cacheOf(cache, unused)).toEqual([expect.stringMatching(/\.1\.v8$/)]);
});

test('8 installs writing and pruning in parallel: each runs and keeps its cache; only the stale one goes', async () => {
  const dir = path.join(tmp, 'parallel');
  const cache = path.join(dir, 'cache');
  const stale = install(dir, 'stale', 'f');
  const files = Array.from({ length: 8 }, (_, i) => install(dir, `run${i}`, (i + 1).toString(16)));
  settle();
  expect(run(stale, cache)).toBe('stale');
  age(path.join(cache, cacheOf(cache, stale)[0]), 40 * DAY);
  const runAll = () =>
    Promise.all(
      files.map(
        (file) =>
          new Promise<string>((resolve) => {
            const child = spawn(process.execPath, ['-e', loader(file, cache)], { stdio: ['ignore', 'pipe', 'pipe'] });
            let out = '';
            child.stdout.on('data', (d) => (out += d));
            child.stderr.on('data', (d) => (out += d));
            child.on('close', (code) => resolve(`${code} ${out.trim()}`));
          }),
      ),
    );
  // Twice: first writes (generation 1), then refreshes (generation 2), each write pruning.
  for (const generation of [1, 2]) {
    expect(await runAll()).toEqual(files.map((_, i) => `0 run${i}`));
    expect(files.map((file) => cacheOf(cache, file))).toEqual(files.map(() => [expect.stringMatching(new RegExp(`\\.${generation}\\.v8$`))]));
  }
  expect(cacheOf(cache, stale)).toEqual([]);
  expect(fs.readdirSync(cache).filter((f) => f.endsWith('.tmp'))).toEqual([]);
}, 60_000);
