import type { Command } from 'commander';
import { BadInputError } from '../../errors';
import { checkOutputPath, isStdout } from '../../io/paths';
import { CommandContext, EXIT } from '../common';
import { writeFileAtomic } from '../output';
import { writeStdout } from '../../io/terminal';
import { assertReplaceablePage } from '../../html/target';

interface ReportFlags {
  output?: string;
  keepGoing?: boolean;
  title?: string;
}

/**
 * `batchproof report <files...> -o report.html`: one page from JSON reports (any kinds, a file
 * may hold an array) and pages batchproof wrote (merged). A bad file is one line and exit 2;
 * with --keep-going the others still make the page, the page and stderr name what was left out,
 * and the exit is still 2 (something given was not used: CI should see it).
 */
export function registerReport(program: Command, { out, err, setExit }: CommandContext): void {
  program
    .command('report')
    .description('one self-contained HTML page (charts, tables) from JSON reports (--json FILE) and batchproof pages; exit 0, 2 bad input')
    .argument('[files...]', 'JSON reports (one report or an array each) and pages batchproof wrote, any kinds mixed')
    .option('-o, --output <file>', 'the page to write (never one of the inputs)')
    .option('--keep-going', 'leave out files that are not reports (each named on stderr and on the page) and make the page of the rest; exit 2 still')
    .option('--title <text>', 'the page title (default: batchproof report)')
    .action(async (files: string[], flags: ReportFlags) => {
      if (files.length === 0) throw new BadInputError('report: no input files; give the JSON reports (--json FILE) or pages, e.g. batchproof report reports/*.json -o report.html');
      if (flags.output === undefined) throw new BadInputError('report: where should the page go? add -o report.html');
      const kind = checkOutputPath(flags.output, { flag: '-o', what: 'the page', inputs: files.map((file) => ({ file, what: 'input report' })) }) === 'stdout' || isStdout(flags.output) ? 'stdout' : 'file';
      assertReplaceablePage(flags.output, '-o');
      const { readReportFiles, renderPage } = await import('../../html');
      const { entries, problems } = readReportFiles(files, { keepGoing: flags.keepGoing });
      for (const problem of problems) err(`batchproof: left out ${problem}`);
      if (entries.length === 0) throw new BadInputError(`report: none of the ${files.length} file${files.length === 1 ? '' : 's'} holds a report; no page written`);
      const html = await renderPage(entries, { ...(flags.title !== undefined && { title: flags.title }), problems });
      if (kind === 'stdout') writeStdout(html);
      else writeFileAtomic(flags.output, html);
      (kind === 'stdout' ? err : out)(`wrote ${flags.output}: ${entries.length} report${entries.length === 1 ? '' : 's'}${problems.length ? `, ${problems.length} file${problems.length === 1 ? '' : 's'} left out` : ''} (${Math.round(Buffer.byteLength(html) / 1024)} KiB)`);
      setExit(problems.length ? EXIT.badInput : EXIT.pass);
    });
}

/** `--html FILE` on check, compare, locate, stats and diff: the page of that one report. */
export async function writeReportPage(report: object, file: string | undefined, source?: string): Promise<void> {
  if (file === undefined) return;
  const { renderPage } = await import('../../html');
  const html = await renderPage([{ report, ...(source !== undefined && { source }) }]);
  if (file === '-') writeStdout(html);
  else writeFileAtomic(file, html);
}

/** The --html flag's help, on the commands whose report has a page (check, compare, locate, stats, diff). */
export const HTML_HELP = 'also write the report as an HTML page (charts, tables) to FILE; never one of the inputs';

/** The --html value of a command's flags. */
export const htmlOf = (flags: object): string | undefined => (flags as { html?: string }).html;

/** Where the report for people goes: stdout, or stderr when the page is printed there (`--html -`). */
export const textOut = (flags: object, ctx: Pick<CommandContext, 'out' | 'err'>): ((s: string) => void) => (htmlOf(flags) === '-' ? ctx.err : ctx.out);
