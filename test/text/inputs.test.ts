/**
 * Inputs that need no flags: integer inputs are synthesized inside the tables the graph shows
 * them indexing, positions run 0..len-1, masks are ones, and the batch axis is the dim named
 * batch. Real models built with buildModel, run through real onnxruntime.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ort from 'onnxruntime-node';
import { checkBatchInvariance, formatReport } from '../../src';
import { encodeNpz } from '../../src/io';
import { prepareInputs } from '../../src/inputs/prepare';
import { inputRole, type SynthesisFact } from '../../src/inputs/samples';
import { graphOf, openModel, readHandleGraph } from '../../src/runtime/handle';
import { DataType } from '../../src/onnx/proto';
import { synthesisLine } from '../../src/report/synthesis-text';
import { buildModel, invariantModel, seededFloats, type NodeSpec, type TensorSpec, type ValueSpec } from '../helpers/models';

const D = 4;
const WORDS = 50;
const SEQ = 16; // batchproof's default size for a symbolic dim
const f32 = (name: string, dims: number[], data: ArrayLike<number>): TensorSpec => ({ name, dtype: 'float32', dims, data });
const i64 = (name: string, dims: number[], data: number[]): TensorSpec => ({ name, dtype: 'int64', dims, data });
const sizes = { batchSizes: [1, 2, 3] };

/**
 * A BERT-like embedding fragment: input_ids -> Cast -> Cast -> Gather(word, 50 rows);
 * token_type_ids (int32) -> Cast -> Gather(type, 2 rows); position_ids -> Add 2 -> Gather(pos,
 * SEQ + 2 rows) as RoBERTa offsets its positions; a masked mean over the real tokens. The table
 * names say nothing: bounds come from the graph.
 */
function bertLike(): Uint8Array {
  const bs: ValueSpec['shape'] = ['batch', 'sequence'];
  return buildModel({
    inputs: [
      { name: 'input_ids', dtype: 'int64', shape: bs },
      { name: 'attention_mask', dtype: 'int64', shape: bs },
      { name: 'token_type_ids', dtype: 'int32', shape: bs },
      { name: 'position_ids', dtype: 'int64', shape: bs },
    ],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['batch', D] }],
    initializers: [
      f32('t_a', [WORDS, D], seededFloats(WORDS * D, 1)),
      f32('t_b', [2, D], seededFloats(2 * D, 2)),
      f32('t_c', [SEQ + 2, D], seededFloats((SEQ + 2) * D, 3)),
      i64('two', [], [2]),
      i64('axes_last', [1], [2]),
      i64('axes_seq', [1], [1]),
    ],
    nodes: [
      { op: 'Cast', inputs: ['input_ids'], outputs: ['ids32'], attrs: { to: DataType.INT32 } },
      { op: 'Cast', inputs: ['ids32'], outputs: ['ids64'], attrs: { to: DataType.INT64 } },
      { op: 'Gather', inputs: ['t_a', 'ids64'], outputs: ['tok'], attrs: { axis: 0 }, name: '/embeddings/word/Gather' },
      { op: 'Cast', inputs: ['token_type_ids'], outputs: ['types64'], attrs: { to: DataType.INT64 } },
      { op: 'Gather', inputs: ['t_b', 'types64'], outputs: ['typ'], attrs: { axis: 0 }, name: '/embeddings/type/Gather' },
      { op: 'Add', inputs: ['position_ids', 'two'], outputs: ['pos2'] },
      { op: 'Gather', inputs: ['t_c', 'pos2'], outputs: ['pos'], attrs: { axis: 0 }, name: '/embeddings/pos/Gather' },
      { op: 'Add', inputs: ['tok', 'typ'], outputs: ['e1'] },
      { op: 'Add', inputs: ['e1', 'pos'], outputs: ['emb'] },
      { op: 'Cast', inputs: ['attention_mask'], outputs: ['mask_f'], attrs: { to: DataType.FLOAT } },
      { op: 'Unsqueeze', inputs: ['mask_f', 'axes_last'], outputs: ['mask3'] },
      { op: 'Mul', inputs: ['emb', 'mask3'], outputs: ['masked'] },
      { op: 'ReduceSum', inputs: ['masked', 'axes_seq'], outputs: ['total'], attrs: { keepdims: 0 } },
      { op: 'ReduceSum', inputs: ['mask3', 'axes_seq'], outputs: ['count'], attrs: { keepdims: 0 } },
      { op: 'Div', inputs: ['total', 'count'], outputs: ['y'] },
    ],
  });
}

