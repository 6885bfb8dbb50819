/**
 * batchproof: prove an ONNX model gives each sample the same answer whatever the batch.
 * The engine: plain functions returning plain report objects (the CLI prints the same objects).
 *
 * The root holds what a user calls: the checks, fixtures, formatters, errors and their types.
 * The building blocks live in subpaths: `batchproof/io` (array files), `batchproof/onnx` (graph
 * facts and edits), `batchproof/snapshot` (the whole embedding-baseline module).
 */
export { BadInputError, formatValue } from './errors';
export { tool } from './version';

export { openModel, isModelHandle } from './runtime/handle';
export type { ModelHandle, ModelSource } from './runtime/handle';
export type { Runner, RunCall, RunFeeds, RunOutputs, RuntimeName } from './runtime/runner';
export type { SessionSettings, OptimizationLevel } from './runtime/settings';
export type { ProviderName } from './runtime/providers';
export type { ValueInfo } from './runtime/session';

export type { Samples, SampleArray, SynthesisOptions } from './inputs/samples';
export type { InputOptions } from './inputs/prepare';
export type { ShapeOptions } from './inputs/spec';

export { checkBatchInvariance } from './invariance/check';
export type { BatchFunction, BatchOutput, BatchRows } from './runtime/function';
export type { CheckOptions, ToleranceOptions } from './invariance/check';
export { checkDeterminism } from './invariance/determinism';
export type { DeterminismOptions, DeterminismReport } from './invariance/determinism';
export { DEFAULT_SWEEP, DEFAULT_MAX_BATCH } from './invariance/plan';
export type { PlanOptions } from './invariance/plan';
export type { InvarianceReport, BatchReport, Cause, Verdict, WorstElement } from './invariance/report';
export type { Recipe, RowPaddingRecipe, NoRowPaddingRecipe, ServedAnswer } from './invariance/recipe';
export type { ReportEnvelope, ReportTiming } from './report/envelope';

export { parseTolerance, describeTolerance } from './compare/tolerance';
export type { Tolerance } from './compare/tolerance';

export { fingerprintFor, describeFingerprint } from './runtime/fingerprint';
export type { Fingerprint, FingerprintReport } from './runtime/fingerprint';
export { fixture, fixtureSettings } from './runtime/fixture';
export type { Fixture, FixtureOptions } from './runtime/fixture';
export { availableProviders, availableProvidersSync } from './runtime/providers';
export type { ProviderAvailability } from './runtime/providers';
export { compareProviders } from './compare-providers/compare';
export type { CompareProvidersOptions, ProviderSide } from './compare-providers/compare';
export type { ProviderComparisonReport, ComparisonVerdict, SideReport, SideComparison, OutputComparison } from './compare-providers/report';
export { formatProviderComparison } from './compare-providers/text';

export { formatReport } from './report/text';
export { formatDeterminism } from './report/determinism-text';

export { checkRunningStats } from './stats/check';
export type { RunningStatsOptions, StatsReference, StatsTolerance } from './stats/check';
export type { StatsReport, StatsProblem, StatsProblemKind, LayerReport, WorstChannel, CheckpointReport } from './stats/report';
export type { CalibrationData, DataOptions } from './stats/data';
export type { Checkpoint, CheckpointTensors } from './stats/checkpoint';
export { recalibrate } from './stats/recalibrate';
export type { RecalibrationResult, RecalibrationReport, RecalibratedLayer } from './stats/recalibrate';
export { formatStatsReport, formatRecalibration } from './stats/text';
export { locateDivergence } from './locate/locate';
export type { LocateOptions, LocateReport, Divergence } from './locate/locate';
export { formatLocateReport } from './locate/text';

export { embeddingsFrom, compareEmbeddings, diffBaselines, formatEmbeddingReport, openBaseline, readBaseline, readBaselineHeader, writeBaseline, BaselineFileError, FORMAT_VERSION as EMBEDDING_FORMAT_VERSION, DEFAULT_EMBEDDING_TOLERANCE } from './snapshot';
export type { Embeddings, EmbeddingsInput, EmbeddingReport, EmbeddingSide, RowComparison, RowSource, CompareEmbeddingsOptions, NeighborReport, BaselineHeader, BaselineReader, DiffOptions, EmbeddingDType } from './snapshot';
