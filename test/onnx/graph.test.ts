import { BadInputError } from '../../src/errors';
import { readGraph, type GraphAttribute } from '../../src/onnx/graph';
import { decodeModel, encodeModel } from '../../src/onnx/proto';
import {
  batchNormTrainingModel,
  buildModel,
  int64Model,
  invariantModel,
  leakyModel,
  multiOutputModel,
  positionModel,
  twoBatchAxesAmbiguousModel,
} from '../helpers/models';

const relu = (input: string, output: string) => ({ op: 'Relu', inputs: [input], outputs: [output] });

describe('readGraph on built models', () => {
  test('invariantModel: all the facts', () => {
    expect(readGraph(invariantModel())).toEqual({
      opset: 17,
      opsets: { '': 17 },
      irVersion: 8,
      inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 8] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 4] }],
      initializers: ['W', 'b'],
      nodes: [
        { name: 'MatMul_0', opType: 'MatMul', domain: '', inputs: ['x', 'W'], outputs: ['xw'], attributes: {} },
        { name: 'Add_1', opType: 'Add', domain: '', inputs: ['xw', 'b'], outputs: ['z'], attributes: {} },
        { name: 'Relu_2', opType: 'Relu', domain: '', inputs: ['z'], outputs: ['y'], attributes: {} },
      ],
      reordered: false,
    });
  });

  test('attributes come back typed: ints, floats, int lists', () => {
    expect(readGraph(leakyModel()).nodes[0]?.attributes).toEqual({ axes: [0], keepdims: 1 });
    const bn = readGraph(batchNormTrainingModel());
    expect(bn.opset).toBe(15);
    const attrs = bn.nodes[0]?.attributes as Record<string, number>;
    expect(attrs.training_mode).toBe(1);
    expect(attrs.epsilon).toBeCloseTo(1e-5, 10);
    expect(attrs.momentum).toBeCloseTo(0.9, 6);
    expect(bn.nodes[0]?.outputs).toEqual(['y', 'running_mean', 'running_var']);
    expect(bn.outputs.map((o) => o.name)).toEqual(['y']);
    expect(readGraph(positionModel()).nodes.find((n) => n.opType === 'Cast')?.attributes).toEqual({ to: 1 });
  });

  test('dtype names follow onnxruntime-node', () => {
    expect(readGraph(int64Model()).inputs).toEqual([{ name: 'ids', dtype: 'int64', shape: ['N', 'seq'] }]);
    expect(readGraph(multiOutputModel()).outputs).toEqual([
      { name: 'y', dtype: 'float32', shape: ['N', 4] },
      { name: 'label', dtype: 'int64', shape: ['N'] },
    ]);
    expect(readGraph(twoBatchAxesAmbiguousModel()).outputs[0]?.shape).toEqual(['N', 'N']);
    const kinds = buildModel({
      inputs: ['float16', 'float64', 'int32', 'int8', 'uint8', 'bool'].map((dtype, i) => ({ name: `i${i}`, dtype, shape: [null, 2] })),
      outputs: [{ name: 'o', dtype: 'float32' }],
      nodes: [{ op: 'Cast', inputs: ['i0'], outputs: ['o'], attrs: { to: 1 } }],
    });
    const facts = readGraph(kinds);
    expect(facts.inputs.map((v) => v.dtype)).toEqual(['float16', 'float64', 'int32', 'int8', 'uint8', 'bool']);
    expect(facts.inputs[0]?.shape).toEqual([null, 2]); // an unnamed dynamic dim
    expect(facts.outputs[0]?.shape).toBeNull(); // rank not declared
  });

  test('initializers listed among the inputs (IR < 4 style) are not feeds', () => {
    const bytes = buildModel({
      irVersion: 3,
      inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 2] }, { name: 'w', dtype: 'float32', shape: [2] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 2] }],
      initializers: [{ name: 'w', dtype: 'float32', dims: [2], data: [1, 2] }],
      nodes: [{ op: 'Mul', inputs: ['x', 'w'], outputs: ['y'] }],
    });
    const facts = readGraph(bytes);
    expect(facts.inputs.map((v) => v.name)).toEqual(['x']);
    expect(facts.initializers).toEqual(['w']);
  });

  test('nodes out of order are sorted topologically (file order kept among ready nodes)', () => {
    const bytes = buildModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 2] }],
      outputs: [{ name: 'd', dtype: 'float32' }],
      nodes: [
        { op: 'Add', inputs: ['b', 'c'], outputs: ['d'], name: 'add' },
        relu('a', 'b'),
        relu('x', 'a'),
        { op: 'Neg', inputs: ['x'], outputs: ['c'], name: 'neg' },
      ],
    });
    const facts = readGraph(bytes);
    expect(facts.reordered).toBe(true);
    expect(facts.nodes.map((n) => n.outputs[0])).toEqual(['a', 'b', 'c', 'd']);
  });

  test('a subgraph reading an outer value puts its node after that value', () => {
    const branch = (op: string) => ({
      g: {
        inputs: [],
        outputs: [{ name: `${op}_out`, dtype: 'float32' }],
        nodes: [{ op, inputs: ['a'], outputs: [`${op}_out`] }],
      },
    });
    const bytes = buildModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 2] }, { name: 'cond', dtype: 'bool', shape: [] }],
      outputs: [{ name: 'y', dtype: 'float32' }],
      nodes: [
        { op: 'If', inputs: ['cond'], outputs: ['y'], attrs: { then_branch: branch('Identity'), else_branch: branch('Neg') } },
        relu('x', 'a'),
      ],
    });
    const facts = readGraph(bytes);
    expect(facts.reordered).toBe(true);
    expect(facts.nodes.map((n) => n.opType)).toEqual(['Relu', 'If']);
    const then = facts.nodes[1]?.attributes.then_branch as GraphAttribute;
    expect(then).toMatchObject({ kind: 'graph', inputs: [], outputs: ['Identity_out'] });
    expect(then.nodes[0]).toMatchObject({ opType: 'Identity', inputs: ['a'] });
  });

  test('a sorted file is left as it is', () => {
    expect(readGraph(positionModel()).reordered).toBe(false);
  });
});

