import * as fs from 'fs';
import * as path from 'path';
import { readModel } from '../../src/onnx/graph';
import { constantFacts } from '../../src/onnx/tables';
import { AttributeType, DataType, encodeModel, type OnnxModelInput } from '../../src/onnx/proto';
import { readModelFacts, readModelFactsStrict } from '../../src/onnx/fast-graph';
import * as models from '../helpers/models';
import * as textModels from '../helpers/text-models';

/** What readHandleGraph kept before: readModel + constantFacts. */
function slow(bytes: Uint8Array): unknown {
  const { model, graph } = readModel(bytes, 'm.onnx');
  return { graph, constants: constantFacts(model) };
}

/** The fast path itself (no fallback) must give exactly the slow facts. */
function expectSame(bytes: Uint8Array): void {
  expect(readModelFactsStrict(bytes)).toStrictEqual(slow(bytes));
  expect(readModelFacts(bytes, 'm.onnx')).toStrictEqual(slow(bytes));
}

const EXAMPLES = path.join(__dirname, '../../examples/models');

describe('fast graph reader: the same facts as readModel + constantFacts', () => {
  const files = fs.readdirSync(EXAMPLES).filter((f) => f.endsWith('.onnx'));
  test.each(files)('examples/models/%s', (file) => {
    expectSame(new Uint8Array(fs.readFileSync(path.join(EXAMPLES, file))));
  });

  // Every builder that needs no argument, plus the ones that take a flag.
  const built: [string, Uint8Array][] = [];
  for (const [name, fn] of [...Object.entries(models), ...Object.entries(textModels)]) {
    if (typeof fn !== 'function' || fn.length !== 0 || name === 'bnExpectedStats' || name === 'bnCheckpoint') continue;
    const out = (fn as () => unknown)();
    if (out instanceof Uint8Array) built.push([name, out]);
    else if (out && typeof out === 'object' && (out as { bytes?: unknown }).bytes instanceof Uint8Array) built.push([name, (out as { bytes: Uint8Array }).bytes]);
  }
  built.push(['maskedAttentionModel(true)', textModels.maskedAttentionModel(true)]);
  built.push(['maskedAttentionModel(false)', textModels.maskedAttentionModel(false)]);
  for (const storage of ['raw', 'typed', 'external'] as const) {
    for (const dtype of ['float32', 'float16', 'float64'] as const) built.push([`bnModel ${storage} ${dtype}`, models.bnModel({ storage, dtype }).bytes]);
  }
  test('the builders give models', () => expect(built.length).toBeGreaterThan(20));
  test.each(built)('%s', (_name, bytes) => expectSame(bytes));

  test('Constant nodes in every form, typed and raw initializers, float16, int64 beyond 2^53', () => {
    const T = AttributeType;
    const model: OnnxModelInput = {
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }, { domain: 'com.microsoft', version: 1 }],
      graph: {
        name: 'g',
        input: [
          { name: 'x', type: { tensorType: { elemType: DataType.INT64, shape: { dim: [{ dimParam: 'N' }, { dimValue: -1 }, {}] } } } },
          { name: 's', type: { sequenceType: { elemType: { tensorType: { elemType: DataType.FLOAT } } } } },
          { name: 'W', type: { tensorType: { elemType: DataType.FLOAT } } }, // IR < 4 style: an initializer listed as input
        ],
        output: [{ name: 'y', type: { tensorType: { elemType: DataType.INT64 } } }, { name: 'c7' }],
        initializer: [
          { name: 'W', dims: [2, 3], dataType: DataType.FLOAT, floatData: [1, 2.5, -3, 4, 5, 6] },
          { name: 'h', dims: [2], dataType: DataType.FLOAT16, rawData: new Uint8Array([0, 0x3c, 0, 0xc0]) },
          { name: 'i64', dims: [3], dataType: DataType.INT64, int64Data: [1, -2, 2n ** 62n] },
          { name: 'i64raw', dims: [2], dataType: DataType.INT64, rawData: new Uint8Array(new BigInt64Array([-5n, 2n ** 60n]).buffer) },
          { name: 'u64', dims: [2], dataType: DataType.UINT64, uint64Data: [7, 2n ** 64n - 1n] },
          { name: 'd', dims: [1], dataType: DataType.DOUBLE, doubleData: [0.1] },
          { name: 'i8', dims: [2], dataType: DataType.INT8, int32Data: [-3, 4] },
          { name: 'big', dims: [100], dataType: DataType.FLOAT, rawData: new Uint8Array(400) },
          { name: 'ext', dims: [4], dataType: DataType.FLOAT, dataLocation: 1, externalData: [{ key: 'location', value: 'w.bin' }] },
          { name: 'bad', dims: [3], dataType: DataType.FLOAT, rawData: new Uint8Array(5) },
        ],
        sparseInitializer: [{ values: { name: 'sp', dims: [1], dataType: DataType.FLOAT, floatData: [1] }, indices: { dims: [1], dataType: DataType.INT64, int64Data: [0] }, dims: [10, 10] }],
        node: [
          { name: 'later', opType: 'Add', input: ['c1', 'x'], output: ['y'] }, // out of order: sorted
          { opType: 'Constant', output: ['c1'], attribute: [{ name: 'value', type: T.TENSOR, t: { dims: [1], dataType: DataType.INT64, rawData: new Uint8Array(8).fill(1) } }] },
          { opType: 'Constant', output: ['c2'], attribute: [{ name: 'value_int', type: T.INT, i: -7 }] },
          { opType: 'Constant', output: ['c3'], attribute: [{ name: 'value_ints', type: T.INTS, ints: [1, 2n ** 63n - 1n, -1] }] },
          { opType: 'Constant', output: ['c4'], attribute: [{ name: 'value_float', type: T.FLOAT, f: 0.1 }] },
          { opType: 'Constant', output: ['c5'], attribute: [{ name: 'value_floats', type: T.FLOATS, floats: [1.5, -2] }] },
          { opType: 'Constant', domain: 'ai.onnx', output: ['c6'], attribute: [{ name: 'value_float', f: 2 }] }, // no type: inferred
          { opType: 'Constant', output: ['c7'], attribute: [{ name: 'value_string', type: T.STRING, s: new TextEncoder().encode('héllo') }] },
          { opType: 'Foo', domain: 'com.microsoft', input: ['x', '', 'W'], output: ['f'], attribute: [
            { name: 'strs', type: T.STRINGS, strings: [new TextEncoder().encode('a'), new Uint8Array()] },
            { name: 'ts', type: T.TENSORS, tensors: [{ dims: [2, 2], dataType: DataType.BFLOAT16 }] },
            { name: 'sp', type: T.SPARSE_TENSOR, sparseTensor: { dims: [1] } },
          ] },
        ],
      },
    };
    expectSame(encodeModel(model));
    expect(readModelFactsStrict(encodeModel(model)).graph.reordered).toBe(true);
  });

  test('If and Loop bodies, with outer reads and nested subgraphs', () => {
    const T = AttributeType;
    const body = (op: string, out: string) => ({
      name: 'b',
      input: [],
      output: [{ name: out }],
      initializer: [{ name: `k_${out}`, dims: [], dataType: DataType.FLOAT, floatData: [1] }],
      node: [{ opType: op, input: ['x', `k_${out}`], output: [out] }],
    });
    const model: OnnxModelInput = {
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      graph: {
        input: [{ name: 'x', type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [{ dimParam: 'N' }] } } } }, { name: 'cond', type: { tensorType: { elemType: DataType.BOOL, shape: { dim: [] } } } }],
        output: [{ name: 'y' }],
        node: [
          { opType: 'If', input: ['cond'], output: ['y'], attribute: [
            { name: 'then_branch', type: T.GRAPH, g: { ...body('Add', 't'), node: [{ opType: 'If', input: ['cond'], output: ['t'], attribute: [{ name: 'then_branch', type: T.GRAPH, g: body('Mul', 'u') }, { name: 'else_branch', type: T.GRAPH, g: body('Sub', 'u') }] }] } },
            { name: 'else_branch', type: T.GRAPH, g: body('Sub', 'e') },
            { name: 'gs', type: T.GRAPHS, graphs: [body('Div', 'q')] },
          ] },
        ],
      },
    };
    expectSame(encodeModel(model));
  });

  test('unknown fields are skipped, as protobufjs does', () => {
    const bytes = models.invariantModel();
    // Field 99 (varint) and field 98 (length-delimited) appended at the model's top level.
    const extra = new Uint8Array([0x98, 0x06, 0x05, 0x92, 0x06, 0x02, 0x41, 0x42]);
    const withExtra = new Uint8Array([...bytes, ...extra]);
    expectSame(withExtra);
  });

  test('bytes readModel refuses: the same error, through the fallback', () => {
    const good = models.invariantModel();
    const truncated = good.subarray(0, good.length - 3);
    expect(() => readModelFactsStrict(truncated)).toThrow();
    expect(() => readModelFacts(truncated, 'm.onnx')).toThrow(errorOf(() => readModel(truncated, 'm.onnx')));
    const noOpset = encodeModel({ irVersion: 8, graph: { output: [{ name: 'x' }], input: [{ name: 'x' }] } });
    expect(() => readModelFacts(noOpset, 'm.onnx')).toThrow(errorOf(() => readModel(noOpset, 'm.onnx')));
    const dangling = models.buildModel({ inputs: [{ name: 'x', dtype: 'float32' }], outputs: [{ name: 'y', dtype: 'float32' }], nodes: [{ op: 'Relu', inputs: ['nope'], outputs: ['y'] }] });
    expect(() => readModelFacts(dangling, 'm.onnx')).toThrow(errorOf(() => readModel(dangling, 'm.onnx')));
    expect(() => readModelFacts(new Uint8Array(), 'm.onnx')).toThrow('m.onnx: the file is empty');
  });

  test('invalid UTF-8 in a name falls back to readModel (its decoder decides)', () => {
    const bytes = encodeModel({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      graph: { input: [{ name: 'x' }], output: [{ name: 'y' }], node: [{ opType: 'Relu', name: 'zz', input: ['x'], output: ['y'] }] },
    });
    const i = Buffer.from(bytes).indexOf('zz');
    const bad = new Uint8Array(bytes);
    bad[i] = 0xff;
    expect(() => readModelFactsStrict(bad)).toThrow();
    expect(readModelFacts(bad, 'm.onnx')).toStrictEqual(slow(bad));
  });
});

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected a throw');
}
