/**
 * `batchproof/jest`: add it to setupFilesAfterEnv. It registers every matcher on Jest's global
 * `expect` and shares Node's typed-array constructors with the test realm so onnxruntime-node
 * works inside Jest without a custom test environment.
 */
// First, before onnxruntime is required anywhere: see share-realm.ts.
import './share-realm';
import { BadInputError } from '../src/errors';
import { testGlobals } from './globals';
import { matchers } from './index';
import { installEmbeddingSnapshotHooks } from './toMatchEmbeddingSnapshot';
import type { BatchproofMatchers } from './types';
import type {} from 'expect';

const { expect, beforeEach } = testGlobals() as { expect?: Parameters<typeof installEmbeddingSnapshotHooks>[0] & { extend?(m: object): void }; beforeEach?: (fn: () => void) => void };
if (typeof expect?.extend !== 'function') {
  throw new BadInputError(
    "batchproof/jest registers batchproof's matchers on Jest's expect, and there is no Jest here: list it in Jest's config (setupFilesAfterEnv: ['batchproof/jest']); under Vitest use batchproof/vitest, and for another runner expect.extend(matchers) with matchers from batchproof/matchers",
  );
}
expect.extend(matchers);

// Obsolete embedding baselines show up in Jest's own snapshot summary (see the function's note).
installEmbeddingSnapshotHooks(expect, beforeEach);

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace jest {
    // eslint-disable-next-line @typescript-eslint/no-unused-vars, @typescript-eslint/no-empty-interface
    interface Matchers<R, T = {}> extends BatchproofMatchers<R> {}
  }
}

declare module 'expect' {
  // eslint-disable-next-line @typescript-eslint/no-empty-interface
  interface Matchers<R extends void | Promise<void>, T = unknown> extends BatchproofMatchers<R> {}
}

export {};
