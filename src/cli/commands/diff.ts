import type { Command } from 'commander';
import { parseTolerance } from '../../compare/tolerance';
import { addReportFlags, CommandContext, emit, EXIT } from '../common';
import { HTML_HELP, htmlOf, textOut, writeReportPage } from './report';
import { positiveInteger } from '../parse';

interface DiffFlags {
  tolerance?: string;
  neighbors?: number;
  json?: string | boolean;
  color?: boolean;
}

/** `batchproof diff <a> <b>`: two embedding baselines; exit 0 within tolerance, 1 beyond, 2 bad input. */
export function registerDiff(program: Command, { out, err, setExit }: CommandContext): void {
  addReportFlags(
    program
      .command('diff')
      .description('compare two embedding baseline files (.emb); exit 0 when every row is within the tolerance, 1 when not, 2 bad input')
      .argument('<a>', 'the baseline file')
      .argument('<b>', 'the file to compare with it')
      .option('--html <file>', HTML_HELP)
      .option('--tolerance <tol>', "exact | atol=A,rtol=R | ulp=N | cosine=C (default: the tolerance recorded in <a>, else cosine=1e-6)")
      .option('--neighbors <k>', "also compare each row's k nearest neighbours (by cosine, within the set)", positiveInteger('--neighbors')),
  ).action(async (a: string, b: string, flags: DiffFlags) => {
    // Engines load when their command runs, so `batchproof check` does not pay for the others.
    const { diffBaselines } = await import('../../snapshot/diff');
    const { formatEmbeddingReport } = await import('../../snapshot/text');
    const report = diffBaselines(a, b, {
      ...(flags.tolerance !== undefined && { tolerance: parseTolerance(flags.tolerance) }),
      ...(flags.neighbors !== undefined && { neighbors: { k: flags.neighbors } }),
    });
    emit(report, () => formatEmbeddingReport(report, { color: flags.color }), flags.json, textOut(flags, { out, err }));
    await writeReportPage(report, htmlOf(flags), a);
    setExit(report.pass ? EXIT.pass : EXIT.fail);
  });
}
