/**
 * readGraph: the plain facts batchproof needs about a model's graph (inputs, outputs,
 * initializers, nodes in topological order), read from ONNX bytes without a session.
 */
import { BadInputError } from '../errors';
import { decodeModel, type OnnxModel } from './proto';
import { checkModelHead, MODEL_FILE_ERRORS } from './model-file';
import { dtypeName } from './dtypes';
import { buildGraphFacts, type Fail } from './facts';

export { dtypeName };

/** A dimension: a fixed size, a symbolic name ('N', 'batch'), or null when unnamed. */
export type Dim = number | string | null;

/** A graph input or output as the graph declares it: name, element type and shape. */
export interface ValueFacts {
  name: string;
  /**
   * onnxruntime-node's name for the element type ('float32', 'int64', 'bool', ...).
   * Non-tensor values get 'sequence', 'map', 'optional' or 'sparse_tensor'; 'unknown' when
   * the type is not declared.
   */
  dtype: string;
  /** Declared dims; [] is a scalar; null when the rank is not declared. */
  shape: Dim[] | null;
}

/** A tensor-valued attribute (e.g. Constant's value): its type and dims, not its data. */
export interface TensorAttribute { kind: 'tensor'; dtype: string; dims: number[] }

/** A graph-valued attribute (If/Loop/Scan bodies). */
export interface GraphAttribute {
  kind: 'graph';
  inputs: string[];
  outputs: string[];
  initializers: string[];
  nodes: NodeFacts[];
}

/** Attribute kinds batchproof does not look into (sparse tensors, type protos). */
export interface OtherAttribute { kind: 'other'; type: number }

/**
 * ints become numbers (int64 values beyond 2^53 are rounded; these are facts, not for
 * re-encoding); strings are decoded as UTF-8.
 */
export type AttributeValue =
  | number
  | string
  | number[]
  | string[]
  | TensorAttribute
  | TensorAttribute[]
  | GraphAttribute
  | GraphAttribute[]
  | OtherAttribute;

/** One node of the graph: its op, domain, the values it reads and writes, its attributes. */
export interface NodeFacts {
  name: string;
  opType: string;
  /** '' for the default ONNX domain (ai.onnx). */
  domain: string;
  /** '' marks an omitted optional input/output, as in ONNX. */
  inputs: string[];
  outputs: string[];
  attributes: Record<string, AttributeValue>;
}

/** What batchproof reads of a model's graph (readGraph): opsets, inputs, outputs, initializer names and nodes. */
export interface GraphFacts {
  /** The default-domain (ai.onnx) opset version. */
  opset: number;
  /** Every imported opset by domain ('' for ai.onnx, 'com.microsoft', ...). */
  opsets: Record<string, number>;
  irVersion: number;
  /** Feeds the model needs: graph inputs that are not initializers. */
  inputs: ValueFacts[];
  outputs: ValueFacts[];
  /** Names of initializers (dense and sparse). */
  initializers: string[];
  /** In topological order. */
  nodes: NodeFacts[];
  /** True when the file's node order was not topological and readGraph sorted it. */
  reordered: boolean;
}


/**
 * Reads the graph facts of an ONNX model. `source` names the file in error messages.
 * Throws BadInputError (one line: file, problem, fix) for bytes that are not a usable model.
 */
export function readGraph(bytes: Uint8Array, source = '<bytes>'): GraphFacts {
  return readModel(bytes, source).graph;
}

/**
 * readGraph's facts together with the decoded model they come from (tensor bytes are views
 * into `bytes`, not copies), for callers that also need initializer values.
 */
export function readModel(bytes: Uint8Array, source = '<bytes>'): { model: OnnxModel; graph: GraphFacts } {
  const fail: Fail = (problem, fix) => {
    throw new BadInputError(oneLine(`${source}: ${problem}; ${fix}`));
  };
  // The same words as `check` for the same file (onnx/model-file.ts).
  checkModelHead(bytes, source);

  let model: OnnxModel;
  try {
    model = decodeModel(bytes);
  } catch {
    throw new BadInputError(MODEL_FILE_ERRORS.truncated(source));
  }
  const graph = model.graph;
  if (!graph || (graph.node.length === 0 && graph.output.length === 0)) throw new BadInputError(MODEL_FILE_ERRORS.noGraph(source));

  return { model, graph: buildGraphFacts(model, fail) };
}

function oneLine(s: string): string {
  return s.replace(/\s*[\r\n]+\s*/g, ' ');
}
