/**
 * One self-contained HTML page from batchproof's JSON reports (issue 12): charts drawn now into
 * inline SVG by Vega-Lite and Vega, tables, light/dark/print CSS, no script or font fetched.
 */
import { buildPage } from './page';

export interface PageEntry {
  /** A batchproof JSON report (any kind), validated by the page. */
  report: unknown;
  /** Where it came from (file name), shown and used in errors. */
  source?: string;
  /** Made by a `.not` matcher: with its test passed, the failing verdict was expected. */
  negated?: boolean;
  test?: { file: string; name: string; status: 'passed' | 'failed' | 'skipped' | 'todo' | 'pending' | 'disabled' | 'focused'; duration?: number };
}

export interface PageOptions {
  title?: string;
  /** ISO time; default now. */
  generated?: string;
  /** Files left out (with --keep-going), one line each: the page lists them at the top. */
  problems?: string[];
}

/** The whole HTML page. A report without batchproof's envelope is a BadInputError naming its source. */
export function renderPage(entries: PageEntry[], options: PageOptions = {}): Promise<string> {
  return buildPage(entries, options);
}

export { readReportFiles } from './read';
