import * as fs from 'fs';
import * as path from 'path';
import * as ort from 'onnxruntime-node';
import { findBatchNorms, batchNormVersion } from '../../src/onnx/batchnorm';
import { readGraph } from '../../src/onnx/graph';
import { exposeOutputs, instrumentModel, spliceModel } from '../../src/onnx/instrument';
import { modelBytes } from '../../src/runtime/model-bytes';
import { AttributeType, DataType, decodeModel, encodeModel, unknownFields, type OnnxModel } from '../../src/onnx/proto';
import { allocateStore, appendInPlace, FIELD, graphFields, lenField, locateGraph, scanFields, spliceGraph, encodeVarint, readVarint } from '../../src/onnx/wire';
import { bigModel, bnModel, invariantModel, seededFloats } from '../helpers/models';

const examples = path.join(__dirname, '..', '..', 'examples', 'models');
const cnn = new Uint8Array(fs.readFileSync(path.join(examples, 'embedding_cnn.onnx')));

/** A decoded model with the graph outputs after the first `keep` removed. */
function withoutAddedOutputs(m: OnnxModel, keep: number): OnnxModel {
  return { ...m, graph: { ...(m.graph as NonNullable<OnnxModel['graph']>), output: (m.graph?.output ?? []).slice(0, keep) } };
}

describe('wire format', () => {
  test('varints round-trip, including lengths above 2^32', () => {
    for (const n of [0, 1, 127, 128, 300, 2 ** 31, 2 ** 35 + 7, Number.MAX_SAFE_INTEGER]) {
      const bytes = encodeVarint(n);
      expect(readVarint(bytes, 0)).toEqual([n, bytes.length]);
    }
  });

  test('scanning a model visits its fields without reading tensor data', () => {
    const loc = locateGraph(cnn);
    expect(loc.field.field).toBe(7);
    const fields = graphFields(cnn, loc);
    const initializers = fields.filter((f) => f.field === FIELD.graph.initializer);
    expect(initializers).toHaveLength(57);
    expect(fields.filter((f) => f.field === FIELD.graph.node)).toHaveLength(57);
  });

  test('a truncated model is one clear line, in the words check uses', () => {
    const truncated = /^m\.onnx: not a valid ONNX model \(protobuf parsing failed: the file is truncated or not a ModelProto\); re-export or re-copy it$/;
    expect(() => locateGraph(cnn.subarray(0, 5000), 'm.onnx')).toThrow(truncated);
    expect(() => readGraph(cnn.subarray(0, 5000), 'm.onnx')).toThrow(truncated);
    expect(() => readGraph(new Uint8Array(0), 'm.onnx')).toThrow(/^m\.onnx: the file is empty; point at an exported \.onnx model$/);
    expect(() => readGraph(Uint8Array.from([0x07, 1, 2, 3]), 'm.onnx')).toThrow(
      /^m\.onnx: not an ONNX model \(the bytes are not an ONNX ModelProto\); export the model with torch\.onnx\.export or check the path$/,
    );
  });
});

