import type { SingleBar } from 'cli-progress';

import { isTerminal } from '../io/terminal';

export { writeFileAtomic } from '../io/atomic';

/** JSON that survives Infinity and NaN (written as strings, since JSON has neither). */
export function toJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : typeof v === 'bigint' ? Number(v) : v),
    2,
  );
}

/**
 * A progress bar on stderr, only on a terminal and only once the work has run for a second,
 * so quick checks and CI logs stay clean. Never under a test runner (the CLI run in-process by
 * a test, whose terminal is the developer's): its lines would land in the captured stderr.
 */
export function progressBar(label: string): { update(done: number, total: number): void; stop(): void } {
  if (process.env.JEST_WORKER_ID !== undefined || process.env.VITEST !== undefined || !isTerminal(2)) return { update() {}, stop() {} };
  const started = Date.now();
  let bar: SingleBar | null = null;
  return {
    update(done, total) {
      if (!bar && Date.now() - started < 1000) return;
      if (!bar) {
        // Loaded only when a bar is drawn: most runs (CI, pipes, quick checks) never need it.
        const { SingleBar, Presets } = require('cli-progress') as typeof import('cli-progress');
        bar = new SingleBar({ stream: process.stderr, format: `${label} [{bar}] {value}/{total} steps`, clearOnComplete: true, hideCursor: true }, Presets.shades_classic);
        bar.start(total, done);
      }
      bar.update(done);
    },
    stop() {
      bar?.stop();
    },
  };
}
