// What every bench times with: a whole process, wall clock, and the median of a list.
const { spawnSync } = require('child_process');
const path = require('path');

const root = path.join(__dirname, '..');

/** Runs `node ...args` in the repository root; exit 0 or 1 (a check's verdict) is a result, anything else a failure. */
function time(args, env = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', maxBuffer: 1 << 26, env: { ...process.env, ...env } });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0 && r.status !== 1) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
  return { ms, stdout: r.stdout };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

module.exports = { time, median };
