import * as fs from 'fs';
import * as protobuf from 'protobufjs';
import { DataType, decodeModel, encodeModel, ModelProto, onnxRoot, unknownFields } from '../../src/onnx/proto';
import schema from '../../src/onnx/onnx-schema.json';
import { bigModel, invariantModel, leakyModel } from '../helpers/models';

const ONNX_PROTO = '/usr/lib/python3/dist-packages/onnx/onnx.proto';

describe('vendored ONNX schema', () => {
  // Where Debian's python3-onnx is installed, the vendored JSON must be exactly what the
  // generator makes from it (run test/helpers/generate-onnx-schema.js if this fails).
  (fs.existsSync(ONNX_PROTO) ? test : test.skip)('matches onnx.proto from onnx 1.12', () => {
    expect(JSON.parse(JSON.stringify(protobuf.loadSync(ONNX_PROTO).toJSON()))).toEqual(schema);
  });

  test('has every field of onnx 1.12 (103 fields in 21 messages)', () => {
    const types: protobuf.Type[] = [];
    const walk = (ns: protobuf.NamespaceBase) => {
      for (const o of ns.nestedArray) {
        if (o instanceof protobuf.Type) types.push(o);
        if (o instanceof protobuf.Namespace || o instanceof protobuf.Type) walk(o);
      }
    };
    walk(onnxRoot);
    expect(types.length).toBe(21);
    expect(types.reduce((n, t) => n + t.fieldsArray.length, 0)).toBe(103);
    const ids = (name: string) => Object.fromEntries(onnxRoot.lookupType(name).fieldsArray.map((f) => [f.name, f.id]));
    expect(ids('onnx.ModelProto')).toEqual({
      irVersion: 1, opsetImport: 8, producerName: 2, producerVersion: 3, domain: 4, modelVersion: 5,
      docString: 6, graph: 7, metadataProps: 14, trainingInfo: 20, functions: 25,
    });
    expect(ids('onnx.NodeProto')).toEqual({ input: 1, output: 2, name: 3, opType: 4, domain: 7, attribute: 5, docString: 6 });
    expect(ids('onnx.TensorProto')).toMatchObject({ dims: 1, dataType: 2, rawData: 9, dataLocation: 14, externalData: 13 });
  });

  test('proto2 packing is kept: TensorProto data packed, attribute lists not', () => {
    const tensor = onnxRoot.lookupType('onnx.TensorProto');
    const attr = onnxRoot.lookupType('onnx.AttributeProto');
    expect(tensor.fields.floatData?.packed).toBe(true);
    expect(tensor.fields.dims?.packed).toBe(false);
    expect(attr.fields.ints?.packed).toBe(false);
    expect(attr.fields.floats?.packed).toBe(false);
  });
});

describe('decodeModel / encodeModel', () => {
  test('round trip is byte-identical for models protobufjs wrote', () => {
    for (const bytes of [invariantModel(), leakyModel(), bigModel(1)]) {
      expect(Buffer.from(encodeModel(decodeModel(bytes))).equals(Buffer.from(bytes))).toBe(true);
    }
  });

  test('plain objects: repeated fields are arrays, int64 are numbers, raw_data shares memory', () => {
    const bytes = invariantModel();
    const model = decodeModel(bytes);
    expect(model.irVersion).toBe(8);
    expect(model.opsetImport).toEqual([{ domain: '', version: 17 }]);
    const w = model.graph?.initializer[0];
    expect(w?.dims).toEqual([8, 4]);
    expect(w?.dataType).toBe(DataType.FLOAT);
    expect(w?.floatData).toEqual([]);
    expect(w?.rawData?.byteLength).toBe(8 * 4 * 4);
    expect(w?.rawData?.buffer).toBe(bytes.buffer);
  });

  test('encodeModel hands out an array that owns its buffer (not a view into a Buffer pool)', () => {
    const bytes = leakyModel(); // small: protobufjs would carve it out of Node's shared pool
    expect(bytes.byteOffset).toBe(0);
    expect(bytes.buffer.byteLength).toBe(bytes.byteLength);
  });

  test('int64 values beyond 2^53 stay exact (as bigint) through a round trip', () => {
    const big = 9223372036854775807n;
    const bytes = encodeModel({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 9 }],
      graph: {
        node: [{ opType: 'Slice', input: ['x'], output: ['y'], attribute: [{ name: 'ends', type: 7, ints: [big, -big - 1n, 5] }] }],
      },
    });
    const model = decodeModel(bytes);
    expect(model.graph?.node[0]?.attribute[0]?.ints).toEqual([big, -big - 1n, 5]);
    expect(Buffer.from(encodeModel(model)).equals(Buffer.from(bytes))).toBe(true);
  });

  test('unknown fields (newer onnx) are dropped on re-encode, and unknownFields names them', () => {
    const base = invariantModel();
    expect(unknownFields(base)).toEqual([]);

    // NodeProto.overload (field 8, onnx 1.16) inside the first node, and field 99 at top level.
    const NodeProto = onnxRoot.lookupType('onnx.NodeProto');
    const GraphProto = onnxRoot.lookupType('onnx.GraphProto');
    const model = decodeModel(base);
    const graph = model.graph!;
    const nodeBytes = NodeProto.encode(NodeProto.fromObject(graph.node[0]!)).finish();
    const withOverload = concat(nodeBytes, protobuf.Writer.create().uint32((8 << 3) | 2).string('v2').finish());
    const graphBytes = concat(
      protobuf.Writer.create().uint32((1 << 3) | 2).bytes(withOverload).finish(),
      GraphProto.encode(GraphProto.fromObject({ ...graph, node: graph.node.slice(1) })).finish(),
    );
    const modelBytes = concat(
      ModelProto.encode(ModelProto.fromObject({ ...model, graph: undefined })).finish(),
      protobuf.Writer.create().uint32((7 << 3) | 2).bytes(graphBytes).finish(),
      protobuf.Writer.create().uint32(99 << 3).uint32(1).finish(),
    );

    expect(unknownFields(modelBytes)).toEqual(['graph.node[0].#8', '#99']);
    const again = encodeModel(decodeModel(modelBytes));
    expect(unknownFields(again)).toEqual([]);
    expect(again.length).toBeLessThan(modelBytes.length);
  });
});

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
