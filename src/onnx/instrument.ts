/**
 * Changing a model without touching its weights: exposing intermediate values as graph
 * outputs, appending nodes, and replacing the data of a few small initializers, all by splicing
 * the protobuf wire format (see wire.ts). Every byte of the model that is not edited is kept
 * as it was, unknown fields included; nothing is decoded or re-encoded but the few small
 * messages that are added or replaced.
 */
import { BadInputError } from '../errors';
import { onnxRoot, type OnnxAttributeInput } from './proto';
import { encodeLittleEndian } from './tensor';
import {
  appendInPlace,
  FIELD,
  fieldString,
  graphFields,
  lenField,
  lenPrefix,
  locateGraph,
  scanFields,
  spliceGraph,
  WIRE,
  type ByteEdit,
  type ModelStore,
  type Splice,
  type WireField,
} from './wire';

const NodeProto = onnxRoot.lookupType('onnx.NodeProto');
const ValueInfoProto = onnxRoot.lookupType('onnx.ValueInfoProto');

/** A node to append (ai.onnx domain unless `domain` says otherwise). */
export interface NewNode {
  op: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  domain?: string;
  attributes?: OnnxAttributeInput[];
}

/** What spliceModel adds to a graph: nodes, outputs, and initializer data to replace. */
export interface GraphAdditions {
  /** Nodes appended after every existing node (so topological order holds). */
  nodes?: NewNode[];
  /**
   * Values to add as graph outputs, by name only: onnxruntime takes their type from the node
   * that produces them. Names that already are graph outputs are skipped.
   */
  outputs?: string[];
  /** Data of initializers to replace, by initializer name (see replaceInitializerData). */
  replace?: Map<string, InitializerData>;
}

/** New contents for an initializer: values written as little-endian raw_data of `dtype`. */
export interface InitializerData {
  dtype: string;
  values: ArrayLike<number>;
}

/** How spliceModel names the model in messages and where its result is written. */
export interface SpliceOptions {
  /** The model, as named in messages. */
  source?: string;
}

/**
 * Adds nodes and outputs to a model, and replaces initializer data, by splicing its bytes.
 * Returns the pieces; call `.toBytes()` for one buffer.
 */
export function spliceModel(bytes: Uint8Array, additions: GraphAdditions, options: SpliceOptions = {}): Splice {
  const source = options.source ?? '<bytes>';
  const location = locateGraph(bytes, source);
  const fields = graphFields(bytes, location, source);
  const append = encodeAdditions(bytes, fields, additions);
  const edits = additions.replace && additions.replace.size > 0 ? replaceEdits(bytes, fields, additions.replace, source) : [];
  return spliceGraph(bytes, location, edits, append);
}

/** A changed model ready for onnxruntime; `release()` once the session is created. */
export interface Instrumented {
  bytes: Uint8Array;
  /** True when the fields were appended in place (no copy of the model at all). */
  inPlace: boolean;
  /** Restores the store's original bytes (in place), or drops the copy. */
  release(): void;
}

/**
 * Adds nodes and outputs (and replaces initializer data) and returns one buffer for
 * onnxruntime. With a `store` that has room (modelBytes gives one for files), pure additions
 * are appended in place: nothing proportional to the model's size is copied. Otherwise the
 * pieces are copied once into a new buffer.
 */
export function instrumentModel(bytes: Uint8Array, additions: GraphAdditions, options: SpliceOptions & { store?: ModelStore } = {}): Instrumented {
  const store = options.store;
  const replacing = additions.replace !== undefined && additions.replace.size > 0;
  if (store && !replacing && sameView(store, bytes)) {
    const source = options.source ?? '<bytes>';
    const location = locateGraph(bytes, source);
    const fields = graphFields(bytes, location, source);
    const done = appendInPlace(store, location, encodeAdditions(bytes, fields, additions));
    if (done) return { bytes: done.bytes, inPlace: true, release: done.restore };
  }
  return { bytes: spliceModel(bytes, additions, options).toBytes(), inPlace: false, release() {} };
}

function sameView(store: ModelStore, bytes: Uint8Array): boolean {
  return bytes.buffer === store.storage.buffer && bytes.byteOffset === store.storage.byteOffset + store.start && bytes.byteLength === store.end - store.start;
}

