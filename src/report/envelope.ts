/**
 * The fields every JSON report has, whatever the command: a reader checks `schema` and `kind`
 * before anything else, and `tool` says which batchproof wrote it. Every report also has a
 * `fingerprint` (what ran where), declared by each report: a run's Fingerprint, or for an
 * embedding diff the parts where baseline and current differ.
 */
export interface ReportEnvelope<K extends string> {
  /** Bumped only when a field changes meaning or goes away. */
  schema: 1;
  kind: K;
  tool: { name: string; version: string };
  /** What a reader should know beside the verdict; [] when nothing. */
  notes: string[];
  timing: ReportTiming;
}

/** Wall time of a run, and the part of it spent inside the model (both rounded to ms). */
export interface ReportTiming {
  totalMs: number;
  inferenceMs: number;
}
