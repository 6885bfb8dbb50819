import type { ResolvedTolerance } from '../compare/tolerance';
import type { Fingerprint } from '../runtime/fingerprint';
import type { Diagnosis } from '../diagnosis';
import type { SynthesisFact } from '../inputs/samples';
import type { PaddingReport } from './padding';
import type { Recipe, ServedAnswer } from './recipe';
import type { RunLog } from '../runtime/runner';
import type { ReportEnvelope, ReportTiming } from '../report/envelope';

/** The kinds of difference batchproof tells apart (names are a contract). */
export type Cause = 'leakage' | 'position' | 'batch-size' | 'nondeterminism' | 'padding';
/** 'invariant': bitwise equal everywhere; 'within-tolerance': equal within it; 'violated': beyond it somewhere. */
export type Verdict = 'invariant' | 'within-tolerance' | 'violated';

export interface ValueReport {
  name: string;
  dtype: string;
  /** Declared dims (strings for symbolic ones). */
  shape: (number | string)[];
  batchAxis: number | null;
}

/** How a set of samples' outputs compares with their references: shared by every report. */
export interface RowsComparison {
  maxAbs: number;
  maxRel: number;
  maxUlp: number;
  /** Largest L1 distance of one sample's output (the forum's "L1 per embedding"). */
  maxL1: number;
  minCosine: number;
  /** Every row bitwise equal to its reference. */
  bitExact: boolean;
  /** How many rows were bitwise equal, of how many compared. */
  equalRows: number;
  comparedRows: number;
  pass: boolean;
}

/** One output's drift at one batch size: what a per-output chart draws. */
export interface BatchOutputReport {
  output: string;
  /** Largest |actual - reference| over the probe rows of this size (batch, mates, permuted runs). */
  maxAbs: number;
  maxUlp: number;
  /** Every one of those rows within this output's tolerance (`toleranceSpec[output]`). */
  pass: boolean;
}

/** One batch size of the sweep, compared against each probe's reference. */
export interface BatchReport extends RowsComparison {
  size: number;
  /** Rows where probes sat. */
  positions: number[];
  causes: Cause[];
  /** The same comparison output by output (the figures above are their maximum), in the model's output order. */
  outputs: BatchOutputReport[];
}

/** The element that differs most, with both values. */
export interface WorstElement {
  output: string;
  batchSize: number;
  position: number;
  probe: number;
  run: string;
  /** Index within one sample's output slice. */
  index: number[];
  expected: number;
  actual: number;
  absDiff: number;
  ulp: number;
}

/** What checkBatchInvariance returns and `batchproof check --json` prints. */
export interface InvarianceReport extends ReportEnvelope<'batch-invariance'> {
  model: {
    path: string;
    /** Each input, and how its samples were made (range, table, mask, positions, or the user's). */
    inputs: (ValueReport & { synthesis: SynthesisFact })[];
    outputs: ValueReport[];
    /** Sizes used for symbolic dims other than the batch axis. */
    dims: Record<string, number>;
    /** Symbolic dims that took the default size (16). */
    defaultedDims: string[];
  };
  samples: { source: 'synthesized' | 'user'; seed: number; count: number | null };
  plan: { reference: number; probes: number; sizes: number[]; skipped: number[]; budgetSeconds: number | null };
  fingerprint: Fingerprint;
  /** Per output: the tolerance applied, in words. */
  tolerance: Record<string, string>;
  /** Per output: the same tolerance as numbers (integer outputs always 'exact'), as EmbeddingReport.toleranceSpec. */
  toleranceSpec: Record<string, ResolvedTolerance>;
  verdict: Verdict;
  causes: Cause[];
  /** One line that answers the question. */
  summary: string;
  /** The served sizes compared, and what padding makes them equal, in one line. */
  answer: string;
  /** (size, position) pairs whose probe outputs are bitwise identical, grouped. */
  classes: { sizes: number[]; positions: 'all' | number[] }[];
  /** The classes in one line: "{1} | {2..64, every position}". */
  classesText: string;
  /** The batch sizes the user's system serves (default: the reference and the largest), compared. */
  served: ServedAnswer;
  /** Pad batches smaller than padTo up to it; null when no padding can work (see recipeReason). */
  recipe: Recipe | null;
  recipeReason: string | null;
  batches: BatchReport[];
  /** Same batch twice: the reference and the largest batch. */
  reruns: { run: 'reference' | 'largest batch'; size: number; bitExact: boolean; maxAbs: number }[];
  /**
   * The outlier run (the smallest batch again, its other rows 100 times larger) against that
   * batch with ordinary batch-mates: the first probe's comparison, which no row of `batches`
   * shows. Null when it was not run (no float input, or no batch has batch-mates).
   */
  outlier: { size: number; probe: number; maxAbs: number; bitExact: boolean; pass: boolean } | null;
  /** The smallest tolerance of each kind that would have passed (floats only). */
  minimumTolerance: { atol: number; rtol: number; ulp: number; cosine: number };
  worst: WorstElement | null;
  /** Named culprits and their fixes (empty when nothing leaked and the pads stayed out). */
  diagnosis: Diagnosis[];
  /** Sequence padding (pad tokens): whether it was tested, how, and each padding run's comparison. */
  padding: PaddingReport;
  /** Outputs holding NaN or Inf, reported, not fatal. */
  nonFinite: { output: string; count: number }[];
  notes: string[];
  runs: RunLog[];
  timing: ReportTiming;
}
