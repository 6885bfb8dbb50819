/** Embedding baselines: the file format, its store (atomic writes), comparison and lifecycle. */
export { embeddingsFrom } from './embeddings';
export type { Embeddings, EmbeddingsInput } from './embeddings';
export { compareEmbeddings, memorySource, fingerprintDifference, DEFAULT_EMBEDDING_TOLERANCE } from './compare';
export type { EmbeddingReport, EmbeddingSide, RowComparison, RowSource, CompareEmbeddingsOptions } from './compare';
export type { NeighborReport } from './neighbors';
export { FORMAT_VERSION, BaselineFileError } from './format';
export type { BaselineHeader, EmbeddingDType } from './format';
export { openBaseline, readBaseline, writeBaseline, readBaselineHeader, baselineFileName, BASELINE_EXT } from './store';
export type { BaselineReader } from './store';
export { diffBaselines } from './diff';
export type { DiffOptions } from './diff';
export { formatEmbeddingReport } from './text';
export { checkEmbeddingSnapshot, baselineFolder, DEFAULT_DIRECTORY } from './lifecycle';
export type { UpdateMode, SnapshotOutcome } from './lifecycle';
