import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { diskFactsStore } from '../../src/cli/facts-cache';
import { readModelFacts } from '../../src/onnx/fast-graph';
import { tableBounds } from '../../src/onnx/tables';
import { openModel, readHandleGraph, tableBoundsOf, useGraphFactsStore, type KeptFacts } from '../../src/runtime/handle';

// The CLI keeps a model file's graph facts between runs (decoding a text model's graph cold is
// about 20 ms of its check). Kept facts must be exactly the decoded ones, and only ever for the
// file as it was when they were decoded.
const root = path.join(__dirname, '..', '..');
const models = path.join(root, 'examples', 'models');
const bin = path.join(root, 'dist', 'src', 'cli', 'bin.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'batchproof-facts-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

let n = 0;
/** A fresh store, a copy of a model to change, and a stand-in for the CLI's own file. */
function setup(model = 'text_embedder.onnx') {
  const dir = path.join(tmp, `case-${n++}`);
  fs.mkdirSync(dir);
  const file = path.join(dir, 'model.onnx');
  fs.copyFileSync(path.join(models, model), file);
  const code = path.join(dir, 'cli.js');
  fs.writeFileSync(code, '// the CLI\n');
  const store = diskFactsStore({ dir: path.join(dir, 'cache'), code, env: {}, settledMs: 0 });
  if (!store) throw new Error('no store');
  return { dir, file, code, store, cache: path.join(dir, 'cache') };
}

const decoded = (file: string): KeptFacts => {
  const { graph, constants } = readModelFacts(fs.readFileSync(file), file);
  return { graph, constants, tableBounds: tableBounds(graph, constants) };
};

function keep(store: NonNullable<ReturnType<typeof diskFactsStore>>, file: string, facts: KeptFacts): void {
  const found = store.lookup(file);
  if (!('keep' in found)) throw new Error('expected a miss');
  found.keep(facts);
}

test('facts kept for a file come back exactly as decoded, for every example model', () => {
  for (const model of fs.readdirSync(models).filter((f) => f.endsWith('.onnx'))) {
    const { file, store } = setup(model);
    const facts = decoded(file);
    keep(store, file, facts);
    const found = store.lookup(file);
    expect({ model, found: 'facts' in found ? found.facts : null }).toEqual({ model, found: facts });
  }
});

test('the bounds of the id tables come without the graph: its JSON is parsed only when the graph is asked for', () => {
  const { file, store } = setup();
  const facts = decoded(file);
  expect(Object.keys(facts.tableBounds)).toEqual(expect.arrayContaining(['input_ids']));
  keep(store, file, facts);
  const found = store.lookup(file);
  if (!('facts' in found)) throw new Error('expected the kept facts');
  const parse = jest.spyOn(JSON, 'parse');
  try {
    expect(found.facts.tableBounds).toEqual(facts.tableBounds);
    expect(parse).not.toHaveBeenCalled();
    expect(found.facts.graph).toEqual(facts.graph);
    expect(found.facts.constants).toEqual(facts.constants);
    expect(parse).toHaveBeenCalledTimes(1);
  } finally {
    parse.mockRestore();
  }
});

test('a check asking for the table bounds of a model whose facts are kept does not make its graph', async () => {
  const { file, store } = setup();
  keep(store, file, decoded(file));
  useGraphFactsStore(store);
  const handle = await openModel(file);
  const parse = jest.spyOn(JSON, 'parse');
  try {
    expect(tableBoundsOf(handle)).toEqual({ bounds: decoded(file).tableBounds });
    // The header and the bounds only, a few hundred characters; the graph is about 80,000.
    expect(parse.mock.calls.map(([text]) => String(text).length).filter((n) => n > 5000)).toEqual([]);
    expect(readHandleGraph(handle).graph?.inputs.map((i) => i.name)).toEqual(['input_ids', 'attention_mask', 'token_type_ids']);
    expect(parse.mock.calls.map(([text]) => String(text).length).filter((n) => n > 5000)).toHaveLength(1);
  } finally {
    parse.mockRestore();
    useGraphFactsStore(null);
    await handle.close();
  }
});

test('numbers JSON has no word for (NaN, Infinity, -0) come back as they were', () => {
  const { file, store } = setup();
  const facts = decoded(file);
  facts.constants['odd'] = { dtype: 'float32', dims: [4], values: [NaN, Infinity, -Infinity, -0] };
  keep(store, file, facts);
  const found = store.lookup(file);
  expect('facts' in found && found.facts.constants['odd'].values).toEqual([NaN, Infinity, -Infinity, -0]);
  expect('facts' in found && Object.is(found.facts.constants['odd'].values?.[3], -0)).toBe(true);
});

test('facts that would not come back the same are not kept (a name that looks like a tagged number)', () => {
  const { file, store } = setup();
  const facts = decoded(file);
  facts.graph.inputs[0] = { ...facts.graph.inputs[0], name: '\u0000NaN' };
  keep(store, file, facts);
  expect('keep' in store.lookup(file)).toBe(true);
});

test('any write to the model, another file at its path, or another CLI: the kept facts are not used', () => {
  const { file, code, store, dir } = setup();
  const facts = decoded(file);
  const hit = () => 'facts' in store.lookup(file);
  keep(store, file, facts);
  expect(hit()).toBe(true);
  // Rewritten with the same bytes (same size; the change time moves).
  fs.writeFileSync(file, fs.readFileSync(file));
  expect(hit()).toBe(false);
  keep(store, file, facts);
  expect(hit()).toBe(true);
  // Rewritten with its times put back as they were: the inode's change time still tells.
  const before = fs.statSync(file);
  fs.writeFileSync(file, fs.readFileSync(file));
  fs.utimesSync(file, before.atime, before.mtime);
  expect(hit()).toBe(false);
  // Another model moved to the path.
  keep(store, file, facts);
  const other = path.join(dir, 'other.onnx');
  fs.copyFileSync(path.join(models, 'text_embedder_quantized.onnx'), other);
  fs.renameSync(other, file);
  expect(hit()).toBe(false);
  // Another build of the CLI (a store is made once per run).
  keep(store, file, decoded(file));
  expect(hit()).toBe(true);
  fs.appendFileSync(code, '// rebuilt\n');
  const rebuilt = diskFactsStore({ dir: path.join(dir, 'cache'), code, env: {}, settledMs: 0 });
  expect('keep' in (rebuilt as NonNullable<typeof rebuilt>).lookup(file)).toBe(true);
});

// A file system stamps times from a coarse clock: a file written twice within one tick, at the
// same size, keeps its identity. So facts are kept only for a file that has settled.
test('facts of a file changed in the last 2 seconds are not kept', () => {
  const { dir, file } = setup();
  const store = diskFactsStore({ dir: path.join(dir, 'settling'), code: path.join(dir, 'cli.js'), env: {} });
  keep(store as NonNullable<typeof store>, file, decoded(file));
  expect(fs.existsSync(path.join(dir, 'settling'))).toBe(false);
  const old = new Date(Date.now() - 10_000);
  fs.utimesSync(file, old, old);
  // The change time (now, by utimes itself) is what counts.
  expect('keep' in (store as NonNullable<typeof store>).lookup(file)).toBe(true);
});

test('a kept file with a byte changed, cut short or not ours is never used', () => {
  const { file, store, cache } = setup();
  keep(store, file, decoded(file));
  const [kept] = fs.readdirSync(cache).filter((f) => f.endsWith('.json'));
  const at = path.join(cache, kept);
  const good = fs.readFileSync(at);
  const body = good.indexOf(10) + 1;
  for (const bad of [
    Buffer.concat([good.subarray(0, body + 100), Buffer.from([good[body + 100] ^ 1]), good.subarray(body + 101)]),
    good.subarray(0, good.length - 10),
    Buffer.from('not a facts file'),
    Buffer.alloc(0),
  ]) {
    fs.writeFileSync(at, bad);
    expect('keep' in store.lookup(file)).toBe(true);
  }
});

test('at most 32 model paths are kept; a cache folder that cannot be written changes nothing', () => {
  const { dir, store, cache } = setup();
  const facts = decoded(path.join(dir, 'model.onnx'));
  for (let i = 0; i < 40; i++) {
    const file = path.join(dir, `m${i}.onnx`);
    fs.writeFileSync(file, 'x');
    keep(store, file, facts);
  }
  expect(fs.readdirSync(cache).filter((f) => f.endsWith('.json'))).toHaveLength(32);
  const blocked = path.join(dir, 'blocked');
  fs.writeFileSync(blocked, 'a file where the folder would go');
  const file = path.join(dir, 'model.onnx');
  const nowhere = diskFactsStore({ dir: path.join(blocked, 'facts'), code: path.join(dir, 'cli.js'), env: {}, settledMs: 0 });
  const found = nowhere?.lookup(file);
  expect(found && 'keep' in found).toBe(true);
  expect(() => found && 'keep' in found && found.keep(facts)).not.toThrow();
  expect(diskFactsStore({ dir: path.join(dir, 'x'), code: path.join(dir, 'cli.js'), env: { NODE_DISABLE_COMPILE_CACHE: '1' } })).toBeNull();
});

test('facts in a folder other users can write are neither read nor written', () => {
  const { file, store, cache } = setup();
  const facts = decoded(file);
  keep(store, file, facts);
  expect('facts' in store.lookup(file)).toBe(true);
  fs.chmodSync(cache, 0o777);
  const found = store.lookup(file);
  expect('keep' in found).toBe(true);
  const before = fs.readdirSync(cache).map((f) => fs.statSync(path.join(cache, f)).mtimeMs);
  if ('keep' in found) found.keep(facts);
  expect(fs.readdirSync(cache).map((f) => fs.statSync(path.join(cache, f)).mtimeMs)).toEqual(before);
});

describe('the CLI', () => {
  const home = path.join(tmp, 'home');
  const dir = path.join(tmp, 'cli');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'embedder.onnx');
  const check = (env: NodeJS.ProcessEnv = {}) => {
    const { NODE_DISABLE_COMPILE_CACHE: _off, ...base } = process.env;
    const r = spawnSync(process.execPath, [bin, 'check', file, '--batch-sizes', '1,2,3', '--json'], { encoding: 'utf8', env: { ...base, XDG_CACHE_HOME: home, ...env } });
    expect(r.stderr).toBe('');
    const { timing: _t, ...report } = JSON.parse(r.stdout);
    return report;
  };
  // Facts are kept only for a file unchanged for 2 seconds.
  const settle = () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2100);
  const kept = () => (fs.existsSync(path.join(home, 'batchproof', 'facts')) ? fs.readdirSync(path.join(home, 'batchproof', 'facts')) : []);

  test('keeps a text model\'s facts on its first run and gives the same report from them', () => {
    fs.copyFileSync(path.join(models, 'text_embedder.onnx'), file);
    settle();
    const uncached = check({ NODE_DISABLE_COMPILE_CACHE: '1' });
    expect(kept()).toEqual([]);
    expect(check()).toEqual(uncached);
    expect(kept()).toHaveLength(1);
    expect(check()).toEqual(uncached);
    expect(uncached.padding.tested).toBe(true);
  });

  test('another model copied over the file is checked as itself, not from the facts of the one before', () => {
    fs.copyFileSync(path.join(models, 'text_embedder.onnx'), file);
    settle();
    check();
    // The facts of the first were kept (this test would prove nothing otherwise).
    const before = fs.readdirSync(path.join(home, 'batchproof', 'facts')).map((f) => fs.statSync(path.join(home, 'batchproof', 'facts', f)).mtimeMs);
    expect(before).toHaveLength(1);
    fs.copyFileSync(path.join(models, 'text_embedder_quantized.onnx'), file);
    const fresh = check({ NODE_DISABLE_COMPILE_CACHE: '1' });
    expect(check()).toEqual(fresh);
    expect(fresh.diagnosis.map((d: { kind: string }) => d.kind)).toContain('dynamic-quantization');
  });
});
