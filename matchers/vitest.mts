/**
 * `batchproof/vitest`: add it to Vitest's `setupFiles`. It registers every matcher on Vitest's
 * `expect`, and its types add them to Vitest's `Assertion` (`expect(x).toBeBatchInvariant()`), so
 * a Vitest project copies no snippet. ESM (.mts): Vitest cannot be required from CommonJS, and
 * batchproof does not depend on it (an optional peer).
 */
// First, before onnxruntime is required anywhere (vmThreads/vmForks pools run each file in its own realm): see share-realm.ts.
import './share-realm.js';
// @ts-ignore -- vitest is the user's dependency, absent when batchproof itself is type-checked.
import { afterEach, beforeEach, expect } from 'vitest';
import { matchers } from './index.js';
import { installEmbeddingSnapshotHooks } from './toMatchEmbeddingSnapshot.js';
import type { BatchproofMatchers } from './types.js';

(expect as { extend(m: object): void }).extend(matchers);

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
