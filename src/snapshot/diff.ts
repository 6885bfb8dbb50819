import fs = require('fs');
import type { Tolerance } from '../compare/tolerance';
import { compareEmbeddings, DEFAULT_EMBEDDING_TOLERANCE, EmbeddingReport, toleranceFromResolved } from './compare';
import { BadInputError, formatValue } from '../errors';
import { checkSnapshotOptions } from './options';
import { resolveTolerance } from '../compare/tolerance';
import type { ResolvedTolerance } from '../compare/tolerance';
import { BaselineFileError } from './format';
import { openBaseline } from './store';

const DIFF_KEYS = ['tolerance', 'neighbors', 'chunkBytes'] as const;

/** Options of diffBaselines: the tolerance, the neighbour check and how much to read at a time. */
export interface DiffOptions {
  /** Default: the tolerance recorded in the first file, else { cosine: 1e-6 }. */
  tolerance?: Tolerance;
  neighbors?: { k: number };
  chunkBytes?: number;
}

/**
 * Two baseline files compared (CI artifacts from two machines, before and after an upgrade):
 * the same report as the matcher's, both streamed a chunk at a time. `a` is the baseline.
 */
export function diffBaselines(a: string, b: string, options: DiffOptions = {}): EmbeddingReport {
  checkSnapshotOptions(options, DIFF_KEYS, 'diffBaselines');
  for (const [which, file] of [['first', a], ['second', b]] as const) {
    if (typeof file !== 'string' || file === '') throw new BadInputError(`diffBaselines: the ${which} baseline must be the path of a .emb file, got ${formatValue(file)}`);
  }
  // openBaseline checks each path is a regular file before opening it: never EISDIR or a hang on a FIFO.
  const ra = openBaseline(a);
  try {
    const rb = openBaseline(b);
    try {
      // One file against itself (the same path twice, a link, a hard link) is bitwise equal by
      // construction: an 'identical' that compared nothing.
      const sa = fs.statSync(a);
      const sb = fs.statSync(b);
      if (sa.dev === sb.dev && sa.ino === sb.ino) {
        throw new BadInputError(`diffBaselines: ${a} and ${b} are the same file, so they would read as identical whatever it holds; give the baseline and another file to compare with it (a CI artifact, the baseline from another machine)`);
      }
      const recorded = options.tolerance === undefined ? recordedTolerance(ra.header.tolerance, a) : undefined;
      const report = compareEmbeddings(ra, rb, {
        tolerance: options.tolerance ?? recorded ?? DEFAULT_EMBEDDING_TOLERANCE,
        neighbors: options.neighbors,
        chunkBytes: options.chunkBytes,
        baselineFingerprint: ra.header.fingerprint,
        currentFingerprint: rb.header.fingerprint,
      });
      Object.assign(report.baseline, { file: a, key: ra.header.key, created: ra.header.created });
      Object.assign(report.current, { file: b, key: rb.header.key, created: rb.header.created });
      return report;
    } finally {
      rb.close();
    }
  } finally {
    ra.close();
  }
}

/** The tolerance recorded in a baseline's header; a damaged one blames the file and names the cure. */
function recordedTolerance(t: ResolvedTolerance | null, file: string): Tolerance | undefined {
  if (t === null || t === undefined) return undefined;
  let tolerance: Tolerance | undefined;
  try {
    tolerance = typeof t === 'object' ? toleranceFromResolved(t) : undefined;
    if (tolerance !== undefined) resolveTolerance(tolerance, 'float32');
  } catch {
    tolerance = undefined;
  }
  if (tolerance === undefined) {
    throw new BaselineFileError(`${file}: the tolerance recorded in its header (${formatValue(t)}) is not valid; pass one with --tolerance, or rewrite the baseline with -u`, file, 'corrupt');
  }
  return tolerance;
}