function encodeAdditions(bytes: Uint8Array, fields: WireField[], additions: GraphAdditions): Uint8Array[] {
  const existingOutputs = new Set(
    fields.filter((f) => f.field === FIELD.graph.output && f.wireType === WIRE.LEN).map((f) => valueInfoName(bytes, f)),
  );

  const append: Uint8Array[] = [];
  for (const node of additions.nodes ?? []) {
    const encoded = NodeProto.encode(
      NodeProto.fromObject({
        input: node.inputs,
        output: node.outputs,
        name: node.name ?? '',
        opType: node.op,
        domain: node.domain ?? '',
        attribute: node.attributes ?? [],
      }),
    ).finish();
    append.push(lenField(FIELD.graph.node, encoded));
  }
  const added = new Set<string>();
  for (const name of additions.outputs ?? []) {
    if (!name || existingOutputs.has(name) || added.has(name)) continue;
    added.add(name);
    append.push(lenField(FIELD.graph.output, ValueInfoProto.encode(ValueInfoProto.fromObject({ name })).finish()));
  }

  return append;
}

function replaceEdits(bytes: Uint8Array, fields: WireField[], replace: Map<string, InitializerData>, source: string): ByteEdit[] {
  const edits: ByteEdit[] = [];
  const pending = new Set(replace.keys());
  for (const f of fields) {
    if (f.field !== FIELD.graph.initializer || f.wireType !== WIRE.LEN) continue;
    const tensorFields = scanFields(bytes, f.valueStart, f.end);
    const nameField = tensorFields.find((t) => t.field === FIELD.tensor.name);
    const name = nameField ? fieldString(bytes, nameField) : '';
    const data = replace.get(name);
    if (!data) continue;
    pending.delete(name);
    edits.push({ start: f.start, end: f.end, bytes: rebuildTensor(bytes, tensorFields, data) });
  }
  if (pending.size > 0) {
    throw new BadInputError(`${source}: no initializer named ${[...pending].map((n) => `'${n}'`).join(', ')} to replace`);
  }
  return edits;
}

/** Adds graph outputs (by name only) to a model. */
export function exposeOutputs(bytes: Uint8Array, names: readonly string[], options: SpliceOptions = {}): Uint8Array {
  return spliceModel(bytes, { outputs: [...names] }, options).toBytes();
}

function valueInfoName(bytes: Uint8Array, f: WireField): string {
  const name = scanFields(bytes, f.valueStart, f.end).find((x) => x.field === 1 && x.wireType === WIRE.LEN);
  return name ? fieldString(bytes, name) : '';
}

/** Fields of a TensorProto that hold (or locate) its data: dropped when the data is replaced. */
const DATA_FIELDS = new Set<number>([
  FIELD.tensor.floatData, FIELD.tensor.int32Data, FIELD.tensor.stringData, FIELD.tensor.int64Data,
  FIELD.tensor.rawData, FIELD.tensor.doubleData, FIELD.tensor.uint64Data, FIELD.tensor.externalData,
  FIELD.tensor.dataLocation,
]);

const DATA_TYPE_CODES: Record<string, number> = { float32: 1, float16: 10, float64: 11, bfloat16: 16 };

/**
 * The initializer field rebuilt: every field but the data ones copied as they are (name, dims,
 * doc string, unknown fields), the data type set to `data.dtype`, then the new raw_data.
 */
function rebuildTensor(bytes: Uint8Array, tensorFields: WireField[], data: InitializerData): Uint8Array[] {
  const code = DATA_TYPE_CODES[data.dtype];
  if (code === undefined) throw new BadInputError(`cannot write initializer data of dtype ${data.dtype}`);
  const kept = tensorFields.filter((t) => !DATA_FIELDS.has(t.field) && t.field !== FIELD.tensor.dataType).map((t) => bytes.subarray(t.start, t.end));
  const dataType = new Uint8Array([(FIELD.tensor.dataType << 3) | WIRE.VARINT, code]);
  const raw = encodeLittleEndian(data.values, data.dtype);
  const pieces = [...kept, dataType, lenPrefix(FIELD.tensor.rawData, raw.byteLength), raw];
  const length = pieces.reduce((n, p) => n + p.byteLength, 0);
  return [lenPrefix(FIELD.graph.initializer, length), ...pieces];
}
