/** The running-statistics and recalibration reports for people. */
import Table from 'cli-table3';
import { describeFingerprint } from '../runtime/fingerprint';
import { num } from '../report/format';
import type { RecalibrationReport } from './recalibrate';
import type { StatsReport } from './report';
import { colorsFor } from '../report/colors';


export interface StatsTextOptions {
  color?: boolean;
}

/** A running-statistics report as the text `batchproof stats` prints (colors only when asked). */
export function formatStatsReport(report: StatsReport, options: StatsTextOptions = {}): string {
  const c = colorsFor(options.color);
  const lines: string[] = [];
  const verdict = report.verdict === 'healthy' ? c.green(c.bold('healthy')) : c.red(c.bold('problems found'));
  lines.push(`${c.bold(report.model.path)}: ${verdict}`);
  lines.push(`  ${report.summary}`);
  const ref = report.reference;
  const against = [
    ref.data ? `calibration data ${ref.data.source} (${ref.data.samples} sample${ref.data.samples === 1 ? '' : 's'} in ${ref.data.batches} batch${ref.data.batches === 1 ? '' : 'es'})` : null,
    ref.checkpoint ? `checkpoint ${ref.checkpoint.source} (${ref.checkpoint.matched} layer${ref.checkpoint.matched === 1 ? '' : 's'} matched)` : null,
  ].filter(Boolean);
  if (against.length) lines.push(c.dim(`compared with ${against.join(' and ')}; tolerance z <= ${report.tolerance.z}, var ratio in [${num(report.tolerance.ratio[0])}, ${num(report.tolerance.ratio[1])}]`));
  if (report.layers.length > 0) {
    const table = new Table({
      head: ['#', 'BatchNorm node', 'channels', 'against', 'max z', 'var ratio (min..max)', 'worst channel (reference vs stored)', 'pass'],
      style: { head: [], border: [], compact: true },
      colAligns: ['right', 'left', 'right', 'left', 'right', 'right', 'left', 'left'],
    });
    report.layers.forEach((l, i) => {
      const first = report.firstMismatch && l.node === report.firstMismatch.node && l.against === report.firstMismatch.against;
      const w = l.worstChannel;
      table.push([
        String(i + 1),
        (first ? '> ' : '') + l.node + (l.trainingMode ? ' [training mode]' : ''),
        l.channels === null ? '?' : String(l.channels),
        l.against ?? '-',
        l.maxZ === null ? '-' : num(l.maxZ),
        l.varRatio ? `${num(l.varRatio[0])}..${num(l.varRatio[1])}` : '-',
        w ? `${w.channel}: mean ${num(w.mean)} vs ${num(w.runningMean)}, var ${num(w.var)} vs ${num(w.runningVar)}` : '',
        l.maxZ === null && l.pass ? '-' : l.pass ? c.green('yes') : c.red('NO'),
      ]);
    });
    lines.push(table.toString());
  }
  const first = report.firstMismatch;
  if (first && first.trainingMode) {
    lines.push(c.bold(`first mismatch: ${first.node} (training mode). Layers after it inherit its output: export it in inference mode first, then check again.`));
  } else if (first) {
    lines.push(c.bold(`first mismatch: ${first.node}. Layers after it inherit its shift: fix or recalibrate this one first, then check again.`));
  }
  // Problems with the same words (training mode in every layer, say) are listed once; of the
  // layers whose statistics fail, the first is told in full (the table has the others).
  const groups = new Map<string, { kind: string; nodes: string[]; detail: string }>();
  const failing = report.problems.filter((p) => p.kind === 'stale-stats' || (p.kind === 'checkpoint-mismatch' && p.node !== null));
  // Every problem of the first failing layer is told (with data and a checkpoint, one layer can
  // fail against both): only other layers are 'later'.
  const later = failing.filter((p) => p.node !== failing[0]?.node);
  for (const p of report.problems) {
    if (later.includes(p)) continue;
    const key = `${p.kind}\u0000${p.detail}`;
    const g = groups.get(key) ?? { kind: p.kind, nodes: [], detail: p.detail };
    if (p.node) g.nodes.push(p.node);
    groups.set(key, g);
  }
  for (const g of groups.values()) {
    const nodes = g.nodes.length === 0 ? '' : g.nodes.length <= 3 ? ` ${g.nodes.join(', ')}` : ` ${g.nodes.length} layers (${g.nodes[0]}, ..., ${g.nodes[g.nodes.length - 1]})`;
    lines.push(`${c.red(g.kind)}${nodes}: ${g.detail}`);
  }
  if (later.length > 0) {
    const layers = new Set(later.map((p) => p.node)).size;
    // A checkpoint mismatch compares stored numbers with saved ones: nothing upstream shifts it.
    const inherit = later.every((p) => p.kind === 'stale-stats') ? ": they may only inherit the first one's shift" : '';
    lines.push(`${c.red([...new Set(later.map((p) => p.kind))].join('/'))} in ${layers} later layer${layers === 1 ? '' : 's'} too (see the table; --json has each in full)${inherit}`);
  }
  const ck = report.reference.checkpoint;
  if (ck) {
    for (const u of ck.unmatched) lines.push(c.yellow(`checkpoint '${u.key}' not used: ${u.reason}`));
  }
  for (const n of report.notes) lines.push(c.yellow(`note: ${n}`));
  lines.push(c.dim(`${report.timing.inferenceMs} ms inference, ${report.timing.totalMs} ms total`));
  lines.push(c.dim(`fingerprint: ${describeFingerprint(report.fingerprint)}`));
  return lines.join('\n');
}

/** A recalibration report as the text `batchproof recalibrate` prints, naming `out`, where the model was written. */
export function formatRecalibration(report: RecalibrationReport, out: string, options: StatsTextOptions = {}): string {
  const c = colorsFor(options.color);
  const lines: string[] = [];
  lines.push(`${c.bold(out)}: ${report.layers.length} BatchNorm layer${report.layers.length === 1 ? '' : 's'} recalibrated on ${report.data.samples} samples (${report.waves} pass${report.waves === 1 ? '' : 'es'} over the data)`);
  const table = new Table({
    head: ['BatchNorm node', 'channels', 'pass', 'max mean shift (std)', 'new/old var'],
    style: { head: [], border: [], compact: true },
    colAligns: ['left', 'right', 'right', 'right', 'right'],
  });
  for (const l of report.layers) table.push([l.node, String(l.channels), String(l.wave + 1), num(l.maxShift), `${num(l.varRatio[0])}..${num(l.varRatio[1])}`]);
  lines.push(table.toString());
  for (const s of report.skipped) lines.push(c.yellow(`skipped ${s.node}: ${s.reason}`));
  for (const n of report.notes) lines.push(c.yellow(`note: ${n}`));
  lines.push(c.dim(`${report.timing.inferenceMs} ms inference, ${report.timing.totalMs} ms total`));
  lines.push(c.dim(`fingerprint: ${describeFingerprint(report.fingerprint)}`));
  return lines.join('\n');
}
