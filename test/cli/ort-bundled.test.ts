import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

// The CLI bundle holds onnxruntime-node's and onnxruntime-common's JavaScript
// (scripts/bundle/ort-bundled.js): used where the installed packages are the versions it was
// made from, and registered under their files, so a batch function's own import gets that same
// module instead of loading onnxruntime again; other versions load as installed.
const root = path.join(__dirname, '..', '..');
const bin = path.join(root, 'dist', 'src', 'cli', 'bin.js');
// Inside the repository (the ignored /tmp), so the probes find onnxruntime-node by name.
fs.mkdirSync(path.join(root, 'tmp'), { recursive: true });
const work = fs.mkdtempSync(path.join(root, 'tmp', 'ort-bundled-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const samples = path.join(work, 'texts.json');
fs.writeFileSync(samples, JSON.stringify(['a query', 'another text', 'batch', 'invariant', 'the same answer']));

// What the batch function saw of onnxruntime when it loaded, on stderr as JSON.
const seen = `const keys = Object.keys(require.cache).filter((k) => /onnxruntime-(node|common)[\\\\/]dist[\\\\/]/.test(k)).map((k) => path.relative(process.cwd(), k));`;
const embed = `async (texts) => texts.map((t) => [t.length, t.charCodeAt(0), t.charCodeAt(t.length - 1)])`;

function check(fnFile: string, cwd = root) {
  const r = spawnSync(process.execPath, [bin, 'check', fnFile, '--samples', samples, '--json'], { cwd, encoding: 'utf8' });
  const line = r.stderr.split('\n').find((l) => l.startsWith('{'));
  return { status: r.status, verdict: r.status === 0 ? JSON.parse(r.stdout).verdict : r.stderr, seen: line ? JSON.parse(line) : null };
}

test("a batch function's require('onnxruntime-node') gets the module the CLI loaded: onnxruntime's files are not loaded again", () => {
  const file = path.join(work, 'embed.cjs');
  fs.writeFileSync(
    file,
    `const path = require('path');
const ort = require('onnxruntime-node');
${seen}
process.stderr.write(JSON.stringify({ keys, tensor: typeof ort.Tensor, session: typeof ort.InferenceSession.create }) + '\\n');
module.exports = ${embed};`,
  );
  const r = check(file);
  expect(r.status).toBe(0);
  // Only the two entries the bundle registered; a second load would add every file of both packages.
  expect({ ...r.seen, keys: [...r.seen.keys].sort() }).toEqual({
    keys: [path.join('node_modules', 'onnxruntime-common', 'dist', 'cjs', 'index.js'), path.join('node_modules', 'onnxruntime-node', 'dist', 'index.js')],
    tensor: 'function',
    session: 'function',
  });
});

test('an ES module batch function imports the same onnxruntime, and runs a model through it', () => {
  const file = path.join(work, 'embed.mjs');
  const model = path.join(root, 'examples', 'models', 'text_embedder.onnx');
  fs.writeFileSync(
    file,
    `import * as ort from 'onnxruntime-node';
import { createRequire } from 'module';
const required = createRequire(import.meta.url)('onnxruntime-node');
process.stderr.write(JSON.stringify({ sameTensor: ort.Tensor === required.Tensor, sameEnv: ort.env === required.env }) + '\\n');
const session = await ort.InferenceSession.create(${JSON.stringify(model)});
export default async function embed(texts) {
  const len = 6;
  const ids = BigInt64Array.from({ length: texts.length * len }, (_, i) => BigInt(1 + ((texts[Math.floor(i / len)].charCodeAt(i % len) || 0) % 200)));
  const dims = [texts.length, len];
  const feeds = { input_ids: new ort.Tensor('int64', ids, dims), attention_mask: new ort.Tensor('int64', new BigInt64Array(ids.length).fill(1n), dims), token_type_ids: new ort.Tensor('int64', new BigInt64Array(ids.length), dims) };
  return (await session.run(feeds)).sentence_embedding;
}`,
  );
  const r = check(file);
  expect(r.status).toBe(0);
  expect(['invariant', 'within-tolerance']).toContain(r.verdict);
  expect(r.seen).toEqual({ sameTensor: true, sameEnv: true });
});

// An install whose onnxruntime packages are not the ones the bundle holds (a patch release npm
// picked, a file patched in place): their own JavaScript loads, as installed, with their addon.
const installs: [string, (name: string, copy: string, pkg: { version: string }) => void][] = [
  ['another onnxruntime-node version', (name, copy, pkg) => name === 'onnxruntime-node' && (pkg.version = `${pkg.version}-other`)],
  ['another onnxruntime-common version', (name, copy, pkg) => name === 'onnxruntime-common' && (pkg.version = `${pkg.version}-other`)],
  ['a file patched in place (patch-package)', (name, copy) => name === 'onnxruntime-node' && fs.appendFileSync(path.join(copy, 'dist', 'backend.js'), '\n// patched\n')],
];
/** A copy of the repository's installed package `name` in `copy`, its package.json changed by `change`. */
function copyPackage(name: string, copy: string, change: (pkg: { version: string }) => void = () => {}): void {
  const real = path.join(root, 'node_modules', name);
  fs.mkdirSync(copy, { recursive: true });
  fs.cpSync(path.join(real, 'dist'), path.join(copy, 'dist'), { recursive: true });
  if (fs.existsSync(path.join(real, 'bin'))) fs.symlinkSync(path.join(real, 'bin'), path.join(copy, 'bin'));
  const pkg = JSON.parse(fs.readFileSync(path.join(real, 'package.json'), 'utf8'));
  change(pkg);
  fs.writeFileSync(path.join(copy, 'package.json'), JSON.stringify(pkg));
}

/** The bundle run from `install`/dist on a batch function there: what the function saw of onnxruntime, and the report. */
function checkFrom(install: string, env: Record<string, string> = {}) {
  fs.mkdirSync(path.join(install, 'dist'), { recursive: true });
  fs.copyFileSync(path.join(root, 'dist', 'cli.js'), path.join(install, 'dist', 'cli.js'));
  const file = path.join(install, 'embed.cjs');
  fs.writeFileSync(
    file,
    `const path = require('path');
const ort = require('onnxruntime-node');
${seen}
process.stderr.write(JSON.stringify({ keys: keys.sort(), tensor: typeof ort.Tensor }) + '\\n');
module.exports = ${embed};`,
  );
  const r = spawnSync(process.execPath, [path.join(install, 'dist', 'cli.js'), 'check', file, '--samples', samples, '--json'], { cwd: install, encoding: 'utf8', env: { ...process.env, ...env } });
  expect(r.status).toBe(0);
  return { seen: JSON.parse(r.stderr.split('\n').find((l) => l.startsWith('{')) as string), report: JSON.parse(r.stdout) };
}

describe.each(installs)('%s', (label, change) => {
  test('loads the installed packages, not the bundled copy', () => {
    const install = path.join(work, label.replace(/\W+/g, '-'));
    for (const name of ['onnxruntime-node', 'onnxruntime-common']) {
      const copy = path.join(install, 'node_modules', name);
      copyPackage(name, copy, (pkg) => change(name, copy, pkg));
    }
    const { seen: probe, report } = checkFrom(install);
    // The installed copies' files, each loaded by Node (the bundled copy would register two).
    expect(probe.keys).toEqual(
      expect.arrayContaining([path.join('node_modules', 'onnxruntime-node', 'dist', 'binding.js'), path.join('node_modules', 'onnxruntime-common', 'dist', 'cjs', 'tensor-impl.js')]),
    );
    expect(report.fingerprint.onnxruntime).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

// Linked installs: node_modules/onnxruntime-node a link to the package elsewhere. Node loads a
// linked package from its real path (or, with --preserve-symlinks, the linked one); the bundled
// copy must be registered under the files Node would load, or the function's own require would
// load onnxruntime a second time.
const pnpm = path.join('node_modules', '.pnpm', 'onnxruntime-node@1', 'node_modules');
const linked: [string, Record<string, string>, Record<string, string>, string[]][] = [
  // pnpm: the package and its dependency side by side in the store, only the package linked.
  ['pnpm', { 'onnxruntime-node': pnpm }, {}, [pnpm, pnpm]],
  // npm link, workspaces: both linked at the top, once as Node resolves links and once as it keeps them.
  ['both linked', { 'onnxruntime-node': 'store', 'onnxruntime-common': 'store' }, {}, ['store', 'store']],
  ['both linked, NODE_PRESERVE_SYMLINKS=1', { 'onnxruntime-node': 'store', 'onnxruntime-common': 'store' }, { NODE_PRESERVE_SYMLINKS: '1' }, ['node_modules', 'node_modules']],
];
describe.each(linked)('%s', (label, links, env, [commonAt, nodeAt]) => {
  test('the bundled copy is used, registered where Node loads the packages from', () => {
    const install = path.join(work, label.replace(/\W+/g, '-'));
    fs.mkdirSync(path.join(install, 'node_modules'), { recursive: true });
    for (const name of ['onnxruntime-node', 'onnxruntime-common']) {
      const copy = path.join(install, links[name] ?? links['onnxruntime-node'], name);
      copyPackage(name, copy);
      if (name in links) fs.symlinkSync(copy, path.join(install, 'node_modules', name));
    }
    // Only the two registered entries: a second load would add every file of both packages.
    expect(checkFrom(install, env).seen).toEqual({
      keys: [path.join(commonAt, 'onnxruntime-common', 'dist', 'cjs', 'index.js'), path.join(nodeAt, 'onnxruntime-node', 'dist', 'index.js')].sort(),
      tensor: 'function',
    });
  });
});

test('an install without onnxruntime-node: one line naming it and the fix, exit 2, no stack trace', () => {
  // Outside the repository, where no node_modules up the tree holds it.
  const install = fs.mkdtempSync(path.join(os.tmpdir(), 'batchproof-no-ort-'));
  fs.mkdirSync(path.join(install, 'dist', 'src', 'cli'), { recursive: true });
  fs.copyFileSync(path.join(root, 'dist', 'cli.js'), path.join(install, 'dist', 'cli.js'));
  fs.copyFileSync(bin, path.join(install, 'dist', 'src', 'cli', 'bin.js'));
  const r = spawnSync(process.execPath, [path.join(install, 'dist', 'src', 'cli', 'bin.js'), 'check', 'model.onnx'], { cwd: install, encoding: 'utf8', env: { ...process.env, NODE_PATH: '' } });
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(/^batchproof: cannot start: Cannot find module 'onnxruntime-node'.*; reinstall \(npm install batchproof onnxruntime-node\)/);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  fs.rmSync(install, { recursive: true, force: true });
});

// The bundle's onnxruntime reads isMainThread from a stand-in (scripts/bundle/ort-main-thread.js)
// that spares loading worker_threads on the main thread: it must say what worker_threads says,
// on the main thread and in a worker, or onnxruntime would tear its environment down in a worker.
test('isMainThread for the bundled onnxruntime: true on the main thread without loading worker_threads, false in a worker', () => {
  const standIn = JSON.stringify(path.join(root, 'scripts', 'bundle', 'ort-main-thread.js'));
  const script = `
const onMain = require(${standIn}).isMainThread;
const loaded = process.moduleLoadList.includes('NativeModule worker_threads');
const { Worker } = require('worker_threads');
const w = new Worker('const { parentPort } = require("worker_threads"); parentPort.postMessage([require(${standIn.replace(/"/g, '\\"')}).isMainThread, require("worker_threads").isMainThread]);', { eval: true });
w.on('message', (inWorker) => process.stdout.write(JSON.stringify({ onMain, loaded, inWorker })));`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(JSON.parse(r.stdout)).toEqual({ onMain: true, loaded: false, inWorker: [false, false] });
});

test('the CLI runs in a worker thread too, where the stand-in defers to worker_threads', () => {
  const model = path.join(root, 'examples', 'models', 'embedding_cnn.onnx');
  // The CLI writes to file descriptor 1, the process's own stdout, from any thread.
  const script = `
const { Worker } = require('worker_threads');
const w = new Worker(${JSON.stringify(bin)}, { argv: ['check', ${JSON.stringify(model)}, '--batch-sizes', '1,2', '--json'] });
w.on('exit', (code) => process.stderr.write(JSON.stringify({ code })));`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  expect(JSON.parse(r.stderr)).toEqual({ code: 0 });
  expect(JSON.parse(r.stdout).verdict).toBe('invariant');
});
