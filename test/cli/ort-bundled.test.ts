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
describe.each(installs)('%s', (label, change) => {
  test('loads the installed packages, not the bundled copy', () => {
    const install = path.join(work, label.replace(/\W+/g, '-'));
    const modules = path.join(install, 'node_modules');
    for (const name of ['onnxruntime-node', 'onnxruntime-common']) {
      const real = path.join(root, 'node_modules', name);
      const copy = path.join(modules, name);
      fs.mkdirSync(copy, { recursive: true });
      fs.cpSync(path.join(real, 'dist'), path.join(copy, 'dist'), { recursive: true });
      if (fs.existsSync(path.join(real, 'bin'))) fs.symlinkSync(path.join(real, 'bin'), path.join(copy, 'bin'));
      const pkg = JSON.parse(fs.readFileSync(path.join(real, 'package.json'), 'utf8'));
      change(name, copy, pkg);
      fs.writeFileSync(path.join(copy, 'package.json'), JSON.stringify(pkg));
    }
    fs.mkdirSync(path.join(install, 'dist'), { recursive: true });
    fs.copyFileSync(path.join(root, 'dist', 'cli.js'), path.join(install, 'dist', 'cli.js'));
    const file = path.join(install, 'embed.cjs');
    fs.writeFileSync(
      file,
      `const path = require('path');
require('onnxruntime-node');
${seen}
process.stderr.write(JSON.stringify({ keys }) + '\\n');
module.exports = ${embed};`,
    );
    const r = spawnSync(process.execPath, [path.join(install, 'dist', 'cli.js'), 'check', file, '--samples', samples, '--json'], { cwd: install, encoding: 'utf8' });
    expect(r.status).toBe(0);
    const probe = JSON.parse(r.stderr.split('\n').find((l) => l.startsWith('{')) as string);
    // The installed copies' files, each loaded by Node (the bundled copy would register two).
    expect(probe.keys).toEqual(
      expect.arrayContaining([path.join('node_modules', 'onnxruntime-node', 'dist', 'binding.js'), path.join('node_modules', 'onnxruntime-common', 'dist', 'cjs', 'tensor-impl.js')]),
    );
    expect(JSON.parse(r.stdout).fingerprint.onnxruntime).toMatch(/^\d+\.\d+\.\d+$/);
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
