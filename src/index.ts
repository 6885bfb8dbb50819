/**
 * batchproof: prove an ONNX model gives each sample the same answer whatever the batch.
 * The engine: plain functions returning plain report objects (the CLI prints the same objects).
 */
export { BadInputError, formatValue } from './errors';
export { tool } from './version';

export { openModel, isModelHandle, isInferenceSession, PROVIDERS, OPTIMIZATION_LEVELS } from './model/open';
export type { ModelHandle, ModelSource, SessionSettings, ProviderName, OptimizationLevel, ValueInfo } from './model/open';

export type { Samples, SampleArray, SynthesisOptions } from './inputs/samples';
export type { InputOptions } from './inputs/prepare';
export type { ShapeOptions } from './inputs/spec';

export { checkBatchInvariance } from './invariance/check';
export type { BatchFunction, BatchOutput } from './runtime/function';
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
export { fixture, fixtureSettings, settingsLabel } from './fixture/fixture';
export type { Fixture, FixtureOptions } from './fixture/fixture';
export { availableProviders, availableProvidersSync } from './fixture/providers';
export type { ProviderAvailability } from './fixture/providers';
export { compareProviders, DEFAULT_COMPARE_BATCH } from './compare-providers/compare';
export type { CompareProvidersOptions, ProviderSide } from './compare-providers/compare';
export type { ProviderComparisonReport, ComparisonVerdict, SideReport, SideComparison, OutputComparison } from './compare-providers/report';
export { formatProviderComparison } from './compare-providers/text';
export { providerFailure } from './model/open';

export { formatReport } from './report/text';
export { formatDeterminism } from './report/determinism-text';

export { readArrayFile, parseNpy, encodeNpy, parseNpz, encodeNpz, parseSafetensors, encodeSafetensors } from './io';
export type { NumericArray, DType } from './io';

export { checkRunningStats, parseStatsTolerance, resolveStatsTolerance, DEFAULT_STATS_TOLERANCE, CHECKPOINT_TOLERANCE } from './stats/check';
export type { RunningStatsOptions, StatsReference, StatsTolerance } from './stats/check';
export type { StatsReport, StatsProblem, StatsProblemKind, LayerReport, WorstChannel, CheckpointReport } from './stats/report';
export type { CalibrationData, DataOptions } from './stats/data';
export type { Checkpoint, CheckpointTensors } from './stats/checkpoint';
export { recalibrate, writeModelFile } from './stats/recalibrate';
export type { RecalibrationResult, RecalibrationReport, RecalibratedLayer } from './stats/recalibrate';
export { formatStatsReport, formatRecalibration } from './stats/text';
export { locateDivergence } from './locate/locate';
export type { LocateOptions, LocateReport, Divergence } from './locate/locate';
export { formatLocateReport, divergenceLine } from './locate/text';
export { findBatchNorms } from './onnx/batchnorm';
export type { BatchNormFacts, BatchNormParam, BatchNormScan, StoredTensor } from './onnx/batchnorm';
export { exposeOutputs, spliceModel } from './onnx/instrument';
export type { GraphAdditions, NewNode, InitializerData } from './onnx/instrument';
export { readGraph } from './onnx/graph';
export type { GraphFacts, NodeFacts, ValueFacts } from './onnx/graph';

export { embeddingsFrom, compareEmbeddings, memorySource, diffBaselines, formatEmbeddingReport, openBaseline, readBaseline, readBaselineHeader, writeBaseline, BaselineFileError, FORMAT_VERSION as EMBEDDING_FORMAT_VERSION, DEFAULT_EMBEDDING_TOLERANCE } from './snapshot';
export type { Embeddings, EmbeddingsInput, EmbeddingReport, EmbeddingSide, RowComparison, RowSource, CompareEmbeddingsOptions, NeighborReport, BaselineHeader, BaselineReader, DiffOptions } from './snapshot';
