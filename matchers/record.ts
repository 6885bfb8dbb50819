/**
 * The matchers' half of `batchproof/reporter`: each matcher hands its report here, and when the
 * reporter runs (it sets BATCHPROOF_REPORT_DIR in Jest's main process before the workers are
 * forked, so they inherit it) the report is written there as one JSON file, with the test that
 * made it. Without the variable this is one environment read: matchers pay nothing.
 */
import * as fs from 'fs';
import * as path from 'path';
import { toJson } from '../src/cli/output';

/** The variable the reporter sets to its run directory. */
export const REPORT_DIR_ENV = 'BATCHPROOF_REPORT_DIR';

/** One file in the run directory: what the reporter joins with Jest's test results. */
export interface RecordedReport {
  testPath: string | null;
  /** As Jest's `fullName`: describe titles and the test's title, joined by spaces. */
  testName: string | null;
  report: unknown;
  /** Made by a `.not` matcher (absent otherwise): a failing verdict was what the test expected. */
  isNot?: boolean;
}

/** The parts of a matcher's `this` (Jest's and Vitest's) that say which test is running. */
export interface RecordContext {
  testPath?: string;
  currentTestName?: string;
  currentConcurrentTestName?: () => string | undefined;
  isNot?: boolean;
}

let counter = 0;
let warned = false;

/** Records a matcher's report for the reporter; never throws (a report page must not fail a test). */
export function recordReport(context: RecordContext | undefined, report: unknown): void {
  const dir = process.env[REPORT_DIR_ENV];
  if (!dir || report === undefined || report === null) return;
  try {
    // Concurrent tests share currentTestName; Jest's own snapshot matchers read this one first.
    const concurrent = typeof context?.currentConcurrentTestName === 'function' ? context.currentConcurrentTestName() : undefined;
    const record: RecordedReport = { testPath: context?.testPath ?? null, testName: concurrent || context?.currentTestName || null, report, ...(context?.isNot ? { isNot: true } : {}) };
    const name = `${process.pid}-${Date.now().toString(36)}-${(counter++).toString(36)}.json`;
    // Written beside, then renamed: the reporter never reads half a record from a worker killed mid-write.
    const partial = path.join(dir, `.${name}.partial`);
    fs.writeFileSync(partial, toJson(record));
    fs.renameSync(partial, path.join(dir, name));
  } catch (e) {
    if (!warned) {
      warned = true;
      process.stderr.write(`batchproof/reporter: could not record a report in ${dir} (${(e as Error)?.message ?? e}); the page will miss it\n`);
    }
  }
}
