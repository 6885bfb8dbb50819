/** The locate report for people. */
import { describeFingerprint } from '../runtime/fingerprint';
import { num } from '../report/format';
import type { LocateReport } from './locate';
import { colorsFor } from '../report/colors';


/** One line naming the first diverging node (what toBeBatchInvariant adds to its message). */
export function divergenceLine(report: LocateReport): string {
  const d = report.firstDivergence;
  if (!d) return report.summary;
  const guard = report.guard.optimization === 'disabled' && !report.guard.equal ? ' (searched with graph optimization disabled)' : '';
  return `first diverging node: '${d.node}' (${d.op}), output '${d.output}', max abs ${num(d.maxAbs)}, cause ${d.cause}${guard}`;
}

/** A locate report as the text `batchproof locate` prints (colors only when asked). */
export function formatLocateReport(report: LocateReport, options: { color?: boolean } = {}): string {
  const c = colorsFor(options.color);
  const lines: string[] = [];
  const d = report.firstDivergence;
  lines.push(`${c.bold(report.model.path)}: ${d ? c.red(c.bold(`diverges at ${d.node}`)) : c.green(c.bold('no diverging node'))}`);
  lines.push(`  ${report.summary}`);
  if (report.compared) {
    const k = report.compared;
    lines.push(
      c.dim(
        `compared probe ${k.probe}: ${k.runs[0]} run (position ${k.positions[0]}) vs ${k.runs[1]} run (position ${k.positions[1]}), batch ${k.batchSize}; ` +
          `${report.values.compared} values compared, ${report.values.skipped} skipped (not per-sample); tolerance ${report.tolerance}`,
      ),
    );
  }
  if (d && report.firstBitwise && report.firstBitwise.node !== d.node) {
    lines.push(`the first bitwise difference (within the tolerance) is earlier, at '${report.firstBitwise.node}' (${report.firstBitwise.op}), max abs ${num(report.firstBitwise.maxAbs)}`);
  }
  lines.push(c.dim(`check: ${report.check.verdict}${report.check.causes.length ? ` (${report.check.causes.join(', ')})` : ''}`));
  if (!report.guard.equal) lines.push(c.yellow(`guard: ${report.guard.detail}`));
  for (const n of report.notes) if (n !== report.guard.detail) lines.push(c.yellow(`note: ${n}`));
  lines.push(c.dim(`${report.timing.inferenceMs} ms inference, ${report.timing.totalMs} ms total`));
  lines.push(c.dim(`fingerprint: ${describeFingerprint(report.fingerprint)}`));
  return lines.join('\n');
}