describe('exposing intermediates', () => {
  test('every field of the model is kept; only outputs are added', () => {
    const names = readGraph(cnn).nodes.map((n) => n.outputs[0] as string).filter((n) => n !== 'embedding');
    const out = exposeOutputs(cnn, names);
    const before = decodeModel(cnn);
    const after = decodeModel(out);
    expect(after.graph?.output.map((o) => o.name)).toEqual(['embedding', ...names]);
    // Name-only ValueInfo: onnxruntime takes the type from the producing node.
    expect(after.graph?.output[1]).toEqual({ name: names[0] });
    expect(withoutAddedOutputs(after, 1)).toEqual(before);
  });

  test('the original bytes are there untouched: prefix, graph body and suffix', () => {
    const loc = locateGraph(cnn);
    const out = exposeOutputs(cnn, ['/stem/Conv_output_0']);
    const g = loc.field;
    expect(Buffer.from(out.subarray(0, g.start)).equals(Buffer.from(cnn.subarray(0, g.start)))).toBe(true);
    const newLoc = locateGraph(out);
    const body = out.subarray(newLoc.field.valueStart, newLoc.field.valueStart + (g.end - g.valueStart));
    expect(Buffer.from(body).equals(Buffer.from(cnn.subarray(g.valueStart, g.end)))).toBe(true);
    expect(Buffer.from(out.subarray(newLoc.field.end)).equals(Buffer.from(cnn.subarray(g.end)))).toBe(true);
  });

  test('the splice keeps the weights as views of the original bytes (no decode, no copy)', () => {
    const big = bigModel(8);
    const splice = spliceModel(big, { outputs: ['xw', 'h'] });
    const largest = splice.chunks.reduce((a, b) => (b.byteLength > a.byteLength ? b : a));
    expect(largest.byteLength).toBeGreaterThan(8e6);
    expect(largest.buffer).toBe(big.buffer);
    expect(splice.chunks.length).toBeLessThan(8);
    const t0 = performance.now();
    for (let i = 0; i < 20; i++) spliceModel(big, { outputs: ['xw', 'h'] });
    expect((performance.now() - t0) / 20).toBeLessThan(20);
  });

  test('unknown fields (model, graph, node) survive', () => {
    const base = invariantModel();
    // An unknown node field (#15) inside a new node, an unknown graph field (#77), an unknown model field (#99).
    const node = encodeModel({ graph: { node: [{ opType: 'Identity', input: ['y'], output: ['y_copy'], name: 'copy' }] } });
    const nodeBytes = scanFields(node, locateGraph(node).field.valueStart, locateGraph(node).field.end)[0];
    const nodePayload = new Uint8Array([...node.subarray(nodeBytes?.valueStart, nodeBytes?.end), ...lenField(15, new TextEncoder().encode('future'))]);
    const withGraphFields = spliceGraph(base, locateGraph(base), [], [lenField(FIELD.graph.node, nodePayload), lenField(77, new TextEncoder().encode('x'))]).toBytes();
    const fixed = new Uint8Array([...withGraphFields, ...encodeVarint(99 << 3), 42]);
    const unknown = unknownFields(fixed);
    expect(unknown).toEqual(['graph.node[3].#15', 'graph.#77', '#99']);
    const out = exposeOutputs(fixed, ['xw', 'z']);
    expect(unknownFields(out)).toEqual(unknown);
    // And the fields' bytes are the same bytes.
    expect(Buffer.from(out).includes(Buffer.from('future'))).toBe(true);
    expect(out[out.length - 1]).toBe(42);
  });

  test('onnxruntime runs the instrumented model and returns the intermediates', async () => {
    const out = exposeOutputs(invariantModel(), ['xw', 'z', 'y']);
    const s = await ort.InferenceSession.create(out);
    expect(s.outputNames).toEqual(['y', 'xw', 'z']);
    const x = seededFloats(16, 3);
    const r = await s.run({ x: new ort.Tensor('float32', x, [2, 8]) });
    const z = r.z?.data as Float32Array;
    const y = r.y?.data as Float32Array;
    expect(Array.from(y)).toEqual(Array.from(z).map((v) => Math.max(0, v)));
    expect(r.xw?.dims).toEqual([2, 4]);
    await s.release();
  });
});

describe('appending in place (no copy at all)', () => {
  function storeOf(bytes: Uint8Array, head = 16, tail?: number) {
    const store = allocateStore(bytes.byteLength, head, tail);
    store.storage.set(bytes, store.start);
    return store;
  }

  test('the same model as the copying splice, and restore() gives the original back', () => {
    const store = storeOf(cnn);
    const view = store.storage.subarray(store.start, store.end);
    const outputs = ['/stem/Conv_output_0', '/block1/block1.0/Relu_output_0'];
    const expected = spliceModel(cnn, { outputs }).toBytes();
    const done = instrumentModel(view, { outputs }, { store });
    expect(done.inPlace).toBe(true);
    expect(Buffer.from(done.bytes).equals(Buffer.from(expected))).toBe(true);
    // The weights were not moved: same memory.
    expect(done.bytes.buffer).toBe(store.storage.buffer);
    done.release();
    expect(Buffer.from(view).equals(Buffer.from(cnn))).toBe(true);
  });

  test('a length prefix that grows shifts the few bytes before the graph', () => {
    // A graph of under 128 bytes has a 1-byte length; 200 more bytes need 2.
    const tiny = encodeModel({ irVersion: 8, opsetImport: [{ domain: '', version: 17 }], graph: { name: 'g', node: [{ opType: 'Relu', input: ['x'], output: ['y'] }], input: [{ name: 'x' }], output: [{ name: 'y' }] } });
    const loc = locateGraph(tiny);
    expect(loc.field.valueStart - loc.field.start).toBe(2);
    const extra = [lenField(FIELD.graph.docString, new Uint8Array(200).fill(65))];
    const expected = spliceGraph(tiny, loc, [], extra).toBytes();
    const store = storeOf(tiny);
    const done = appendInPlace(store, loc, extra);
    expect(done).not.toBeNull();
    expect(Buffer.from(done?.bytes as Uint8Array).equals(Buffer.from(expected))).toBe(true);
    done?.restore();
    expect(Buffer.from(store.storage.subarray(store.start, store.end)).equals(Buffer.from(tiny))).toBe(true);
    // Without head room for the longer prefix, or tail room for the fields: null (copy instead).
    expect(appendInPlace(storeOf(tiny, 0), loc, extra)).toBeNull();
    expect(appendInPlace(storeOf(tiny, 16, 10), loc, extra)).toBeNull();
  });

  test('models read from a file come in a store, and onnxruntime runs the in-place model', async () => {
    const dir = fs.mkdtempSync(path.join(require('os').tmpdir(), 'bp-store-'));
    const file = path.join(dir, 'm.onnx');
    fs.writeFileSync(file, invariantModel());
    const mb = modelBytes(file);
    expect(mb.store).toBeDefined();
    const done = instrumentModel(mb.bytes, { outputs: ['xw'] }, { store: mb.store });
    expect(done.inPlace).toBe(true);
    const s = await ort.InferenceSession.create(done.bytes);
    done.release();
    expect(s.outputNames).toEqual(['y', 'xw']);
    await s.release();
    expect(Buffer.from(mb.bytes).equals(fs.readFileSync(file))).toBe(true);
  });
});

