import { describeFingerprint } from '../runtime/fingerprint';
import type { DeterminismReport } from '../invariance/determinism';
import { exact, minimumToleranceLine, num } from './format';
import { colorsFor, verdictColor } from './colors';

/** A determinism report as the text `batchproof determinism` prints (colors only when asked). */
export function formatDeterminism(report: DeterminismReport, options: { color?: boolean } = {}): string {
  const c = colorsFor(options.color);
  const paint = verdictColor(report.verdict, c);
  const lines = [`${c.bold(report.model.path)}: ${paint(c.bold(report.verdict))}`];
  lines.push(
    report.differingRuns.length === 0
      ? `  the same batch of ${report.batchSize} run ${report.repeats} times: every output bitwise equal`
      : `  the same batch of ${report.batchSize} run ${report.repeats} times: ${report.differingRuns.length === 1 ? 'run' : 'runs'} ${report.differingRuns.join(', ')} ${report.differingRuns.length === 1 ? 'differs' : 'differ'} from run 1 by up to ${num(report.maxAbs)} (${num(report.maxUlp)} ULP)`,
  );
  const f = report.firstCall;
  if (f) {
    lines.push(
      f.bitExact
        ? `  the first call (sample 0 alone, which learnt the outputs) and sample 0 alone again: bitwise equal`
        : `  the first call (sample 0 alone, which learnt the outputs) and sample 0 alone again differ by up to ${num(f.maxAbs)} (${num(f.maxUlp)} ULP)${report.differingRuns.length === 0 ? ': the first answer is not the later ones (a warm-up: a cache or state filled on the first call)' : ''}${f.pass ? ', within the tolerance' : ''}`,
    );
    if (f.worst) lines.push(`worst element of the first call: output '${f.worst.output}' flat index ${f.worst.index}: expected ${exact(f.worst.expected)}, got ${exact(f.worst.actual)}`);
  }
  if (report.worst) {
    const w = report.worst;
    lines.push(`worst element: output '${w.output}' flat index ${w.index}, run ${w.run}: expected ${exact(w.expected)}, got ${exact(w.actual)}`);
  }
  // As check says it: the smallest of each kind that passes every comparison, when a run differed.
  const m = report.minimumTolerance;
  if (m && report.verdict !== 'deterministic') {
    const outputs = (report.outputs ?? []).map((o) => ({ name: o.output, dtype: o.dtype }));
    lines.push(minimumToleranceLine(m, outputs, report.outputs ?? []));
    // Outputs whose minimums differ: each one's, for a tolerance per output (outputTolerances).
    const differing = (report.outputs ?? []).filter((o) => !o.bitExact);
    if (differing.length > 1 || (differing.length === 1 && report.outputs.length > 1)) {
      for (const o of report.outputs) {
        lines.push(`  output '${o.output}': ${o.bitExact ? 'bitwise equal in every run' : minimumToleranceLine(o.minimumTolerance, [{ name: o.output, dtype: o.dtype }], [o]).replace(/^minimum tolerance that passes: /, '')}`);
      }
    }
  }
  // The tolerance the verdict was judged by, one for all outputs or each output's.
  const tolerances = [...new Set(Object.values(report.tolerance))];
  if (tolerances.length) lines.push(`tolerance: ${tolerances.length === 1 ? tolerances[0] : Object.entries(report.tolerance).map(([k, v]) => `${k}: ${v}`).join('; ')}`);
  for (const note of report.notes ?? []) lines.push(c.yellow(`note: ${note}`));
  lines.push(c.dim(`fingerprint: ${describeFingerprint(report.fingerprint)}`));
  return lines.join('\n');
}
