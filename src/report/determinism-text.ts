import { describeFingerprint } from '../runtime/fingerprint';
import type { DeterminismReport } from '../invariance/determinism';
import { exact, num } from './format';
import { colorsFor, verdictColor } from './colors';

/** A determinism report as the text `batchproof determinism` prints (colors only when asked). */
export function formatDeterminism(report: DeterminismReport, options: { color?: boolean } = {}): string {
  const c = colorsFor(options.color);
  const paint = verdictColor(report.verdict, c);
  const lines = [`${c.bold(report.model.path)}: ${paint(c.bold(report.verdict))}`];
  lines.push(
    report.differingRuns.length === 0
      ? `  the same batch of ${report.batchSize} run ${report.repeats} times: every output bitwise equal`
      : `  the same batch of ${report.batchSize} run ${report.repeats} times: runs ${report.differingRuns.join(', ')} differ from run 1 by up to ${num(report.maxAbs)} (${num(report.maxUlp)} ULP)`,
  );
  if (report.worst) {
    const w = report.worst;
    lines.push(`worst element: output '${w.output}' flat index ${w.index}, run ${w.run}: expected ${exact(w.expected)}, got ${exact(w.actual)}`);
  }
  for (const note of report.notes ?? []) lines.push(c.yellow(`note: ${note}`));
  lines.push(c.dim(`fingerprint: ${describeFingerprint(report.fingerprint)}`));
  return lines.join('\n');
}
