/**
 * Which embedding table each integer model input indexes, read from the graph (never from
 * names): an input that reaches the indices of a Gather whose data is a constant table must
 * stay below the table's rows, or onnxruntime fails the run ("indices element out of data
 * bounds"). Synthesized ids use these bounds: input_ids within the vocabulary, token_type_ids
 * within 2. Plain graph facts: no session, no data beyond a few small constants.
 */
import type { GraphFacts, NodeFacts, TensorAttribute } from './graph';
import type { ConstantFacts } from './facts';

export { constantFacts, SMALL_CONSTANT } from './facts';
export type { ConstantFacts } from './facts';

/** The table an input indexes. */
export interface TableRef {
  /** The Gather (or EmbedLayerNormalization) node. */
  node: string;
  /** The initializer (or Constant output) holding the table. */
  initializer: string;
  /** Its size along the gathered axis. */
  rows: number;
}

/** Ids of `input` must lie in [low, high) to stay inside every table it reaches. */
export interface IdBound {
  low: number;
  high: number;
  /** The table that sets `high` (the tightest). */
  table: TableRef;
}

const INTEGER_DTYPES = new Set(['int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64']);

/** Ops that pass indices through unchanged in value (input 0 to output 0). */
const PASS_THROUGH = new Set(['Cast', 'Unsqueeze', 'Squeeze', 'Reshape', 'Expand', 'Flatten', 'Identity']);

/** Ops that keep a table's rows when its data flows through them (input 0), e.g. a quantized table. */
const TABLE_PASS = new Set(['Identity', 'Cast', 'DequantizeLinear']);

/**
 * Ops that index a table: which input holds the indices and which the table, and the axis.
 * Extend here (e.g. another fused embedding op).
 */
const INDEXERS: { op: string; domain: string; pairs: { indices: number; data: number }[]; axis: (n: NodeFacts) => number }[] = [
  { op: 'Gather', domain: '', pairs: [{ indices: 1, data: 0 }], axis: (n) => (typeof n.attributes.axis === 'number' ? n.attributes.axis : 0) },
  // onnxruntime's fused BERT embedding: input_ids -> word table, segment_ids -> segment table, position_ids -> position table.
  {
    op: 'EmbedLayerNormalization',
    domain: 'com.microsoft',
    pairs: [{ indices: 0, data: 2 }, { indices: 1, data: 4 }, { indices: 8, data: 3 }],
    axis: () => 0,
  },
];


/**
 * For each integer graph input that reaches the indices of a table lookup, directly or through
 * Cast/Unsqueeze/Squeeze/Reshape/Expand/Flatten/Identity or Add/Sub of a constant, the range its
 * ids must keep: `ids + c` must lie in [0, rows) for every table (onnxruntime's Gather also takes
 * negative indices, counting from the end; synthesized ids never use them). Tightest over all
 * tables. Inputs that reach no table are absent.
 */
export function tableBounds(graph: GraphFacts, constants: Record<string, ConstantFacts>): Record<string, IdBound> {
  const { consumers, constant, tableOf } = lookups(graph, constants);

  const bounds: Record<string, IdBound> = {};
  for (const input of graph.inputs) {
    if (!INTEGER_DTYPES.has(input.dtype)) continue;
    let found: IdBound | null = null;
    // The value the ids reach and the constant added to them on the way, as a range [lo, hi].
    const work: { value: string; lo: number; hi: number }[] = [{ value: input.name, lo: 0, hi: 0 }];
    const seen = new Set<string>();
    while (work.length > 0) {
      const { value, lo, hi } = work.pop() as { value: string; lo: number; hi: number };
      const key = `${value}|${lo}|${hi}`;
      if (seen.has(key) || seen.size > 10_000) continue;
      seen.add(key);
      for (const { node, index } of consumers.get(value) ?? []) {
        const next = (shiftLo: number, shiftHi: number) => node.outputs[0] && work.push({ value: node.outputs[0], lo: lo + shiftLo, hi: hi + shiftHi });
        const indexer = INDEXERS.find((x) => x.op === node.opType && x.domain === node.domain);
        if (indexer) {
          for (const pair of indexer.pairs) {
            if (pair.indices !== index || !node.inputs[pair.data]) continue;
            const table = tableOf(node.inputs[pair.data] as string, indexer.axis(node));
            if (!table) continue;
            const low = Math.max(0, -lo);
            const high = table.rows - hi;
            const ref = { node: node.name, initializer: table.initializer, rows: table.rows };
            if (!found) {
              found = { low, high, table: ref };
            } else {
              found.low = Math.max(found.low, low);
              if (high < found.high) Object.assign(found, { high, table: ref });
            }
          }
          continue;
        }
        if (node.domain !== '') continue;
        if (PASS_THROUGH.has(node.opType)) {
          if (index === 0) next(0, 0);
        } else if (node.opType === 'Add' || node.opType === 'Sub') {
          const other = node.inputs[1 - index];
          const values = other !== undefined ? constant(other)?.values : null;
          if (!values || values.length === 0 || !values.every(Number.isFinite)) continue;
          const min = Math.min(...values);
          const max = Math.max(...values);
          if (node.opType === 'Add') next(min, max);
          else if (index === 0) next(-max, -min); // ids - c; c - ids flips the ids, not followed
        }
      }
    }
    if (found) bounds[input.name] = found;
  }
  return bounds;
}

