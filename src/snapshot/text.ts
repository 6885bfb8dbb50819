import { cosineMinimum, num } from '../report/format';
import type { EmbeddingReport, EmbeddingSide, NonFiniteCounts } from './compare';
import { colorsFor, verdictColor } from '../report/colors';


export interface EmbeddingTextOptions {
  /** Colour the verdict (default: when the terminal supports it). */
  color?: boolean;
}

const shape = (s: EmbeddingSide) => `${s.rows} x ${s.dim} ${s.dtype}`;

/** "2 NaN, 1 +Inf", or "finite". */
function values(c: NonFiniteCounts): string {
  const parts = [c.nan && `${c.nan} NaN`, c.posInf && `${c.posInf} +Inf`, c.negInf && `${c.negInf} -Inf`].filter(Boolean);
  return parts.length ? parts.join(', ') : 'finite';
}

/** "2 rows (rows 3, 9; 2 NaN, 1 +Inf)", or "none". */
function nonFiniteSide(s: EmbeddingSide): string {
  if (s.nonFiniteRows === 0) return 'none';
  const more = s.nonFiniteRows > s.nonFiniteRowIndices.length ? ', ...' : '';
  return `${s.nonFiniteRows} row${s.nonFiniteRows === 1 ? '' : 's'} (row${s.nonFiniteRows === 1 ? '' : 's'} ${s.nonFiniteRowIndices.join(', ')}${more}; ${values(s.nonFiniteValues)})`;
}

/** The first line after its verdict: why it is identical, within the tolerance or changed (the HTML page's summary too). */
export function embeddingSummary(report: EmbeddingReport): string {
  if (report.shapeMismatch) return `${report.shapeMismatch}; no rows compared`;
  if (report.verdict === 'identical') return `${shape(report.current)}, bitwise equal to the baseline`;
  const nonFinite = report.nonFiniteRows > 0 ? `, ${report.nonFiniteRows} of them for NaN or ±Inf` : '';
  const moved = report.movedRows > 0
    ? `${report.movedRows} of ${report.rows} rows moved beyond ${report.tolerance}${nonFinite}`
    : `all ${report.rows} rows within ${report.tolerance}`;
  return `${moved} (${report.changedRows} not bitwise equal; ${shape(report.current)})`;
}

/**
 * The report for people, the same lines in the matcher's failure message and in
 * `batchproof diff`: how many rows moved, the worst rows, neighbour changes, NaN rows,
 * the fingerprint difference, the smallest tolerance that would pass, and what produced the
 * embeddings (the current fingerprint, and the baseline's when it differs).
 */
export function formatEmbeddingReport(report: EmbeddingReport, options: EmbeddingTextOptions = {}): string {
  const c = colorsFor(options.color);
  const lines: string[] = [];
  const paint = verdictColor(report.verdict, c);
  lines.push(`${paint(c.bold(report.shapeMismatch ? 'changed' : report.verdict))}: ${embeddingSummary(report)}`);
  if (report.worst.length > 0) {
    lines.push(report.movedRows > 0 ? 'worst rows:' : 'rows that moved most:');
    const table = [['row', 'cosine distance', 'max abs', 'max ULP', 'within']].concat(
      report.worst.map((w) => [String(w.row), num(w.cosineDistance), num(w.maxAbs), num(w.maxUlp), `${w.pass ? 'yes' : 'NO'}${w.nonFinite ? ` (non-finite: ${w.nonFinite === 'current' ? 'now' : w.nonFinite})` : ''}`]),
    );
    const widths = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)));
    for (const r of table) lines.push(`  ${r.map((cell, i) => (i === r.length - 1 ? cell : cell.padStart(widths[i]))).join('  ')}`);
  }
  const nb = report.neighbors;
  if (nb) {
    if (nb.changedRows === 0) {
      lines.push(`neighbours (k=${nb.k}): unchanged for all ${nb.comparedRows} rows`);
    } else {
      lines.push(`neighbours (k=${nb.k}): order changed for ${nb.changedRows} of ${nb.comparedRows} rows`);
      for (const e of nb.examples) lines.push(`  row ${e.row}: baseline [${e.baseline.join(', ')}], now [${e.current.join(', ')}]`);
    }
  }
  if (report.baseline.nonFiniteRows > 0 || report.current.nonFiniteRows > 0) {
    // The rule (compareEmbeddings): NaN matches nothing; an infinity only the same one at the same place.
    lines.push(`rows with NaN or ±Inf (NaN never matches; ±Inf only the same value at the same place): baseline ${nonFiniteSide(report.baseline)}; now ${nonFiniteSide(report.current)}`);
    for (const r of report.nonFinite) lines.push(`  row ${r.row}: baseline ${values(r.baseline)}, now ${values(r.current)}: ${r.pass ? 'matches' : 'fails'}`);
  }
  if (report.fingerprint) lines.push(`fingerprint differs: baseline: ${report.fingerprint.baseline}; now: ${report.fingerprint.current}`);
  if (report.nonFiniteRows > 0) {
    lines.push(`no tolerance passes: ${report.nonFiniteRows} row${report.nonFiniteRows === 1 ? '' : 's'} fail${report.nonFiniteRows === 1 ? 's' : ''} for NaN or ±Inf; find what produces them`);
  } else if (report.changedRows > 0 && !report.shapeMismatch) {
    const m = report.minimumTolerance;
    lines.push(`smallest tolerance that passes: ${cosineMinimum(m.cosine, '')} | atol=${num(m.atol)} | ulp=${num(m.ulp)}`);
  }
  const describe = (name: string, s: EmbeddingSide) =>
    `${name}: ${[s.file, s.key && `key ${JSON.stringify(s.key)}`, s.created && `written ${s.created}`].filter(Boolean).join(', ')}`;
  if (report.baseline.file || report.baseline.created) lines.push(c.dim(describe('baseline', report.baseline)));
  if (report.current.file) lines.push(c.dim(describe('compared with', report.current)));
  // What produced the embeddings: always the current side, and the baseline's too when they differ.
  if (report.fingerprint && report.baseline.fingerprint) lines.push(c.dim(`fingerprint (baseline): ${report.baseline.fingerprint}`));
  if (report.current.fingerprint) lines.push(c.dim(`fingerprint${report.fingerprint ? ' (now)' : ''}: ${report.current.fingerprint}`));
  return lines.join('\n');
}
