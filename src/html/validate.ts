/**
 * What the page accepts as a report: an object with batchproof's envelope (`schema`, `kind`,
 * `tool`, see report/envelope.ts). A file that is something else is refused with one line, not
 * drawn as an empty section.
 */
import { BadInputError, formatValue } from '../errors';

/** The report kinds batchproof writes, and the words the page uses for them. */
export const KINDS: Record<string, string> = {
  'batch-invariance': 'check',
  determinism: 'determinism',
  'provider-comparison': 'compare',
  'running-stats': 'stats',
  recalibration: 'recalibrate',
  locate: 'locate',
  'embedding-diff': 'diff',
  fingerprint: 'fingerprint',
};

/** The envelope schemas this page reads. */
export const SCHEMAS = [1];

export type Report = Record<string, unknown> & { schema: number; kind: string; tool: { name: string; version: string } };

/** Checks one report's envelope; `where` names it in the message ("a.json", "a.json [3]"). */
export function validateReport(value: unknown, where: string): Report {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new BadInputError(`${where}: holds ${formatValue(value)}, not a batchproof report; give the JSON a command wrote with --json FILE`);
  }
  const r = value as Record<string, unknown>;
  if (!('schema' in r) || !('kind' in r)) {
    throw new BadInputError(`${where}: not a batchproof report (no schema or kind field); give the JSON a command wrote with --json FILE`);
  }
  if (typeof r.schema !== 'number' || !SCHEMAS.includes(r.schema)) {
    throw new BadInputError(`${where}: unknown report schema ${formatValue(r.schema)} (this batchproof reads schema ${SCHEMAS.join(', ')}); make the page with the batchproof that wrote it, or rerun the check`);
  }
  if (typeof r.kind !== 'string' || r.kind === '') throw new BadInputError(`${where}: the report's kind is ${formatValue(r.kind)}, not a name; give the JSON a command wrote with --json FILE`);
  const tool = r.tool as Record<string, unknown> | undefined;
  if (typeof tool !== 'object' || tool === null || typeof tool.name !== 'string') {
    throw new BadInputError(`${where}: not a batchproof report (no tool field); give the JSON a command wrote with --json FILE`);
  }
  return r as Report;
}
