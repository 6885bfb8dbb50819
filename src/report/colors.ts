import pc from 'picocolors';

/** The few colours the reports use. */
export type Colors = Pick<typeof pc, 'green' | 'yellow' | 'red' | 'bold' | 'dim'>;

export const plain: Colors = { green: String, yellow: String, red: String, bold: String, dim: String } as unknown as Colors;

/**
 * Colours for a report: `color` when the caller decides (the CLI's --no-color, matchers' plain
 * messages), else only when stdout is a colour terminal or FORCE_COLOR is set. picocolors alone would also colour
 * whenever `CI` is set, which puts escape codes into logs and piped output.
 */
export function colorsFor(color?: boolean): Colors {
  const wanted = color ?? (pc.isColorSupported && (Boolean(process.stdout.isTTY) || 'FORCE_COLOR' in process.env));
  return wanted ? (painted ??= pc.createColors(true)) : plain;
}

let painted: Colors | undefined;

export function verdictColor(verdict: string, c: Colors): (s: string) => string {
  if (verdict === 'invariant' || verdict === 'deterministic' || verdict === 'identical') return c.green;
  if (verdict === 'within-tolerance') return c.yellow;
  return c.red;
}
