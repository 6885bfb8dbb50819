/**
 * The ONNX protobuf schema, loaded with protobufjs from a vendored JSON descriptor.
 *
 * onnx-schema.json is onnx 1.12's onnx.proto (IR version 8) turned into protobufjs JSON by
 * test/helpers/generate-onnx-schema.js, so nothing parses .proto text at run time and the
 * schema ships with the tsc output. Field names are camelCase (protobufjs' convention):
 * raw_data -> rawData, opset_import -> opsetImport, dim_param -> dimParam.
 *
 * Unknown fields are DROPPED: protobufjs skips fields the schema does not know when decoding,
 * so encodeModel(decodeModel(bytes)) loses them. Every field of onnx 1.12 is in the schema;
 * what newer onnx added (e.g. NodeProto.overload and metadata_props, onnx 1.16) is not.
 * unknownFields() lists what a round trip would lose, so a caller that rewrites a model can
 * refuse or warn. Enum values newer than 1.12 (float8, int4 data types) are kept: protobufjs
 * stores enums as plain numbers.
 */
import protobuf = require('protobufjs');
import schema from './onnx-schema.json';

export const onnxRoot: protobuf.Root = protobuf.Root.fromJSON(schema as protobuf.INamespace);
onnxRoot.resolveAll();

export const ModelProto: protobuf.Type = onnxRoot.lookupType('onnx.ModelProto');

/** int64 fields decode to a number when it is exact, else to a bigint (e.g. INT64_MAX). */
export type Int64 = number | bigint;

export { DataType } from './dtypes';

export { AttributeType } from './dtypes';

// Plain-object views of the messages batchproof reads or writes. Only the commonly used
// fields are typed; everything in the schema still decodes and encodes.

export interface OnnxOperatorSetId { domain?: string; version?: Int64 }

export interface OnnxDimension { dimValue?: Int64; dimParam?: string; denotation?: string }

export interface OnnxTypeProto {
  tensorType?: { elemType?: number; shape?: { dim: OnnxDimension[] } };
  sequenceType?: { elemType?: OnnxTypeProto };
  mapType?: { keyType?: number; valueType?: OnnxTypeProto };
  optionalType?: { elemType?: OnnxTypeProto };
  sparseTensorType?: { elemType?: number; shape?: { dim: OnnxDimension[] } };
  denotation?: string;
}

export interface OnnxValueInfo { name?: string; type?: OnnxTypeProto; docString?: string }

export interface OnnxTensor {
  name?: string;
  dims: Int64[];
  dataType?: number;
  /** A view into the decoded bytes: may be unaligned, so copy before making a Float32Array. */
  rawData?: Uint8Array;
  floatData: number[];
  int32Data: number[];
  int64Data: Int64[];
  doubleData: number[];
  uint64Data: Int64[];
  stringData: Uint8Array[];
  /** 1 = EXTERNAL: the data lives in another file named in externalData. */
  dataLocation?: number;
  externalData: { key?: string; value?: string }[];
  docString?: string;
}

export interface OnnxSparseTensor { values?: OnnxTensor; indices?: OnnxTensor; dims: Int64[] }

export interface OnnxAttribute {
  name?: string;
  type?: number;
  refAttrName?: string;
  docString?: string;
  f?: number;
  i?: Int64;
  s?: Uint8Array;
  t?: OnnxTensor;
  g?: OnnxGraph;
  sparseTensor?: OnnxSparseTensor;
  tp?: OnnxTypeProto;
  floats: number[];
  ints: Int64[];
  strings: Uint8Array[];
  tensors: OnnxTensor[];
  graphs: OnnxGraph[];
  sparseTensors: OnnxSparseTensor[];
  typeProtos: OnnxTypeProto[];
}

export interface OnnxNode {
  input: string[];
  output: string[];
  name?: string;
  opType?: string;
  domain?: string;
  attribute: OnnxAttribute[];
  docString?: string;
}

export interface OnnxGraph {
  node: OnnxNode[];
  name?: string;
  initializer: OnnxTensor[];
  sparseInitializer: OnnxSparseTensor[];
  docString?: string;
  input: OnnxValueInfo[];
  output: OnnxValueInfo[];
  valueInfo: OnnxValueInfo[];
  quantizationAnnotation: unknown[];
}

export interface OnnxModel {
  irVersion?: Int64;
  opsetImport: OnnxOperatorSetId[];
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: Int64;
  docString?: string;
  graph?: OnnxGraph;
  metadataProps: { key?: string; value?: string }[];
  trainingInfo: unknown[];
  functions: unknown[];
}