/** Who consumes and produces each value, constants by name, and the rows of a table value. */
function lookups(graph: GraphFacts, constants: Record<string, ConstantFacts>) {
  const consumers = new Map<string, { node: NodeFacts; index: number }[]>();
  const producer = new Map<string, NodeFacts>();
  for (const node of graph.nodes) {
    node.inputs.forEach((name, index) => {
      if (!name) return;
      const list = consumers.get(name) ?? [];
      list.push({ node, index });
      consumers.set(name, list);
    });
    for (const out of node.outputs) if (out) producer.set(out, node);
  }
  const constant = (name: string): ConstantFacts | undefined => constants[name] ?? constantNodeFacts(producer.get(name));

  /** Rows of a table value: a constant, or one seen through Identity/Cast/DequantizeLinear. */
  const tableOf = (name: string, axis: number, depth = 0): { initializer: string; rows: number } | null => {
    const c = constant(name);
    if (c) {
      const a = axis < 0 ? axis + c.dims.length : axis;
      const rows = c.dims[a];
      return rows !== undefined && rows > 0 ? { initializer: name, rows } : null;
    }
    const p = producer.get(name);
    if (p && depth < 4 && p.domain === '' && TABLE_PASS.has(p.opType) && p.inputs[0]) return tableOf(p.inputs[0], axis, depth + 1);
    return null;
  };

  return { consumers, producer, constant, tableOf };
}

/**
 * Tables the graph indexes with positions it makes itself (a Range or a sliced constant arange
 * over the sequence length, as a position embedding is), not with ids from an input's values:
 * a sequence longer than the table's rows fails the run, whatever the ids. Values computed from
 * an input's shape alone (Shape, Size) carry no ids.
 */
export function positionTables(graph: GraphFacts, constants: Record<string, ConstantFacts>): TableRef[] {
  const { consumers, tableOf } = lookups(graph, constants);
  const fromInputs = new Set<string>();
  const work = graph.inputs.map((i) => i.name);
  while (work.length > 0) {
    const value = work.pop() as string;
    if (fromInputs.has(value) || fromInputs.size > 100_000) continue;
    fromInputs.add(value);
    for (const { node } of consumers.get(value) ?? []) {
      if (node.domain === '' && (node.opType === 'Shape' || node.opType === 'Size')) continue;
      for (const out of node.outputs) if (out) work.push(out);
    }
  }
  const tables: TableRef[] = [];
  for (const node of graph.nodes) {
    const indexer = INDEXERS.find((x) => x.op === node.opType && x.domain === node.domain);
    for (const pair of indexer?.pairs ?? []) {
      const indices = node.inputs[pair.indices];
      const data = node.inputs[pair.data];
      if (!indices || !data || fromInputs.has(indices)) continue;
      const table = tableOf(data, (indexer as (typeof INDEXERS)[number]).axis(node));
      if (table) tables.push({ node: node.name, initializer: table.initializer, rows: table.rows });
    }
  }
  return tables;
}

/** A Constant node's facts as GraphFacts knows them (dims, and value_int(s)); values of `value` tensors come from constantFacts. */
function constantNodeFacts(node: NodeFacts | undefined): ConstantFacts | undefined {
  if (!node || node.opType !== 'Constant' || node.domain !== '') return undefined;
  const value = node.attributes.value as TensorAttribute | undefined;
  if (value && typeof value === 'object' && 'kind' in value && value.kind === 'tensor') return { dtype: value.dtype, dims: value.dims, values: null };
  const ints = node.attributes.value_ints;
  if (Array.isArray(ints)) return { dtype: 'int64', dims: [ints.length], values: ints as number[] };
  const int = node.attributes.value_int;
  if (typeof int === 'number') return { dtype: 'int64', dims: [], values: [int] };
  return undefined;
}