/** ids [batch, seq] -> nodes -> Gather(s) -> mean -> y [batch, D]: a one-input model around an ids path. */
function idsModel(nodes: NodeSpec[], initializers: TensorSpec[], out = 'emb', dtype = 'int64'): Uint8Array {
  return buildModel({
    inputs: [{ name: 'ids', dtype, shape: ['batch', 'seq'] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['batch', D] }],
    initializers,
    nodes: [...nodes, { op: 'ReduceMean', inputs: [out], outputs: ['y'], attrs: { axes: [1], keepdims: 0 } }],
  });
}

async function factsOf(model: Uint8Array | string | ort.InferenceSession, options = {}): Promise<Record<string, SynthesisFact>> {
  const handle = await openModel(model);
  try {
    return (await prepareInputs(handle, options)).synthesis;
  } finally {
    await handle.close();
  }
}

/** Every value the synthesized pool gives `input` for samples 0..n-1. */
async function valuesOf(model: Uint8Array, input: string, n = 8): Promise<number[][]> {
  const handle = await openModel(model);
  try {
    const prepared = await prepareInputs(handle, {});
    const spec = prepared.specs.find((s) => s.name === input)!;
    return Array.from({ length: n }, (_, i) => Array.from(prepared.pool.sample(spec, i) as ArrayLike<number | bigint>, Number));
  } finally {
    await handle.close();
  }
}

