// The README is the user's contract: a flag the CLI takes but the README never names is one a
// user cannot find (compare's --against-deterministic, stats' and recalibrate's --batch-size).
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';

const root = path.join(__dirname, '..', '..');
const bin = path.join(root, 'dist', 'src', 'cli', 'bin.js');
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
const COMMANDS = ['check', 'determinism', 'compare', 'stats', 'locate', 'recalibrate', 'diff', 'fingerprint', 'report'];

/** The long flags a command's --help lists (commander's own --help left out), and their short forms. */
const shortOf = new Map<string, string>();
function flagsOf(command: string): string[] {
  const r = spawnSync(process.execPath, [bin, command, '--help'], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  return [...r.stdout.matchAll(/^ {2}(?:(-[a-zA-Z]), )?(--[a-z][a-z-]*)/gm)].map((m) => (m[1] && shortOf.set(m[2], m[1]), m[2])).filter((f) => f !== '--help');
}
const flags = Object.fromEntries(COMMANDS.map((c) => [c, flagsOf(c)]));
/** Named by its long form, or its short one as a word of a command line (`-o fixed.onnx`). */
const named = (text: string, flag: string) => new RegExp(`${flag}(?![a-z-])`).test(text) || (shortOf.has(flag) && new RegExp(` ${shortOf.get(flag)} `).test(text));

test('every flag of every command is named in the README', () => {
  // The negative control: the help was read (a changed layout would find no flags to look for).
  expect(flags.compare).toEqual(expect.arrayContaining(['--against', '--against-deterministic', '--no-against-deterministic', '--batch-size']));
  expect(flags.stats).toContain('--batch-size');
  const missing = COMMANDS.flatMap((c) => flags[c].filter((f) => !named(readme, f)).map((f) => `${c} ${f}`));
  expect(missing).toEqual([]);
});

// A flag whose meaning differs by command is described where that command is: a paragraph,
// table row or command line that names the command.
test('--batch-size and --tolerance are described for each command that takes them', () => {
  const blocks = readme.split(/\n\s*\n|\n(?=npx batchproof )/);
  const missing: string[] = [];
  for (const flag of ['--batch-size', '--tolerance']) {
    const takers = COMMANDS.filter((c) => flags[c].includes(flag));
    expect(takers.length).toBeGreaterThan(2);
    for (const c of takers) {
      if (!blocks.some((b) => (b.includes(`batchproof ${c}`) || b.includes(`\`${c}\``)) && named(b, flag))) missing.push(`${c} ${flag}`);
    }
  }
  expect(missing).toEqual([]);
});
