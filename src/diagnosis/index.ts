/** The diagnosis catalogue: which graph construct makes outputs depend on the batch or the padding, and the fix. */
export { CATALOGUE, defaultBatchAxes, diagnose, graphContext, graphSuspects, maskFacts } from './catalogue';
export type { CatalogueEntry, Diagnosis, DiagnosisKind, GraphContext, MaskFacts, Seen, Suspect, SuspectOptions } from './catalogue';
export { firstPaddingNode } from './padding-node';
export type { PaddingDivergence, PaddingNodeOptions, PaddingNodeReport } from './padding-node';
