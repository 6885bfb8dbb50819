import type { LogHistogram } from '../compare/histogram';
import type { RowsComparison } from '../invariance/report';
import type { Fingerprint } from '../runtime/fingerprint';
import type { SessionSettings } from '../runtime/settings';
import type { ReportEnvelope, ReportTiming } from '../report/envelope';

/** 'identical': bitwise equal on every side; 'different': beyond the tolerance somewhere. */
export type ComparisonVerdict = 'identical' | 'within-tolerance' | 'different';

/** One side of the comparison: how its session was made, and where it ran. */
export interface SideReport {
  /** "cpu", "cpu (threads 2)", "webgpu (device 0)". */
  label: string;
  settings: SessionSettings;
  fingerprint: Fingerprint;
  /** The same batch run twice on this side gave bitwise equal outputs. */
  repeatable: boolean;
  inferenceMs: number;
  /** Present when the sides batch differently: this side ran the samples in batches of this size. */
  batchSize?: number;
}

/** One output of one side against the reference, over every sample of the batch. */
export interface OutputComparison extends RowsComparison {
  output: string;
  /** Set when the two sides' outputs do not even have the same dims. */
  shapeMismatch: { expected: number[]; actual: number[] } | null;
  /**
   * Every element's |a - b| by decade, as Polygraphy shows: `zero` exactly equal elements,
   * `nonFinite` NaN or ±Inf differences, `counts[k]` those with edges[k] <= err < edges[k + 1].
   * zero + nonFinite + the counts = every element compared (all zero when the shapes differ).
   */
  errorHistogram: LogHistogram;
}

/** One side against the reference side, output by output. */
export interface SideComparison {
  /** The side compared with the reference (sides[0]). */
  side: string;
  verdict: ComparisonVerdict;
  outputs: OutputComparison[];
}

/** What compareProviders returns and `batchproof compare --json` prints. */
export interface ProviderComparisonReport extends ReportEnvelope<'provider-comparison'> {
  model: {
    path: string;
    inputs: { name: string; dtype: string; shape: (number | string)[]; batchAxis: number | null }[];
    outputs: { name: string; dtype: string; shape: (number | string)[]; batchAxis: number | null }[];
    dims: Record<string, number>;
    defaultedDims: string[];
  };
  /** The batch every side ran: the same inputs, byte for byte. */
  samples: { source: 'synthesized' | 'user'; seed: number; count: number | null; batchSize: number };
  /** The reference side's fingerprint (sides[0].fingerprint), as every report carries one. */
  fingerprint: Fingerprint;
  /** sides[0] is the reference; each other side is compared with it. Both fingerprints are here. */
  sides: SideReport[];
  tolerance: Record<string, string>;
  verdict: ComparisonVerdict;
  summary: string;
  comparisons: SideComparison[];
  /** The smallest tolerance of each kind that would have passed every comparison (floats only). */
  minimumTolerance: { atol: number; rtol: number; ulp: number; cosine: number };
  worst: {
    side: string;
    output: string;
    /** Sample (row of the batch) and index within its output. */
    sample: number;
    index: number[];
    expected: number;
    actual: number;
    absDiff: number;
    ulp: number;
  } | null;
  notes: string[];
  runs: { side: string; batchSize: number; calls: number }[];
  timing: ReportTiming;
}
