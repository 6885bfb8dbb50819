/**
 * Milliseconds from a fixed point, for timing runs and reports. Not performance.now(): the
 * `performance` global loads Node's perf_hooks, about 1 ms of every CLI run.
 */
export function now(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
