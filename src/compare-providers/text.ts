import Table from 'cli-table3';
import { describeFingerprint } from '../runtime/fingerprint';
import { cosine, exact, minimumToleranceLine, num } from '../report/format';
import type { TextOptions } from '../report/text';
import type { ProviderComparisonReport } from './report';
import { colorsFor, verdictColor } from '../report/colors';


/** The comparison for people: verdict, one table row per side and output, minimum tolerance, both fingerprints. */
export function formatProviderComparison(report: ProviderComparisonReport, options: TextOptions = {}): string {
  const c = colorsFor(options.color);
  const paint = verdictColor(report.verdict, c);
  const reference = report.sides[0];
  const lines: string[] = [];
  lines.push(`${c.bold(report.model.path)}: ${paint(c.bold(report.verdict))} (${report.sides.slice(1).map((s) => s.label).join(', ')} against ${reference.label})`);
  lines.push(`  ${report.summary}`);
  const table = new Table({
    head: ['side', 'output', 'max abs', 'max rel', 'max ULP', 'L1 (max/sample)', 'min cosine', 'bitwise equal', 'pass'],
    style: { head: [], border: [], compact: true },
    colAligns: ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'left'],
  });
  for (const comparison of report.comparisons) {
    for (const o of comparison.outputs) {
      const mark = o.pass ? (o.bitExact ? String : c.yellow) : c.red;
      table.push([
        comparison.side,
        o.output,
        num(o.maxAbs),
        num(o.maxRel),
        num(o.maxUlp),
        num(o.maxL1),
        cosine(o.minCosine),
        `${o.equalRows}/${o.comparedRows}`,
        mark(o.pass ? 'yes' : 'NO'),
      ].map(String));
    }
  }
  lines.push(table.toString());
  for (const comparison of report.comparisons) {
    for (const o of comparison.outputs) {
      if (o.shapeMismatch) lines.push(c.red(`${comparison.side}: output '${o.output}' has dims [${o.shapeMismatch.actual.join(', ')}], ${reference.label} has [${o.shapeMismatch.expected.join(', ')}]`));
    }
  }
  if (report.worst) {
    const w = report.worst;
    lines.push(
      `worst element: ${w.side}, output '${w.output}'[${w.index.join(', ')}] of sample ${w.sample}: ` +
        `${reference.label}: ${exact(w.expected)}; ${w.side}: ${exact(w.actual)} (abs ${num(w.absDiff)}, ${num(w.ulp)} ULP)`,
    );
  }
  const m = report.minimumTolerance;
  if (report.verdict !== 'identical') {
    lines.push(minimumToleranceLine(m, report.model.outputs, report.comparisons.flatMap((c) => c.outputs)));
  }
  const tolerances = [...new Set(Object.values(report.tolerance))];
  lines.push(`tolerance: ${tolerances.length === 1 ? tolerances[0] : Object.entries(report.tolerance).map(([k, v]) => `${k}: ${v}`).join('; ')}`);
  const s = report.samples;
  const batching = report.sides.some((side) => side.batchSize !== undefined)
    ? report.runs.map((r) => {
      if (r.batchSize === s.batchSize) return `${r.side} in one batch`;
      const last = s.batchSize % r.batchSize; // the samples left for a last, smaller batch
      return `${r.side} in ${r.calls / 2} batches of ${r.batchSize}${last ? ` (the last of ${last})` : ''}`;
    }).join(', ')
    : 'in one batch';
  lines.push(c.dim(`same ${s.batchSize} ${s.source} samples${s.source === 'synthesized' ? ` (seed ${s.seed})` : ''} on every side, ${batching}, each batch run twice`));
  for (const note of report.notes) lines.push(c.yellow(`note: ${note}`));
  lines.push(c.dim(`${report.timing.inferenceMs} ms inference, ${report.timing.totalMs} ms total`));
  for (const [i, side] of report.sides.entries()) {
    lines.push(c.dim(`fingerprint ${i === 0 ? '(reference) ' : ''}${side.label}: ${describeFingerprint(side.fingerprint)}`));
  }
  return lines.join('\n');
}