describe('ids stay inside the tables the graph shows them indexing', () => {
  test("today's bug: ids below the default vocab 100 overflow the 2-row type table in onnxruntime itself", async () => {
    // What batchproof fed before: token_type_ids up to 99. onnxruntime refuses it.
    const session = await ort.InferenceSession.create(bertLike(), { logSeverityLevel: 4 });
    const ones = (v: number) => new ort.Tensor('int64', BigInt64Array.from({ length: SEQ }, () => BigInt(v)), [1, SEQ]);
    const positions = new ort.Tensor('int64', BigInt64Array.from({ length: SEQ }, (_, i) => BigInt(i)), [1, SEQ]);
    const feeds = (type: number) => ({
      input_ids: ones(3),
      attention_mask: ones(1),
      token_type_ids: new ort.Tensor('int32', Int32Array.from({ length: SEQ }, () => type), [1, SEQ]),
      position_ids: positions,
    });
    await expect(session.run(feeds(1))).resolves.toBeDefined();
    await expect(session.run(feeds(57))).rejects.toThrow(/out of (data )?bounds/i);
    await session.release();
  });

  test('a BERT-like model runs with no flags: ids within the vocab, types within 2, positions 0..len-1, masks of ones', async () => {
    const report = await checkBatchInvariance(bertLike(), sizes);
    expect(['invariant', 'within-tolerance']).toContain(report.verdict);
    expect(report.model.inputs.map((i) => i.batchAxis)).toEqual([0, 0, 0, 0]);

    const facts = await factsOf(bertLike());
    expect(facts).toEqual({
      input_ids: { kind: 'ids', low: 0, high: WORDS, table: { node: '/embeddings/word/Gather', initializer: 't_a', rows: WORDS } },
      attention_mask: { kind: 'mask' },
      token_type_ids: { kind: 'ids', low: 0, high: 2, table: { node: '/embeddings/type/Gather', initializer: 't_b', rows: 2 } },
      position_ids: { kind: 'positions', axis: 1, table: { node: '/embeddings/pos/Gather', initializer: 't_c', rows: SEQ + 2 } },
    });
    expect(JSON.parse(JSON.stringify(facts))).toEqual(facts); // plain JSON

    const ids = (await valuesOf(bertLike(), 'input_ids')).flat();
    expect(Math.min(...ids)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...ids)).toBeLessThan(WORDS);
    expect(Math.max(...ids)).toBeGreaterThan(WORDS / 2); // the whole table is used, not the old 0..99 cut short
    const types = (await valuesOf(bertLike(), 'token_type_ids')).flat();
    expect(new Set(types)).toEqual(new Set([0, 1]));
    for (const p of await valuesOf(bertLike(), 'position_ids', 3)) expect(p).toEqual(Array.from({ length: SEQ }, (_, i) => i));
    for (const m of await valuesOf(bertLike(), 'attention_mask', 3)) expect(new Set(m)).toEqual(new Set([1]));
  });

  test('vocab narrows the range; a vocab larger than the table is refused in one line naming it', async () => {
    const facts = await factsOf(bertLike(), { vocab: 20 });
    expect(facts.input_ids).toMatchObject({ kind: 'ids', low: 0, high: 20 });
    expect(facts.token_type_ids).toMatchObject({ kind: 'ids', high: 2 });
    await expect(checkBatchInvariance(bertLike(), { ...sizes, vocab: 100 })).rejects.toThrow(
      /^vocab \(CLI --vocab\) 100 is larger than the model's table: input 'input_ids' indexes 't_a' \(50 rows, \/embeddings\/word\/Gather\), so ids from 50 up fail onnxruntime's Gather; use vocab 50 or less \(CLI --vocab 50\)/,
    );
    await expect(checkBatchInvariance(bertLike(), { ...sizes, vocab: 50 })).resolves.toBeDefined();
  });

  test('the tightest table wins; Add and Sub of a constant shift the bound; reshapes and casts pass ids through', async () => {
    const tables = [f32('big', [WORDS, D], seededFloats(WORDS * D, 4)), f32('small', [30, D], seededFloats(30 * D, 5))];
    const two = idsModel(
      [
        { op: 'Gather', inputs: ['big', 'ids'], outputs: ['a'], attrs: { axis: 0 }, name: 'G_big' },
        { op: 'Flatten', inputs: ['ids'], outputs: ['flat'], attrs: { axis: 1 } },
        { op: 'Identity', inputs: ['flat'], outputs: ['flat2'] },
        { op: 'Gather', inputs: ['small', 'flat2'], outputs: ['b'], attrs: { axis: 0 }, name: 'G_small' },
        { op: 'Add', inputs: ['a', 'b'], outputs: ['emb'] },
      ],
      tables,
    );
    expect((await factsOf(two)).ids).toEqual({ kind: 'ids', low: 0, high: 30, table: { node: 'G_small', initializer: 'small', rows: 30 } });

    // (ids + 1..5 per position) indexes 50 rows: ids < 45. (ids - 3) must stay >= 0: ids >= 3.
    const shifted = idsModel(
      [
        { op: 'Unsqueeze', inputs: ['ids', 'axes'], outputs: ['u'] },
        { op: 'Squeeze', inputs: ['u', 'axes'], outputs: ['s'] },
        { op: 'Add', inputs: ['offsets', 's'], outputs: ['plus'] },
        { op: 'Gather', inputs: ['big', 'plus'], outputs: ['a'], attrs: { axis: 0 }, name: 'G_plus' },
        { op: 'Sub', inputs: ['ids', 'three'], outputs: ['minus'] },
        { op: 'Gather', inputs: ['big', 'minus'], outputs: ['b'], attrs: { axis: 0 }, name: 'G_minus' },
        { op: 'Add', inputs: ['a', 'b'], outputs: ['emb'] },
      ],
      [tables[0], i64('offsets', [SEQ], Array.from({ length: SEQ }, (_, i) => 1 + (i % 5))), i64('three', [], [3]), i64('axes', [1], [2])],
    );
    expect((await factsOf(shifted)).ids).toEqual({ kind: 'ids', low: 3, high: WORDS - 5, table: { node: 'G_plus', initializer: 'big', rows: WORDS } });
    const values = (await valuesOf(shifted, 'ids')).flat();
    expect(Math.min(...values)).toBeGreaterThanOrEqual(3);
    expect(Math.max(...values)).toBeLessThan(WORDS - 5);
    // The same shifts through a real run: no Gather out of bounds.
    await expect(checkBatchInvariance(shifted, sizes)).resolves.toMatchObject({ verdict: expect.stringMatching(/invariant|within-tolerance/) });
  });

  test('a table held by a Constant node, gathered on another axis, or reached through Reshape and Expand', async () => {
    const constant = idsModel(
      [
        { op: 'Constant', inputs: [], outputs: ['table'], attrs: { value: { t: f32('', [7, D], seededFloats(7 * D, 6)) } } },
        { op: 'Reshape', inputs: ['ids', 'shape'], outputs: ['r'] },
        { op: 'Expand', inputs: ['r', 'ones'], outputs: ['e'] },
        { op: 'Gather', inputs: ['table', 'e'], outputs: ['emb'], attrs: { axis: 0 }, name: 'G_const' },
      ],
      [i64('shape', [2], [1, -1]), i64('ones', [2], [1, 1])],
    );
    // Reshape to [1, -1] folds the batch: fine for the table bound (the model runs at batch 1 only,
    // so no batch run is made here; the bound is what matters).
    expect((await factsOf(constant)).ids).toEqual({ kind: 'ids', low: 0, high: 7, table: { node: 'G_const', initializer: 'table', rows: 7 } });

    // Gather on axis 1 of a [D, 9] table: 9 is the bound, not its first dim.
    const axisOne = idsModel(
      [
        { op: 'Gather', inputs: ['tT', 'ids'], outputs: ['g'], attrs: { axis: 1 }, name: 'G_axis1' },
        { op: 'Transpose', inputs: ['g'], outputs: ['emb'], attrs: { perm: [1, 2, 0] } },
      ],
      [f32('tT', [D, 9], seededFloats(9 * D, 7))],
    );
    expect((await factsOf(axisOne)).ids).toMatchObject({ high: 9, table: { rows: 9 } });
    await expect(checkBatchInvariance(axisOne, sizes)).resolves.toBeDefined();
  });

  test('no table in the graph: the vocab default, and the fact says so', async () => {
    // ids used as data (gathered from), and as indices of a computed (non-constant) tensor.
    const noTable = idsModel(
      [
        { op: 'Cast', inputs: ['ids'], outputs: ['f'], attrs: { to: DataType.FLOAT } },
        { op: 'Unsqueeze', inputs: ['f', 'axes'], outputs: ['fu'] },
        { op: 'Mul', inputs: ['fu', 'w'], outputs: ['emb'] },
        { op: 'Gather', inputs: ['ids', 'zero'], outputs: ['g'], attrs: { axis: 1 } },
        { op: 'Shape', inputs: ['ids'], outputs: ['shape'] },
        { op: 'Gather', inputs: ['shape', 'ids'], outputs: ['h'], attrs: { axis: 0 } },
      ],
      [f32('w', [D], [1, 2, 3, 4]), i64('zero', [], [0]), i64('axes', [1], [2])],
      'emb',
    );
    const facts = await factsOf(noTable);
    expect(facts.ids).toEqual({ kind: 'ids', low: 0, high: 100, table: null, note: 'no table found in the graph: ids below the vocab default 100 (set vocab; CLI --vocab N)' });
    expect((await factsOf(noTable, { vocab: 7 })).ids).toEqual({ kind: 'ids', low: 0, high: 7, table: null, note: 'no table found in the graph: ids below vocab 7' });

    // A bare InferenceSession has no graph to read: the note says why.
    const session = await ort.InferenceSession.create(bertLike());
    const bare = await factsOf(session);
    expect(bare.token_type_ids).toMatchObject({ kind: 'ids', high: 100, table: null });
    expect((bare.token_type_ids as { note: string }).note).toMatch(/^the model came as an InferenceSession, whose graph batchproof cannot read \(pass its path or bytes\): ids below the vocab default 100/);
    await session.release();
  });

  test('small int dtypes stay in their range; user samples are described, with the bounds the model allows', async () => {
    const tables = [f32('big', [300, D], seededFloats(300 * D, 8))];
    const int8 = idsModel(
      [
        { op: 'Cast', inputs: ['ids'], outputs: ['i'], attrs: { to: DataType.INT64 } },
        { op: 'Gather', inputs: ['big', 'i'], outputs: ['emb'], attrs: { axis: 0 }, name: 'G' },
      ],
      tables,
      'emb',
      'int8',
    );
    expect((await factsOf(int8)).ids).toMatchObject({ kind: 'ids', low: 0, high: 128 });

    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'batchproof-text-inputs-'));
    try {
      const n = 6;
      const data = (f: (i: number) => number) => BigInt64Array.from({ length: n * SEQ }, (_, i) => BigInt(f(i)));
      const npz = path.join(tmp, 'samples.npz');
      fs.writeFileSync(npz, encodeNpz({
        input_ids: { dtype: 'int64', dims: [n, SEQ], data: data((i) => (i * 7) % WORDS) },
        attention_mask: { dtype: 'int64', dims: [n, SEQ], data: data(() => 1) },
        token_type_ids: { dtype: 'int32', dims: [n, SEQ], data: Int32Array.from({ length: n * SEQ }, (_, i) => i % 2) },
        position_ids: { dtype: 'int64', dims: [n, SEQ], data: data((i) => i % SEQ) },
      }));
      const facts = await factsOf(bertLike(), { inputs: npz });
      expect(facts.input_ids).toEqual({ kind: 'user', source: npz, role: 'ids', low: 0, high: WORDS, table: { node: '/embeddings/word/Gather', initializer: 't_a', rows: WORDS } });
      expect(facts.attention_mask).toEqual({ kind: 'user', source: npz, role: 'mask' });
      expect(facts.position_ids).toMatchObject({ kind: 'user', role: 'positions', axis: 1 });
      expect(Object.values(facts).map(inputRole)).toEqual(['ids', 'mask', 'ids', 'positions']);
      // The user's own vocab is not refused for samples it does not make.
      await expect(factsOf(bertLike(), { inputs: npz, vocab: 1000 })).resolves.toBeDefined();
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  test('positions longer than their table are one line naming the dim to shorten', async () => {
    const model = buildModel({
      inputs: [{ name: 'position_ids', dtype: 'int64', shape: ['batch', 'seq'] }, { name: 'x', dtype: 'float32', shape: ['batch', 'seq', D] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: ['batch', 'seq', D] }],
      initializers: [f32('pos', [8, D], seededFloats(8 * D, 9))],
      nodes: [
        { op: 'Gather', inputs: ['pos', 'position_ids'], outputs: ['p'], attrs: { axis: 0 }, name: 'G_pos' },
        { op: 'Add', inputs: ['x', 'p'], outputs: ['y'] },
      ],
    });
    await expect(checkBatchInvariance(model, sizes)).rejects.toThrow(/^input 'position_ids' holds positions 0\.\.15, but the table it indexes, 'pos' \(G_pos\), allows 0\.\.7; set a shorter sequence with --dim \(e\.g\. --dim seq=8\)/);
    const ok = await checkBatchInvariance(model, { ...sizes, dims: { seq: 8 } });
    expect(['invariant', 'within-tolerance']).toContain(ok.verdict);
  });

  test('the graph is read once per handle, and only for models with integer inputs', async () => {
    const handle = await openModel(bertLike());
    const first = readHandleGraph(handle);
    expect(first.graph?.nodes.length).toBeGreaterThan(5);
    expect(readHandleGraph(handle)).toBe(first);
    expect(graphOf(handle)).toBe(first.graph);
    await handle.close();
    const session = await ort.InferenceSession.create(invariantModel());
    const bare = await openModel(session);
    expect(graphOf(bare)).toBeNull();
    await session.release();
  });
});

