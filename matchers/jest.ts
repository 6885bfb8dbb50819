/**
 * `batchproof/jest`: add it to setupFilesAfterEnv. It registers every matcher on Jest's global
 * `expect` and shares Node's typed-array constructors with the test realm so onnxruntime-node
 * works inside Jest without a custom test environment.
 */
// First, before onnxruntime is required anywhere: see share-realm.ts.
import './share-realm';
import { matchers } from './index';
import { installEmbeddingSnapshotHooks } from './toMatchEmbeddingSnapshot';
import type { BatchproofMatchers } from './types';
import type {} from 'expect';

(globalThis as unknown as { expect: { extend(m: object): void } }).expect.extend(matchers);

// Obsolete embedding baselines show up in Jest's own snapshot summary (see the function's note).
installEmbeddingSnapshotHooks((globalThis as unknown as { expect: Parameters<typeof installEmbeddingSnapshotHooks>[0] }).expect, (globalThis as { beforeEach?: (fn: () => void) => void }).beforeEach);

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
