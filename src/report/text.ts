import type TableType from 'cli-table3';
import { describeFingerprint } from '../runtime/fingerprint';
import type { InvarianceReport } from '../invariance/report';
import { cosine, exact, minimumToleranceLine, num, sizeList } from './format';
import { synthesisLine } from './synthesis-text';
import { colorsFor, verdictColor, plain, type Colors } from './colors';


export interface TextOptions {
  /** Colour the verdict and failing rows (default: when the terminal supports it). */
  color?: boolean;
}

/** The per-size table: the forum thread's L1 table plus max abs, ULP, min cosine and equal rows. */
export function batchTable(report: InvarianceReport, c: Colors = plain): string {
  // Loaded when a table is drawn, not when the CLI starts (JSON runs never draw one).
  const Table = require('cli-table3') as typeof TableType;
  const table = new Table({
    head: ['batch', 'positions', 'max abs', 'max rel', 'max ULP', 'L1 (max/probe)', 'min cosine', 'bitwise equal', 'pass', 'causes'],
    style: { head: [], border: [], compact: true },
    colAligns: ['right', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'left', 'left'],
  });
  for (const b of report.batches) {
    const paint = b.pass ? (b.bitExact ? String : c.yellow) : c.red;
    table.push([
      b.size,
      sizeList(b.positions, ','),
      num(b.maxAbs),
      num(b.maxRel),
      num(b.maxUlp),
      num(b.maxL1),
      cosine(b.minCosine),
      `${b.equalRows}/${b.comparedRows}`,
      paint(b.pass ? 'yes' : 'NO'),
      b.causes.join(', '),
    ].map(String));
  }
  // Sequence padding's runs, in the same table: each against its baseline (see padding.ts).
  for (const p of report.padding?.comparisons ?? []) {
    const paint = p.pass ? (p.bitExact ? String : c.yellow) : c.red;
    // Texts padded together fail for the padding too when the padding is a cause (their batch-mates' lengths set the pads).
    const isCause = ((p.run === 'unpadded' || p.run === 'pad-ids') && !p.bitExact) || (p.run === 'served' && !p.pass && report.causes.includes('padding'));
    // The other side is reported, never a failure (models with absolute positions expect one side).
    const passCell = p.pass ? 'yes' : p.run === 'other-side' ? c.yellow('info') : paint('NO');
    table.push([PADDING_RUN_WORDS[p.run], p.run === 'served' ? 'together' : 'alone', num(p.maxAbs), '', '', '', '', p.bitExact ? 'all' : 'no', passCell, isCause ? 'padding' : ''].map(String));
  }
  return table.toString();
}

/** What each padding run is, in the table's first column: tokens, never rows. */
const PADDING_RUN_WORDS: Record<string, string> = {
  unpadded: 'tokens: unpadded',
  'pad-ids': 'tokens: other pad ids',
  'other-side': 'tokens: other side',
  served: 'tokens: padded together',
};

/** One line on how sequence padding was tested, or nothing for models without a mask. */
export function paddingLine(report: InvarianceReport): string | null {
  const p = report.padding;
  if (!p) return null;
  if (!p.tested) return p.reason && !/no mask input/.test(p.reason) ? `sequence padding (pad tokens): not tested: ${p.reason}` : null;
  // One probe has no batch-mates to be padded together with (paddingRuns makes no such run).
  const runs = p.lengths.length > 1 ? `probes of ${p.lengths.join(', ')} tokens also run alone unpadded, with other pad ids, padded on the other side, and padded together` : `probe of ${p.lengths.join(', ')} tokens also runs alone unpadded, with other pad ids and padded on the other side`;
  return `sequence padding (pad tokens): '${p.axis}' padded to ${p.limit} tokens on the ${p.side} with pad id ${p.padId}, mask '${p.mask}'; ${runs}`;
}