describe('the line for people', () => {
  test('says how each input was made', async () => {
    const facts = await factsOf(bertLike());
    expect(synthesisLine(Object.entries(facts).map(([name, synthesis]) => ({ name, synthesis })))).toBe(
      'inputs: input_ids ids in [0, 50) (table t_a, 50 rows, /embeddings/word/Gather), attention_mask mask (1 on tokens, 0 on pads), ' +
        'token_type_ids ids in [0, 2) (table t_b, 2 rows, /embeddings/type/Gather), position_ids positions 0..len-1 (table t_c, 18 rows, /embeddings/pos/Gather)',
    );
    expect(synthesisLine([{ name: 'x', synthesis: { kind: 'floats', range: [-1, 1] } }, { name: 'sr', synthesis: { kind: 'const' } }])).toBe(
      'inputs: x floats in [-1, 1), sr shared by the batch (const)',
    );
    const table = { node: 'G', initializer: 'word', rows: 50 };
    expect(synthesisLine([
      { name: 'input_ids', synthesis: { kind: 'user', source: 'texts.npz', role: 'ids', low: 0, high: 50, table } },
      { name: 'attention_mask', synthesis: { kind: 'user', source: 'texts.npz', role: 'mask' } },
    ])).toBe('inputs: input_ids ids from texts.npz (table word allows [0, 50)), attention_mask mask from texts.npz');
    expect(synthesisLine([{ name: 'ids', synthesis: { kind: 'ids', low: 0, high: 100, table: null, note: 'no table found in the graph: ids below the vocab default 100 (set vocab)' } }])).toBe(
      'inputs: ids ids in [0, 100) (vocab default, set vocab: no table found in the graph)',
    );
  });
});