describe('readGraph rejects what is not a usable model, in one line', () => {
  function rejection(bytes: Uint8Array, source = 'model.onnx'): BadInputError {
    try {
      readGraph(bytes, source);
    } catch (err) {
      expect(err).toBeInstanceOf(BadInputError);
      const e = err as BadInputError;
      expect(e.message).not.toMatch(/\n/);
      expect(e.message.startsWith(`${source}: `)).toBe(true);
      expect(e.message).toContain('; '); // problem; fix
      return e;
    }
    throw new Error('readGraph accepted the bytes');
  }

  test('empty file', () => {
    expect(rejection(new Uint8Array(0)).message).toMatch(/empty/);
  });

  test('garbage bytes', () => {
    const junk = new Uint8Array(256);
    let s = 12345;
    for (let i = 0; i < junk.length; i++) junk[i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
    expect(rejection(junk).message).toMatch(/not (a valid )?(an )?ONNX model/);
  });

  test('truncated file', () => {
    const bytes = invariantModel();
    for (const cut of [bytes.length - 1, Math.floor(bytes.length / 2), 10]) {
      expect(rejection(bytes.subarray(0, cut)).message).toMatch(/model/);
    }
  });

  test('formats that are plainly something else get a precise fix', () => {
    const text = (s: string) => new TextEncoder().encode(s);
    expect(rejection(text('version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 12\n')).message).toMatch(/git lfs pull/);
    expect(rejection(Uint8Array.from([0x50, 0x4b, 0x03, 0x04, 0, 0, 0, 0])).message).toMatch(/torch\.onnx\.export/);
    expect(rejection(text('<!DOCTYPE html><html>Sign in</html>')).message).toMatch(/HTML/);
    expect(rejection(text('\u0000\u0000\u0000\u0000ORTM....')).message).toMatch(/\.ort/);
  });

  test('the default source name is <bytes>', () => {
    expect(rejection(new Uint8Array(0), '<bytes>').message).toMatch(/^<bytes>: /);
    expect(() => readGraph(new Uint8Array(0))).toThrow(/^<bytes>: /);
  });

  test('a model without an ai.onnx opset', () => {
    const bytes = buildModel({ inputs: [{ name: 'x', dtype: 'float32', shape: [1] }], outputs: [{ name: 'x', dtype: 'float32' }], nodes: [] });
    const model = decodeModel(bytes);
    model.opsetImport = [];
    expect(rejection(encodeModel(model)).message).toMatch(/opset/);
  });

  test('a node reading a value nothing produces', () => {
    const bytes = buildModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: [1] }],
      outputs: [{ name: 'y', dtype: 'float32' }],
      nodes: [{ op: 'Add', inputs: ['x', 'ghost'], outputs: ['y'] }],
    });
    expect(rejection(bytes).message).toMatch(/'ghost'/);
  });

  test('a cycle', () => {
    const bytes = buildModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: [1] }],
      outputs: [{ name: 'b', dtype: 'float32' }],
      nodes: [relu('a', 'b'), relu('b', 'a')],
    });
    expect(rejection(bytes).message).toMatch(/cycle/);
  });

  test('a value produced twice', () => {
    const bytes = buildModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: [1] }],
      outputs: [{ name: 'y', dtype: 'float32' }],
      nodes: [relu('x', 'y'), relu('x', 'y')],
    });
    expect(rejection(bytes).message).toMatch(/twice/);
  });

  test('a graph output nothing produces', () => {
    const bytes = buildModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: [1] }],
      outputs: [{ name: 'nope', dtype: 'float32' }],
      nodes: [relu('x', 'y')],
    });
    expect(rejection(bytes).message).toMatch(/'nope'/);
  });
});
