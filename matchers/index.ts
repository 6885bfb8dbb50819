/**
 * The matcher object, for `expect.extend(matchers)` in any Jest-compatible runner (Vitest too).
 * Jest users can instead add `batchproof/jest` to setupFilesAfterEnv.
 */
import { toBeBatchInvariant } from './toBeBatchInvariant';
import { toBeDeterministic } from './toBeDeterministic';
import { shareTypedArrays } from './realm';

export const matchers = { toBeBatchInvariant, toBeDeterministic };
export { toBeBatchInvariant, toBeDeterministic, shareTypedArrays };
export type { BatchInvariantOptions } from './toBeBatchInvariant';
export type { BatchproofMatchers } from './types';
export default matchers;
