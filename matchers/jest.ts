/**
 * `batchproof/jest`: add it to setupFilesAfterEnv. It registers every matcher on Jest's global
 * `expect` and shares Node's typed-array constructors with the test realm so onnxruntime-node
 * works inside Jest without a custom test environment.
 */
// First, before onnxruntime is required anywhere: see share-realm.ts.
import './share-realm';
import { matchers } from './index';
import type { BatchproofMatchers } from './types';
import type {} from 'expect';

(globalThis as unknown as { expect: { extend(m: object): void } }).expect.extend(matchers);

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
