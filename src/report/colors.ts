import type * as picocolors from 'picocolors';
import { isTerminal } from '../io/terminal';

/** The few colours the reports use. */
export type Colors = Pick<typeof picocolors, 'green' | 'yellow' | 'red' | 'bold' | 'dim'>;

export const plain: Colors = { green: String, yellow: String, red: String, bold: String, dim: String } as unknown as Colors;

/**
 * Colours for a report: `color` when the caller decides (the CLI's --no-color, matchers' plain
 * messages), else only when stdout is a colour terminal or FORCE_COLOR is set (NO_COLOR, or TERM=dumb on a terminal, turns them off).
 * picocolors alone would also colour whenever `CI` is set, which puts escape codes into logs and
 * piped output; and it is loaded only to paint, since loading it creates process.stdout.
 */
export function colorsFor(color?: boolean): Colors {
  const env = process.env;
  const wanted = color ?? (!env.NO_COLOR && ('FORCE_COLOR' in env || (env.TERM !== 'dumb' && isTerminal(1))));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return wanted ? (painted ??= (require('picocolors') as typeof picocolors).createColors(true)) : plain;
}

let painted: Colors | undefined;

export function verdictColor(verdict: string, c: Colors): (s: string) => string {
  if (verdict === 'invariant' || verdict === 'deterministic' || verdict === 'identical') return c.green;
  if (verdict === 'within-tolerance') return c.yellow;
  return c.red;
}
