import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

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

test('the bin runs from the bundle: the first run writes a cache for its command, the next reads it and answers the same', () => {
  expect(fs.existsSync(path.join(root, 'dist', 'cli.js'))).toBe(true);
  const home = path.join(tmp, 'fresh');
  const first = check(home);
  expect(first).toMatchObject({ status: 0, stderr: '', verdict: 'invariant' });
  const files = cacheFiles(home);
  expect(files).toEqual([expect.stringMatching(/^cli\.js-check-v\d+\.\d+\.\d+-\w+-\d+-\d+\.v8$/)]);
  const written = fs.statSync(path.join(home, 'batchproof', files[0])).mtimeMs;
  const second = check(home);
  expect(second).toEqual(first);
  // Accepted, so not written again.
  expect(fs.statSync(path.join(home, 'batchproof', files[0])).mtimeMs).toBe(written);
});

test('a corrupt cache is rejected by V8 and replaced, never an error', () => {
  const home = path.join(tmp, 'corrupt');
  check(home);
  const [file] = cacheFiles(home);
  fs.writeFileSync(path.join(home, 'batchproof', file), 'not a code cache');
  expect(check(home)).toMatchObject({ status: 0, stderr: '', verdict: 'invariant' });
  expect(fs.readFileSync(path.join(home, 'batchproof', file)).toString()).not.toBe('not a code cache');
});

test('a cache directory that cannot be written changes nothing but speed', () => {
  const blocked = path.join(tmp, 'blocked');
  fs.writeFileSync(blocked, 'a file where the cache directory would go');
  expect(check(blocked)).toMatchObject({ status: 0, stderr: '', verdict: 'invariant' });
});

test('NODE_DISABLE_COMPILE_CACHE turns it off', () => {
  const home = path.join(tmp, 'off');
  expect(check(home, { NODE_DISABLE_COMPILE_CACHE: '1' })).toMatchObject({ status: 0, stderr: '', verdict: 'invariant' });
  expect(cacheFiles(home)).toEqual([]);
});
