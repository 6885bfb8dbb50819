import type { Tolerance } from '../compare/tolerance';
import { compareEmbeddings, DEFAULT_EMBEDDING_TOLERANCE, EmbeddingReport, toleranceFromResolved } from './compare';
import { BadInputError, formatValue } from '../errors';
import { checkSnapshotOptions } from './options';
import { openBaseline } from './store';

const DIFF_KEYS = ['tolerance', 'neighbors', 'chunkBytes'] as const;

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
      const recorded = ra.header.tolerance ? toleranceFromResolved(ra.header.tolerance) : undefined;
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
