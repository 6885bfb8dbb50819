/**
 * `batchproof/vitest`: add it to Vitest's `setupFiles`. It registers every matcher on Vitest's
 * `expect`, and its types add them to Vitest's `Assertion` (`expect(x).toBeBatchInvariant()`), so
 * a Vitest project copies no snippet. ESM (.mts): Vitest cannot be required from CommonJS, and
 * batchproof does not depend on it (an optional peer).
 */
// First, before onnxruntime is required anywhere (vmThreads/vmForks pools run each file in its own realm): see share-realm.ts.
import './share-realm.js';
import { BadInputError } from '../src/errors.js';
import { matchers } from './index.js';
import { installEmbeddingSnapshotHooks } from './toMatchEmbeddingSnapshot.js';
import type { BatchproofMatchers } from './types.js';

const VITEST_MISSING =
  "batchproof/vitest registers batchproof's matchers on Vitest's expect, and Vitest is not installed here: npm install --save-dev vitest (3 or later); under Jest use batchproof/jest (setupFilesAfterEnv: ['batchproof/jest']) instead";

/** The error of importing 'vitest' where it is not installed (Node's, or Vite's when batchproof is inlined). */
function vitestMissing(e: unknown): boolean {
  const message = String((e as Error)?.message ?? '');
  return /Cannot find (package|module) ['"]vitest['"]|Failed to (load|resolve) (url|import) ['"]?vitest['"]?(\s|$)/.test(message);
}

// Imported here, not statically: a static import of a package that is not installed fails
// before any of this module runs, with Node's stack trace of its resolver and no word of the fix.
let vitest: { afterEach(fn: (context: { task: { result?: { state?: string } } }) => void): void; beforeEach(fn: () => void): void; expect: Parameters<typeof installEmbeddingSnapshotHooks>[0] & { extend(m: object): void; getState(): unknown } };
try {
  // @ts-ignore -- vitest is the user's dependency, absent when batchproof itself is type-checked.
  vitest = await import('vitest');
} catch (e) {
  if (!vitestMissing(e)) throw e;
  throw new BadInputError(VITEST_MISSING);
}
const { afterEach, beforeEach, expect } = vitest;

expect.extend(matchers);

// Obsolete embedding baselines in Vitest's own summary, removed by -u, as under Jest. Vitest makes
// a file's snapshot state before its first test and asks it for unchecked keys after its last
// (skipped tests are marked then, after every hook here), so the first test installs the hooks.
beforeEach(() => installEmbeddingSnapshotHooks(expect));
// Vitest leaves a failed test's snapshots unchecked (so -u would delete them); Jest marks them
// kept. A baseline must never be lost to a failure before its matcher ran: mark them as Jest does.
afterEach((context: { task: { result?: { state?: string } } }) => {
  if (context.task.result?.state !== 'fail') return;
  const { snapshotState, currentTestName } = expect.getState() as { snapshotState?: { markSnapshotsAsCheckedForTest?(name: string): void }; currentTestName?: string };
  if (currentTestName) snapshotState?.markSnapshotsAsCheckedForTest?.(currentTestName);
});

// Not AsymmetricMatchersContaining: the async matchers cannot work there (an asymmetric match is
// synchronous, a promise never passes), and typing them there would promise what cannot run.
// @ts-ignore -- as above: Vitest's types are there in a Vitest project, where this applies.
declare module 'vitest' {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any, @typescript-eslint/no-unused-vars, @typescript-eslint/no-empty-interface
  interface Assertion<T = any> extends BatchproofMatchers<void> {}
}
