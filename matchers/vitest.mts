/**
 * `batchproof/vitest`: add it to Vitest's `setupFiles`. It registers every matcher on Vitest's
 * `expect`, and its types add them to Vitest's `Assertion` (`expect(x).toBeBatchInvariant()`), so
 * a Vitest project copies no snippet. ESM (.mts): Vitest cannot be required from CommonJS, and
 * batchproof does not depend on it (an optional peer).
 */
// First, before onnxruntime is required anywhere (vmThreads/vmForks pools run each file in its own realm): see share-realm.ts.
import './share-realm.js';
// @ts-ignore -- vitest is the user's dependency, absent when batchproof itself is type-checked.
import { expect } from 'vitest';
import { matchers } from './index.js';
import type { BatchproofMatchers } from './types.js';

(expect as { extend(m: object): void }).extend(matchers);

// Not AsymmetricMatchersContaining: the async matchers cannot work there (an asymmetric match is
// synchronous, a promise never passes), and typing them there would promise what cannot run.
// @ts-ignore -- as above: Vitest's types are there in a Vitest project, where this applies.
declare module 'vitest' {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any, @typescript-eslint/no-unused-vars, @typescript-eslint/no-empty-interface
  interface Assertion<T = any> extends BatchproofMatchers<void> {}
}
