/**
 * The few constant values the diagnosis needs to read axes: small integer tensors (the `axes`
 * input of Reduce ops from opset 18, Unsqueeze/Squeeze axes from 13, Reshape shapes, Gather
 * indices) and the ranks of constants (for broadcasting). Read from GraphFacts alone where the
 * graph carries them (Constant value_ints), and from the model bytes when given.
 */
import { readModel, type GraphFacts, type TensorAttribute } from '../onnx/graph';
import { DataType, type OnnxTensor } from '../onnx/proto';

export interface GraphConstants {
  /** Small integer tensors by value name (initializers and Constant outputs, through Identity). */
  ints: Map<string, number[]>;
  /** Ranks of initializers and Constant outputs. */
  ranks: Map<string, number>;
}

/** Integer tensors larger than this are not axes or shapes: not read. */
const MAX_INTS = 64;

export function readConstants(graph: GraphFacts, modelBytes?: Uint8Array): GraphConstants {
  const ints = new Map<string, number[]>();
  const ranks = new Map<string, number>();
  for (const n of graph.nodes) {
    if (n.opType !== 'Constant' || n.domain !== '' || !n.outputs[0]) continue;
    const a = n.attributes;
    const out = n.outputs[0];
    if (Array.isArray(a.value_ints)) {
      ints.set(out, (a.value_ints as number[]).slice(0, MAX_INTS));
      ranks.set(out, 1);
    } else if (typeof a.value_int === 'number') {
      ints.set(out, [a.value_int]);
      ranks.set(out, 0);
    } else if (typeof a.value_float === 'number') {
      ranks.set(out, 0);
    } else if (Array.isArray(a.value_floats)) {
      ranks.set(out, 1);
    } else if (a.value && typeof a.value === 'object' && (a.value as TensorAttribute).kind === 'tensor') {
      ranks.set(out, (a.value as TensorAttribute).dims.length);
    }
  }
  if (modelBytes) {
    const { model } = readModel(modelBytes);
    const g = model.graph;
    for (const t of g?.initializer ?? []) {
      const name = t.name ?? '';
      ranks.set(name, t.dims.length);
      const values = smallInts(t);
      if (values) ints.set(name, values);
    }
    for (const n of g?.node ?? []) {
      if (n.opType !== 'Constant' || (n.domain && n.domain !== 'ai.onnx') || !n.output[0]) continue;
      const t = n.attribute.find((x) => x.name === 'value')?.t;
      const values = t ? smallInts(t) : null;
      if (values) ints.set(n.output[0], values);
    }
  }
  // Identity links: the same value under another name.
  for (const n of graph.nodes) {
    if (n.opType !== 'Identity' || !n.inputs[0] || !n.outputs[0]) continue;
    const v = ints.get(n.inputs[0]);
    const r = ranks.get(n.inputs[0]);
    if (v) ints.set(n.outputs[0], v);
    if (r !== undefined) ranks.set(n.outputs[0], r);
  }
  return { ints, ranks };
}

/** An int64/int32 tensor's values when it is small and stored in the model; else null. */
function smallInts(t: OnnxTensor): number[] | null {
  if (t.dataLocation === 1) return null;
  const count = t.dims.reduce<number>((a, d) => a * Number(d), 1);
  if (count > MAX_INTS) return null;
  const wide = t.dataType === DataType.INT64;
  if (!wide && t.dataType !== DataType.INT32) return null;
  if (t.rawData && t.rawData.byteLength > 0) {
    const size = wide ? 8 : 4;
    if (t.rawData.byteLength !== count * size) return null;
    const view = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
    return Array.from({ length: count }, (_, i) => (wide ? Number(view.getBigInt64(i * 8, true)) : view.getInt32(i * 4, true)));
  }
  const typed = wide ? t.int64Data : t.int32Data;
  if (typed.length !== count) return null;
  return typed.map((v) => Number(v));
}
