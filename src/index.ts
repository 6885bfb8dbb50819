/**
 * batchproof: prove an ONNX model gives each sample the same answer whatever the batch.
 * The engine: plain functions returning plain report objects (the CLI prints the same objects).
 */
export { BadInputError } from './errors';
export { tool } from './version';

export { openModel, isModelHandle, isInferenceSession, PROVIDERS, OPTIMIZATION_LEVELS } from './model/open';
export type { ModelHandle, ModelSource, SessionSettings, ProviderName, OptimizationLevel, ValueInfo } from './model/open';

export type { Samples, SampleArray, SynthesisOptions } from './inputs/samples';
export type { InputOptions } from './inputs/prepare';
export type { ShapeOptions } from './inputs/spec';

export { checkBatchInvariance } from './invariance/check';
export type { CheckOptions, ToleranceOptions } from './invariance/check';
export { checkDeterminism } from './invariance/determinism';
export type { DeterminismOptions, DeterminismReport } from './invariance/determinism';
export { makePlan, DEFAULT_SWEEP, DEFAULT_MAX_BATCH } from './invariance/plan';
export type { PlanOptions } from './invariance/plan';
export type { InvarianceReport, BatchReport, Cause, Verdict, WorstElement } from './invariance/report';

export { compareArrays } from './compare/metrics';
export type { Comparison } from './compare/metrics';
export { parseTolerance, resolveTolerance, describeTolerance } from './compare/tolerance';
export type { Tolerance, ResolvedTolerance } from './compare/tolerance';

export { fingerprintFor, describeFingerprint } from './fixture/fingerprint';
export type { Fingerprint } from './fixture/fingerprint';

export { formatReport } from './report/text';
export { formatDeterminism } from './report/determinism-text';

export { readArrayFile, parseNpy, encodeNpy, parseNpz, encodeNpz, parseSafetensors, encodeSafetensors } from './io';
export type { NumericArray, DType } from './io';
