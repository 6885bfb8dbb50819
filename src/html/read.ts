/**
 * Reports and pages from files: a .json holds one report or an array of them (what `--json FILE`
 * writes); an .html page batchproof wrote carries its entries in a JSON script, so shards' pages
 * merge: packed (zlib and base64, `encoding` names it) or, in pages written before, plain JSON. Each file is read whole or not at all: a bad one is one line naming it and the problem.
 */
import fs = require('fs');
import { BadInputError, formatValue } from '../errors';
import { assertReadableFile } from '../io/paths';
import { DATA_ID, PACKING, extractEmbedded, unpack } from './escape';
import { validateReport } from './validate';
import type { PageEntry } from './index';

function parse(text: string, file: string, what: string): unknown {
  if (text.trim() === '') throw new BadInputError(`${file}: is empty; give a JSON report written with --json FILE`);
  try {
    return JSON.parse(text);
  } catch (e) {
    const message = (e as Error).message;
    // Node words an early end "Unexpected end of JSON input" (or "Unterminated string"): a cut file.
    if (/end of JSON|Unterminated|Expected .* after|position \d+ \(line/.test(message) && !/Unexpected token/.test(message)) {
      throw new BadInputError(`${file}: ${what} is truncated (${message}); write it again (a run that was killed leaves half a file)`);
    }
    throw new BadInputError(`${file}: ${what} is not valid JSON (${message}); give a report written with --json FILE`);
  }
}

function readOne(file: string): PageEntry[] {
  assertReadableFile(file, 'report');
  const text = fs.readFileSync(file, 'utf8');
  const head = text.trimStart().slice(0, 200).toLowerCase();
  if (/\.html?$/i.test(file) || head.startsWith('<')) {
    const embedded = extractEmbedded(text);
    if (embedded === null) throw new BadInputError(`${file}: an HTML file without batchproof's data (no <script id="${DATA_ID}">); give a page batchproof report or the Jest reporter wrote, or the JSON reports`);
    const data = parse(embedded, file, "the page's embedded data") as { entries?: unknown; encoding?: unknown; data?: unknown };
    if (data && typeof data === 'object' && data.encoding !== undefined) {
      if (data.encoding !== PACKING) throw new BadInputError(`${file}: the page's embedded data is packed as ${formatValue(data.encoding)}, which this batchproof does not read (it reads ${PACKING}); make the page again with this batchproof`);
      if (typeof data.data !== 'string') throw new BadInputError(`${file}: the page's embedded data has no packed entries; make the page again with batchproof report`);
      let text: string;
      try {
        text = unpack(data.data);
      } catch (e) {
        throw new BadInputError(`${file}: the page's embedded data: ${(e as Error).message}; make the page again with batchproof report`);
      }
      data.entries = parse(text, file, "the page's packed entries");
    }
    if (!Array.isArray(data?.entries)) throw new BadInputError(`${file}: the page's embedded data holds no entries; make the page again with batchproof report`);
    return data.entries.map((e, i) => {
      const entry = e as PageEntry;
      if (typeof entry !== 'object' || entry === null) throw new BadInputError(`${file}: entry ${i + 1} of the page's data is ${formatValue(e)}, not an entry`);
      if (entry.report !== undefined && entry.report !== null) validateReport(entry.report, `${file} (entry ${i + 1})`);
      else if (!entry.test) throw new BadInputError(`${file}: entry ${i + 1} of the page's data has neither a report nor a test`);
      return entry;
    });
  }
  const value = parse(text, file, 'the report');
  if (Array.isArray(value)) {
    if (value.length === 0) throw new BadInputError(`${file}: an empty array, no report in it; give the JSON reports batchproof wrote`);
    return value.map((r, i) => ({ report: validateReport(r, `${file} [${i}]`), source: file }));
  }
  return [{ report: validateReport(value, file), source: file }];
}

export function readReportFiles(paths: string[], options: { keepGoing?: boolean } = {}): { entries: PageEntry[]; problems: string[] } {
  if (!Array.isArray(paths) || paths.length === 0) throw new BadInputError('no reports given; name the JSON reports (written with --json FILE) or pages to put on the page, e.g. batchproof report reports/*.json -o report.html');
  const entries: PageEntry[] = [];
  const problems: string[] = [];
  for (const file of paths) {
    try {
      entries.push(...readOne(file));
    } catch (e) {
      if (!(e instanceof BadInputError) || !options.keepGoing) throw e;
      problems.push(e.message);
    }
  }
  return { entries, problems };
}