/**
 * The shape encodeModel accepts: any subset of the fields (repeated ones may be left out),
 * int64 fields as number, bigint or decimal string.
 */
export type OnnxModelInput = DeepPartial<OnnxModel>;
export type OnnxGraphInput = DeepPartial<OnnxGraph>;
export type OnnxAttributeInput = DeepPartial<OnnxAttribute>;
export type DeepPartial<T> = T extends Uint8Array | number | bigint | string | boolean
  ? T
  : T extends (infer U)[]
    ? DeepPartial<U>[]
    : T extends object
      ? { [K in keyof T]?: DeepPartial<T[K]> }
      : T;

/**
 * Decodes ModelProto bytes into a plain object. Throws protobufjs' error on malformed bytes
 * (readGraph turns that into a BadInputError). Repeated fields are always arrays; absent
 * optional fields are absent; bytes fields are views into `bytes` (no copy).
 */
export function decodeModel(bytes: Uint8Array): OnnxModel {
  const message = ModelProto.decode(bytes);
  // Longs are kept by toObject and converted below: longs: Number would round INT64_MAX.
  const obj = ModelProto.toObject(message, { arrays: true, enums: Number });
  return convertLongs(obj) as OnnxModel;
}

/**
 * Encodes a ModelProto-shaped plain object (as decodeModel returns or a builder makes) into a
 * plain Uint8Array that owns its whole ArrayBuffer (byteOffset 0).
 */
export function encodeModel(model: OnnxModelInput | OnnxModel): Uint8Array {
  // fromObject turns numbers, bigints and strings into Longs for int64 fields itself.
  const out = ModelProto.encode(ModelProto.fromObject(model as Record<string, unknown>)).finish();
  // protobufjs returns a Node Buffer, small ones carved from Node's shared pool; hand out a
  // plain array so `new Float32Array(bytes.buffer)`-style code and transfers stay safe.
  if (out.byteOffset === 0 && out.buffer.byteLength === out.byteLength) {
    return new Uint8Array(out.buffer, 0, out.byteLength);
  }
  return new Uint8Array(out);
}

function convertLongs(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) return value;
  if (isLong(value)) return longToInt64(value);
  if (Array.isArray(value)) {
    // Skip arrays of plain numbers (floatData etc. can hold millions of entries).
    if (value.length === 0 || typeof value[0] === 'number') return value;
    for (let i = 0; i < value.length; i++) value[i] = convertLongs(value[i]);
    return value;
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) record[key] = convertLongs(record[key]);
  return record;
}

function isLong(v: object): v is protobuf.Long {
  const l = v as protobuf.Long;
  return typeof l.low === 'number' && typeof l.high === 'number' && typeof l.unsigned === 'boolean';
}

function longToInt64(long: protobuf.Long): Int64 {
  const bits = (BigInt(long.high >>> 0) << 32n) | BigInt(long.low >>> 0);
  const big = long.unsigned ? BigInt.asUintN(64, bits) : BigInt.asIntN(64, bits);
  const n = Number(big);
  return Number.isSafeInteger(n) ? n : big;
}

/**
 * Paths of fields in `bytes` that this schema does not know, and so would be lost by
 * encodeModel(decodeModel(bytes)), e.g. "graph.node[3].#8" (field number 8). Empty when a
 * round trip keeps everything. Walks the wire format; does not copy tensor data.
 */
export function unknownFields(bytes: Uint8Array): string[] {
  const found: string[] = [];
  walkUnknown(ModelProto, protobuf.Reader.create(bytes), bytes.length, '', found);
  return found;
}

function walkUnknown(type: protobuf.Type, reader: protobuf.Reader, end: number, path: string, found: string[]): void {
  const counts = new Map<number, number>();
  while (reader.pos < end) {
    const tag = reader.uint32();
    const id = tag >>> 3;
    const wireType = tag & 7;
    const field = type.fieldsById[id];
    const index = counts.get(id) ?? 0;
    counts.set(id, index + 1);
    const resolved = field?.resolve().resolvedType;
    if (field && wireType === 2 && resolved instanceof protobuf.Type) {
      const length = reader.uint32();
      const at = field.repeated ? `${field.name}[${index}]` : field.name;
      walkUnknown(resolved, reader, reader.pos + length, path ? `${path}.${at}` : at, found);
    } else {
      if (!field) found.push(path ? `${path}.#${id}` : `#${id}`);
      reader.skipType(wireType);
    }
  }
}
