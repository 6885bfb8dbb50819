/**
 * The matcher object, for `expect.extend(matchers)` in any Jest-compatible runner (Vitest too).
 * Jest users can instead add `batchproof/jest` to setupFilesAfterEnv.
 */
import { toBeBatchInvariant } from './toBeBatchInvariant';
import { toBeDeterministic } from './toBeDeterministic';
import { toMatchAcrossProviders } from './toMatchAcrossProviders';
import { toMatchEmbeddingSnapshot, setEmbeddingSnapshotDefaults } from './toMatchEmbeddingSnapshot';
import { toMatchRunningStats } from './toMatchRunningStats';
import { shareTypedArrays } from './realm';

/** Every batchproof matcher, for expect.extend (the batchproof/jest and batchproof/vitest entries do it for you). */
export const matchers = { toBeBatchInvariant, toBeDeterministic, toMatchAcrossProviders, toMatchEmbeddingSnapshot, toMatchRunningStats };
export { toBeBatchInvariant, toBeDeterministic, toMatchAcrossProviders, shareTypedArrays };
export { toMatchEmbeddingSnapshot, setEmbeddingSnapshotDefaults };
export { toMatchRunningStats };
export type { EmbeddingSnapshotOptions, EmbeddingSnapshotDefaults } from './toMatchEmbeddingSnapshot';
export { describeProviders } from './describeProviders';
export type { DescribeProvidersOptions } from './describeProviders';
export type { BatchInvariantOptions } from './toBeBatchInvariant';
export type { BatchproofMatchers } from './types';
/**
 * The matchers, as the default export: expect.extend(matchers). An ES module imports it through
 * index.mts (package.json's import condition), where it is this object too.
 */
export default matchers;
