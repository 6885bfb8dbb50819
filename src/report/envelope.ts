/**
 * The fields every JSON report starts with, whatever the command: a reader checks `schema` and
 * `kind` before anything else, and `tool` says which batchproof wrote it.
 */
export interface ReportEnvelope<K extends string> {
  /** Bumped only when a field changes meaning or goes away. */
  schema: 1;
  kind: K;
  tool: { name: string; version: string };
}

/** Wall time of a run, and the part of it spent inside the model (both rounded to ms). */
export interface ReportTiming {
  totalMs: number;
  inferenceMs: number;
}