describe('replacing initializer data', () => {
  test('only the named initializers change; name, dims and the other tensors are kept', () => {
    const m = bnModel().bytes;
    const out = spliceModel(m, { replace: new Map([['bn2.running_mean', { dtype: 'float32', values: [1, 2, 3, 4] }]]) }).toBytes();
    const before = decodeModel(m);
    const after = decodeModel(out);
    const i = before.graph?.initializer.findIndex((t) => t.name === 'bn2.running_mean') as number;
    expect(Array.from(new Float32Array(Uint8Array.from(after.graph?.initializer[i]?.rawData as Uint8Array).buffer))).toEqual([1, 2, 3, 4]);
    expect(after.graph?.initializer[i]).toMatchObject({ name: 'bn2.running_mean', dims: [4], dataType: DataType.FLOAT });
    after.graph?.initializer.splice(i, 1);
    before.graph?.initializer.splice(i, 1);
    expect(after).toEqual(before);
  });

  test('typed and external tensors are rewritten as raw_data of their dtype', () => {
    for (const storage of ['typed', 'external'] as const) {
      const m = bnModel({ storage, dtype: 'float16' }).bytes;
      const out = spliceModel(m, { replace: new Map([['bn1.running_var', { dtype: 'float16', values: [0.5, 1, 2, 4] }]]) }).toBytes();
      const t = decodeModel(out).graph?.initializer.find((x) => x.name === 'bn1.running_var');
      expect(t?.dataLocation ?? 0).toBe(0);
      expect(t?.externalData).toEqual([]);
      expect(t?.int32Data).toEqual([]);
      expect(Array.from(new Uint16Array(Uint8Array.from(t?.rawData as Uint8Array).buffer))).toEqual([0x3800, 0x3c00, 0x4000, 0x4400]);
    }
  });

  test('a missing initializer name is an error', () => {
    expect(() => spliceModel(bnModel().bytes, { replace: new Map([['nope', { dtype: 'float32', values: [1] }]]) })).toThrow(/no initializer named 'nope'/);
  });
});

describe('BatchNormalization facts', () => {
  test('op versions follow the opset', () => {
    expect([6, 7, 8, 9, 13, 14, 15, 21].map(batchNormVersion)).toEqual([6, 7, 7, 9, 9, 14, 15, 15]);
  });

  test('parameters behind Identity nodes and in Constant nodes are found', () => {
    const m = decodeModel(bnModel().bytes);
    const g = m.graph as NonNullable<OnnxModel['graph']>;
    const bn2 = g.node.find((n) => n.name === '/bn2/BatchNormalization') as (typeof g.node)[number];
    const meanInit = g.initializer.find((t) => t.name === 'bn2.running_mean') as (typeof g.initializer)[number];
    // The mean becomes a Constant node's value, read through an Identity.
    g.initializer = g.initializer.filter((t) => t !== meanInit);
    g.node.unshift(
      { name: 'const_mean', opType: 'Constant', input: [], output: ['const_mean_out'], attribute: [{ name: 'value', type: AttributeType.TENSOR, t: meanInit } as never] } as never,
      { name: 'id', opType: 'Identity', input: ['const_mean_out'], output: ['mean_via_identity'], attribute: [] } as never,
    );
    bn2.input[3] = 'mean_via_identity';
    const scan = findBatchNorms(encodeModel(m));
    const mean = scan.batchNorms[1]?.mean.stored;
    expect(mean).toMatchObject({ name: 'mean_via_identity', initializer: null, constantNode: 'const_mean', dims: [4] });
    expect(scan.batchNorms[0]?.mean.stored).toMatchObject({ name: 'bn1.running_mean', initializer: 'bn1.running_mean' });
  });

  test('the exported models: eval and training mode', () => {
    const evalScan = findBatchNorms(cnn);
    expect(evalScan.batchNorms).toHaveLength(11);
    expect(evalScan.batchNorms.every((b) => !b.trainingMode && b.opVersion === 14)).toBe(true);
    const train = findBatchNorms(new Uint8Array(fs.readFileSync(path.join(examples, 'embedding_cnn_train_bn.onnx'))));
    expect(train.batchNorms.every((b) => b.trainingMode)).toBe(true);
    expect(train.batchNorms[0]?.trainingReason).toMatch(/training_mode=1/);
  });
});
