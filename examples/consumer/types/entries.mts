// Type-checked by test/consumer/consumer.test.ts (tsc under node16 and bundler resolution,
// strict, no skipLibCheck), never run: every entry's types resolve from an ES module, with no
// `any` where a user reads a result.
/// <reference types="batchproof/jest" />
import { expect } from '@jest/globals';
import { checkBatchInvariance, checkDeterminism, compareProviders, checkRunningStats, recalibrate, locateDivergence, diffBaselines, fixture, availableProviders, BadInputError } from 'batchproof';
import type { Recipe, InvarianceReport, DeterminismReport, ProviderComparisonReport, StatsReport, RecalibrationReport, LocateReport, EmbeddingReport, FingerprintReport, ReportEnvelope, CheckOptions, ModelHandle, Fingerprint } from 'batchproof';
import { matchers, describeProviders } from 'batchproof/matchers';
import defaultMatchers from 'batchproof/matchers';
import type { BatchproofMatchers } from 'batchproof/matchers';
import { parseNpy, readArrayFile, type NumericArray } from 'batchproof/io';
import { readGraph, type GraphFacts } from 'batchproof/onnx';
import { memorySource, embeddingsFrom, type RowSource } from 'batchproof/snapshot';
import { BatchproofReporter, pagePath, type BatchproofReporterOptions } from 'batchproof/reporter';
import DefaultReporter from 'batchproof/reporter';

type IsAny<T> = 0 extends 1 & T ? true : false;
/** Compiles only when T is not `any`. */
const typed = <T,>(value: T & (IsAny<T> extends true ? never : unknown)): T => value;

/** Every JSON report, by its `kind`: a missing or unknown kind fails to compile. */
type AnyReport = InvarianceReport | DeterminismReport | ProviderComparisonReport | StatsReport | RecalibrationReport | LocateReport | EmbeddingReport | FingerprintReport;
export const kinds: Record<AnyReport['kind'], true> = {
  'batch-invariance': true,
  determinism: true,
  'provider-comparison': true,
  'running-stats': true,
  recalibration: true,
  locate: true,
  'embedding-diff': true,
  fingerprint: true,
};
export const envelope = (r: AnyReport): ReportEnvelope<AnyReport['kind']> => r;

export async function esm(model: string): Promise<void> {
  const options: CheckOptions = { batchSizes: [1, 2], tolerance: 'exact' };
  const report = typed(await checkBatchInvariance(model, options));
  const verdict: 'invariant' | 'within-tolerance' | 'violated' = typed(report.verdict);
  typed(report.batches[0].maxAbs);
  // The recipe narrows on padTo: a number has its filler, the sizes it covers and whether it was verified.
  const recipe: Recipe | null = report.recipe;
  if (recipe && recipe.padTo !== null) {
    const covers: number[] = typed(recipe.covers);
    const verified: boolean = typed(recipe.verified);
    void [covers, verified];
  }
  typed((await checkDeterminism(model)).verdict);
  typed((await compareProviders(model, ['cpu', 'wasm'])).comparisons);
  typed((await checkRunningStats(model, 'calibration.npz')).problems);
  typed((await recalibrate(model, 'calibration.npz')).report);
  typed((await locateDivergence(model)).firstDivergence);
  typed((await diffBaselines('a.emb', 'b.emb')).verdict);
  const fx = fixture({ provider: 'cpu' });
  const handle: ModelHandle = typed(await fx.load(model));
  typed(handle.session);
  const fingerprint: Fingerprint = typed(await fx.fingerprint());
  typed((await availableProviders())[0].reason);
  typed(new BadInputError('x').message);
  await expect(model).toBeBatchInvariant({ servedSizes: [1, 64] });
  // @ts-expect-error a batch size is a number
  await expect(model).toBeBatchInvariant({ batchSizes: ['eight'] });
  const m: BatchproofMatchers<void> = typed(expect(model));
  typed(matchers.toBeBatchInvariant);
  // The default import is the matcher object, from an ES module as from CommonJS.
  const sameMatchers: typeof matchers = typed(defaultMatchers);
  typed(sameMatchers.toMatchEmbeddingSnapshot);
  // @ts-expect-error describeProviders is no matcher, and not in the default export
  typed(defaultMatchers.describeProviders);
  typed(describeProviders);
  const arr: NumericArray = typed(parseNpy(new Uint8Array(), 'a.npy'));
  typed(await readArrayFile('a.npz'));
  const graph: GraphFacts = typed(readGraph(new Uint8Array(), model));
  const rows: RowSource = typed(memorySource(embeddingsFrom([[1, 0]])));
  const options2: BatchproofReporterOptions = { outputFile: 'page.html' };
  typed(new BatchproofReporter({ rootDir: '.' }, options2));
  // The default import is the class itself, under ES and CommonJS modules alike.
  typed<BatchproofReporter>(new DefaultReporter({ rootDir: '.' }, options2));
  typed(pagePath('page.html', '.'));
  void [verdict, fingerprint, m, arr, graph, rows];
}
