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

// --inputs reads what readArrayFile reads: its help and the README named .npy and .npz only.
test('--inputs: the help of every command that takes it and the README name .safetensors, and one feeds the model', async () => {
  const takers = COMMANDS.filter((c) => flags[c].includes('--inputs'));
  expect(takers).toEqual(expect.arrayContaining(['check', 'determinism', 'compare', 'locate']));
  for (const c of takers) {
    const help = spawnSync(process.execPath, [bin, c, '--help'], { encoding: 'utf8' }).stdout;
    expect({ c, line: /^ {2}--inputs .*(?:\n {6,}\S.*)*/m.exec(help)?.[0].replace(/\s+/g, ' ') }).toEqual({ c, line: expect.stringMatching(/\.npy.*\.npz.*\.safetensors/) });
  }
  expect(readme.split('\n').find((l) => l.startsWith('| `inputs` |'))).toMatch(/`\.npy`.*`\.npz`.*`\.safetensors`/);
  // The claim holds: the same samples from .npz and .safetensors give the same report.
  const { cli } = await import('../helpers/cli');
  const { leakyModel, seededFloats } = await import('../helpers/models');
  const { encodeNpz, encodeSafetensors } = await import('../../src/io');
  const dir = fs.mkdtempSync(path.join(require('os').tmpdir(), 'bp-inputs-st-'));
  try {
    const model = path.join(dir, 'leaky.onnx');
    fs.writeFileSync(model, leakyModel());
    const x = { dtype: 'float32' as const, dims: [6, 8], data: seededFloats(48, 9) };
    fs.writeFileSync(path.join(dir, 's.npz'), encodeNpz({ x }));
    fs.writeFileSync(path.join(dir, 's.safetensors'), encodeSafetensors({ x }));
    const reports = [];
    for (const file of ['s.npz', 's.safetensors']) {
      const r = await cli('check', model, '--inputs', path.join(dir, file), '--batch-sizes', '1,2,5', '--json');
      expect(r.code).toBe(1);
      reports.push(JSON.parse(r.stdout));
    }
    expect(reports[1].samples).toEqual({ source: 'user', seed: 0, count: 6 });
    expect(reports[1].verdict).toBe('violated');
    expect(reports[1].batches).toEqual(reports[0].batches);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
