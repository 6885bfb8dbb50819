/**
 * batchproof/onnx: read an ONNX model's graph and edit it, without onnxruntime. The tools the
 * checks are built from, for users who want the facts or an instrumented copy themselves.
 */
export { readGraph } from './graph';
export type { GraphFacts, NodeFacts, ValueFacts, Dim, AttributeValue, TensorAttribute, GraphAttribute, OtherAttribute } from './graph';
export { findBatchNorms } from './batchnorm';
export type { BatchNormFacts, BatchNormParam, BatchNormScan, StoredTensor, FindOptions } from './batchnorm';
export { exposeOutputs, spliceModel } from './instrument';
export type { GraphAdditions, NewNode, InitializerData, SpliceOptions } from './instrument';
export { writeModelFile } from '../stats/recalibrate';
