#!/usr/bin/env node
// `npm run bench`: runs every bench/*.bench.js in its own process (after `npm run build`), each
// printing one markdown section, and writes them all to bench/RESULTS.md with the machine's
// fingerprint. Ratios in a section are always measured side by side in that one run.
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { fingerprintFor, describeFingerprint } = require('../dist/src');

const only = process.argv.slice(2);
const benches = fs
  .readdirSync(__dirname)
  .filter((f) => f.endsWith('.bench.js'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
const sections = [];
for (const file of benches) {
  process.stderr.write(`bench: ${file}\n`);
  const r = spawnSync(process.execPath, ['--expose-gc', path.join(__dirname, file)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 });
  sections.push(r.status === 0 ? r.stdout.trim() : `## ${file}\n\nFAILED (exit ${r.status}):\n\n\`\`\`\n${r.stdout}\n\`\`\``);
}
const header = [
  '# Benchmarks',
  '',
  `Written by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}.`,
  `Machine: ${describeFingerprint(fingerprintFor({}))}.`,
  'Each ratio is measured side by side in the same run, on this machine; re-run to compare.',
  '',
].join('\n');
const out = path.join(__dirname, 'RESULTS.md');
if (only.length > 0 && fs.existsSync(out)) {
  // A partial run replaces only its own sections, where they were; a new one goes at the end.
  const old = fs.readFileSync(out, 'utf8').split(/\n(?=## )/).slice(1);
  const title = (s) => s.split('\n')[0];
  const fresh = new Map(sections.map((s) => [title(s), s]));
  const merged = old.map((s) => fresh.get(title(s)) ?? s);
  for (const s of sections) if (!old.some((o) => title(o) === title(s))) merged.push(s);
  fs.writeFileSync(out, `${header}\n${merged.map((s) => s.trim()).join('\n\n')}\n`);
} else {
  fs.writeFileSync(out, `${header}\n${sections.join('\n\n')}\n`);
}
process.stderr.write(`wrote ${path.relative(process.cwd(), out)}\n`);