describe('the batch axis is the dim named batch', () => {
  /** A time-major GRU: x [time, batch, 24] -> Y [time, 1, batch, 8] (layout 0, onnxruntime's default). */
  function timeMajorGru(dims: [string, string] = ['time', 'batch']): Uint8Array {
    const H = 8;
    const I = 24;
    return buildModel({
      opset: 14,
      inputs: [{ name: 'x', dtype: 'float32', shape: [dims[0], dims[1], I] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [dims[0], 1, dims[1], H] }],
      initializers: [
        f32('W', [1, 3 * H, I], seededFloats(3 * H * I, 11).map((v) => v * 0.3)),
        f32('R', [1, 3 * H, H], seededFloats(3 * H * H, 12).map((v) => v * 0.3)),
        f32('B', [1, 6 * H], seededFloats(6 * H, 13)),
      ],
      nodes: [{ op: 'GRU', inputs: ['x', 'W', 'R', 'B'], outputs: ['y'], attrs: { hidden_size: H, layout: 0 } }],
    });
  }

  test('a time-major GRU runs with no flags on batch axis 1', async () => {
    const report = await checkBatchInvariance(timeMajorGru(), sizes);
    expect(report.model.inputs[0].batchAxis).toBe(1);
    expect(report.model.outputs[0].batchAxis).toBe(2);
    expect(['invariant', 'within-tolerance']).toContain(report.verdict);
  });

  test("generic dims (torch's export without dynamic_axes names): the report names the guessed batch axis and the --shape that marks another", async () => {
    const guessed = "batch axis guessed: axis 0 of 'x' [unk__1, unk__2, 24], the first dynamic dim, as no dim name says batch; if the batch is another axis, mark it with N: --shape x=unk__1,N,24 (API: shapes: { x: ['unk__1', 'N', 24] })";
    const report = await checkBatchInvariance(timeMajorGru(['unk__1', 'unk__2']), sizes);
    // Batched on its time axis, the recurrence carries one 'sample' into the next: a false leak.
    expect(report.model.inputs[0].batchAxis).toBe(0);
    expect(report.causes).toContain('leakage');
    expect(report.notes).toContain(guessed);
    expect(formatReport(report, { color: false })).toContain(`note: ${guessed}`);
    // The cure the line gives works; with it, or with a dim named batch, nothing was guessed.
    const marked = await checkBatchInvariance(timeMajorGru(['unk__1', 'unk__2']), { ...sizes, shapes: { x: ['unk__1', 'N', 24] } });
    expect(marked.model.inputs[0].batchAxis).toBe(1);
    expect(['invariant', 'within-tolerance']).toContain(marked.verdict);
    for (const r of [marked, await checkBatchInvariance(timeMajorGru(), sizes)]) expect(r.notes.filter((n) => n.startsWith('batch axis guessed'))).toEqual([]);
    // One dynamic dim leaves nothing to guess.
    expect((await checkBatchInvariance(invariantModel(), sizes)).notes.filter((n) => n.startsWith('batch axis guessed'))).toEqual([]);
  });

  test('names win over position; ambiguous names are one line with the --shape cure', async () => {
    const relu = (shapes: ValueSpec['shape'][]) =>
      buildModel({
        inputs: shapes.map((shape, i) => ({ name: `x${i}`, dtype: 'float32', shape })),
        outputs: shapes.map((shape, i) => ({ name: `y${i}`, dtype: 'float32', shape })),
        nodes: shapes.map((_, i) => ({ op: 'Relu', inputs: [`x${i}`], outputs: [`y${i}`] })),
      });
    for (const [name, axis] of [['batch_size', 1], ['N', 1], ['B', 1], ['bs', 1], ['BatchDim', 1], ['n', 1]] as const) {
      const handle = await openModel(relu([['seq', name, 4]]));
      expect((await prepareInputs(handle, {})).specs[0].batchAxis).toBe(axis);
      await handle.close();
    }
    await expect(checkBatchInvariance(relu([['batch', 'N', 4]]), sizes)).rejects.toThrow(
      /^input 'x0' \[batch, N, 4\] has several dims whose names say batch \('batch' at axis 0, 'N' at axis 1\), so its batch axis is ambiguous; mark it with --shape x0=N,16,4/,
    );
    await expect(checkBatchInvariance(relu([['batch', 4], ['batch_size', 4]]), sizes)).rejects.toThrow(
      /^the inputs disagree on the batch dim: 'x0' on 'batch' \(axis 0\), 'x1' on 'batch_size' \(axis 0\); mark each input's batch axis with N in --shape \(e\.g\. --shape x1=N,4\)/,
    );
    await expect(checkBatchInvariance(relu([['batch', 4], ['time', 4]]), sizes)).rejects.toThrow(/^the inputs disagree on the batch dim: 'x0' on 'batch' \(axis 0\), 'x1' on 'time' \(axis 0\)/);
    // The cure works.
    await expect(checkBatchInvariance(relu([['batch', 4], ['batch_size', 4]]), { ...sizes, shapes: { x1: ['N', 4] } })).resolves.toBeDefined();
  });
});