/** The whole report for people: verdict first, then the table, worst element, minimum tolerance, fingerprint. */
export function formatReport(report: InvarianceReport, options: TextOptions = {}): string {
  const c = colorsFor(options.color);
  const lines: string[] = [];
  const paint = verdictColor(report.verdict, c);
  lines.push(`${c.bold(report.model.path)}: ${paint(c.bold(report.verdict))}${report.causes.length ? ` (${report.causes.join(', ')})` : ''}`);
  lines.push(`  ${report.summary}`);
  lines.push(`  answer: ${report.answer}`);
  lines.push(batchTable(report, c));
  for (const d of report.diagnosis ?? []) {
    lines.push(c.red(`diagnosis: ${d.kind}${d.nodes.length ? ` at ${d.nodes.slice(0, 3).join(', ')}${d.nodes.length > 3 ? ` (+${d.nodes.length - 3} more)` : ''}` : ''}: ${d.detail}`));
    lines.push(`  fix: ${d.fix}`);
  }
  const padding = paddingLine(report);
  if (padding) lines.push(padding);
  lines.push(`stable classes (bitwise identical outputs): ${report.classesText}`);
  const reruns = report.reruns.map((r) => `${r.run} (batch ${r.size}): ${r.bitExact ? 'bitwise equal' : `differs by ${num(r.maxAbs)}`}`);
  if (reruns.length) lines.push(`same batch run twice: ${reruns.join('; ')}`);
  if (report.worst) {
    const w = report.worst;
    lines.push(
      `worst element: output '${w.output}'[${w.index.join(', ')}], batch ${w.batchSize}, position ${w.position} (${w.run} run): ` +
        `expected ${exact(w.expected)}, got ${exact(w.actual)} (abs ${num(w.absDiff)}, ${num(w.ulp)} ULP)`,
    );
  }
  const m = report.minimumTolerance;
  if (report.verdict !== 'invariant') {
    lines.push(minimumToleranceLine(m, report.model.outputs, report.batches.flatMap((b) => b.outputs ?? [])));
  }
  const tolerances = [...new Set(Object.values(report.tolerance))];
  lines.push(`tolerance: ${tolerances.length === 1 ? tolerances[0] : Object.entries(report.tolerance).map(([k, v]) => `${k}: ${v}`).join('; ')}`);
  const dims = Object.entries(report.model.dims).map(([k, v]) => `${k}=${v}${report.model.defaultedDims.includes(k) ? ' (default)' : ''}`);
  const plan = `plan: reference batch ${report.plan.reference}, ${report.plan.probes} probes, sizes ${sizeList(report.plan.sizes, ',')}` +
    (report.plan.skipped.length ? `; skipped ${sizeList(report.plan.skipped, ',')} (budget)` : '') +
    `; ${report.samples.source} samples${report.samples.source === 'synthesized' ? ` (seed ${report.samples.seed})` : ` (${report.samples.count})`}` +
    (dims.length ? `; dims ${dims.join(', ')}` : '');
  lines.push(c.dim(plan));
  // A mask the check did not pad held 1 on every token: the line says which mask was padded.
  const paddedMask = report.padding?.tested ? report.padding.mask : null;
  if (report.model.inputs.some((i) => i.synthesis)) lines.push(c.dim(synthesisLine(report.model.inputs.filter((i) => i.synthesis), paddedMask)));
  for (const note of report.notes) lines.push(c.yellow(`note: ${note}`));
  const calls = report.runs.reduce((n, r) => n + r.calls, 0);
  // A batch function's report counts its calls and the time spent in them (its own tokenizer included).
  const fnCalls = report.fingerprint.provider === 'function';
  lines.push(c.dim(`${calls} ${fnCalls ? 'calls of the function' : 'session.run calls'}, ${report.timing.inferenceMs} ms ${fnCalls ? 'in it' : 'inference'}, ${report.timing.totalMs} ms total`));
  lines.push(c.dim(`fingerprint: ${describeFingerprint(report.fingerprint)}`));
  return lines.join('\n');
}
