import type { Fingerprint } from '../runtime/fingerprint';
import type { ReportEnvelope, ReportTiming } from '../report/envelope';

/** The kinds of problem the running-statistics check reports (names are a contract). */
export type StatsProblemKind = 'training-mode' | 'stale-stats' | 'checkpoint-mismatch' | 'no-batchnorm' | 'missing-stats' | 'invalid-stats';

/** One problem the running-statistics check found, on one BatchNorm layer or on the model. */
export interface StatsProblem {
  kind: StatsProblemKind;
  /** The BatchNormalization node, or null for problems of the whole model. */
  node: string | null;
  /** One line: what is wrong and what to do. */
  detail: string;
}

/** The channel of a layer furthest from its reference. */
export interface WorstChannel {
  channel: number;
  z: number;
  ratio: number;
  /** Reference mean and variance: the calibration data's, or the checkpoint's. */
  mean: number;
  var: number;
  /** What the model stores. */
  runningMean: number;
  runningVar: number;
}

/** One BatchNormalization node compared with one reference. */
export interface LayerReport {
  node: string;
  /** The value the node normalises. */
  input: string;
  channels: number | null;
  /** Largest |mean - running_mean| / sqrt(running_var + eps) over channels; null when not compared. */
  maxZ: number | null;
  /** Smallest and largest var / running_var over channels; null when not compared. */
  varRatio: [number, number] | null;
  /**
   * Within the tolerance. False for a layer in training mode or without stored statistics,
   * whatever it was compared with; true for a layer with nothing to compare it to otherwise.
   */
  pass: boolean;
  /** What the stored statistics were compared with. */
  against: 'data' | 'checkpoint' | null;
  worstChannel: WorstChannel | null;
  trainingMode: boolean;
  epsilon: number;
  momentum: number;
  /** Names of the stored running mean and variance. */
  runningMean: string;
  runningVar: string;
  /** For checkpoints: the state_dict prefix matched (e.g. "bn2"). */
  checkpointPrefix?: string;
}

/** How the model's stored statistics compare with a training checkpoint's. */
export interface CheckpointReport {
  source: string;
  entries: number;
  /** BatchNorm layers found in the checkpoint. */
  matched: number;
  /** Checkpoint statistics no layer of the model took, and why. */
  unmatched: { key: string; reason: string }[];
  /** Layers of the model the checkpoint has nothing for, with the names tried. */
  missing: { node: string; tried: string[] }[];
}

/** What checkRunningStats returns and `batchproof stats --json` prints. */
export interface StatsReport extends ReportEnvelope<'running-stats'> {
  model: { path: string; opset: number; batchNorms: number };
  fingerprint: Fingerprint;
  reference: {
    kind: 'data' | 'checkpoint' | 'data+checkpoint' | 'none';
    data: { source: string; batches: number; samples: number } | null;
    checkpoint: CheckpointReport | null;
  };
  tolerance: { z: number; ratio: [number, number] };
  /** 'healthy' when there are no problems. */
  verdict: 'healthy' | 'problems';
  problems: StatsProblem[];
  /** Every BatchNorm node in topological order (twice when both data and a checkpoint are given). */
  layers: LayerReport[];
  /**
   * The first failing layer in topological order. Later layers inherit its shift, so it is the
   * one to look at first.
   */
  firstMismatch: LayerReport | null;
  summary: string;
  notes: string[];
  timing: ReportTiming;
}
