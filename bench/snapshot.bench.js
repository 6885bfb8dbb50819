#!/usr/bin/env node
/**
 * Embedding snapshots: batchproof's binary baselines against Jest's toMatchSnapshot, and a
 * 1 GB baseline matched in bounded memory. Run after `npm run build`; prints a markdown section.
 *
 * Jest is driven in this same process through its own machinery (jest-snapshot's SnapshotState
 * and toMatchSnapshot, exactly what a test's `expect(x).toMatchSnapshot()` calls): "matching"
 * is loading the .snap file plus the toMatchSnapshot call, as each test file run does; for
 * batchproof it is opening the baseline plus the streamed comparison. Both run on the same
 * 10,000 x 256 float32 values (Jest gets them as number[][], as a user would pass them).
 *
 * The 1,000,000 x 256 case runs in child processes so peak RSS (process.resourceUsage().maxRSS)
 * belongs to the match alone: one child writes the baseline, another rebuilds the same values
 * (with every row drifted within tolerance, so every row goes through the full comparison) and
 * matches them. Set BENCH_BIG_ROWS to change its row count.
 */
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const dist = path.join(__dirname, '..', 'dist', 'src');
const { checkEmbeddingSnapshot } = require(path.join(dist, 'snapshot', 'lifecycle'));
const { embeddingsFrom } = require(path.join(dist, 'snapshot', 'embeddings'));

/** Deterministic values in [-1, 1) (an LCG), so children can rebuild them without a copy. */
function fill(data, seed) {
  let x = seed >>> 0;
  for (let i = 0; i < data.length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    data[i] = x / 2147483648 - 1;
  }
  return data;
}

/** Every row drifts by a relative 1e-7 on a few elements: within cosine 1e-6, not bitwise equal. */
function drift(data, dim) {
  for (let o = 0; o < data.length; o += dim) {
    data[o] *= 1 + 1e-7;
    data[o + 1] *= 1 - 1e-7;
  }
  return data;
}

const fingerprint = () => null;
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
const { median } = require('./timing');
const fmt = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const mb = (b) => `${(b / 1e6).toFixed(1)} MB`;

function child(mode, file, rows, dim) {
  const out = execFileSync(process.execPath, ['--max-old-space-size=256', __filename, '--child', mode, file, String(rows), String(dim)], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split('\n').pop());
}

function runChild([mode, file, rowsText, dimText]) {
  const rows = Number(rowsText);
  const dim = Number(dimText);
  const data = fill(new Float32Array(rows * dim), 7);
  if (mode === 'match') drift(data, dim);
  const embeddings = embeddingsFrom({ data, dims: [rows, dim] });
  const t0 = process.hrtime.bigint();
  const outcome = checkEmbeddingSnapshot({ file, label: file, key: 'big 1', embeddings, mode: mode === 'write' ? 'new' : 'none', fingerprint });
  const elapsed = ms(t0);
  const r = outcome.report;
  process.stdout.write(
    JSON.stringify({
      status: outcome.status,
      ms: elapsed,
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
      dataBytes: data.byteLength,
      changedRows: r ? r.changedRows : null,
      movedRows: r ? r.movedRows : null,
    }) + '\n',
  );
}

function small(dir) {
  const rows = 10_000;
  const dim = 256;
  const data = fill(new Float32Array(rows * dim), 1);
  const embeddings = embeddingsFrom({ data, dims: [rows, dim] });
  const drifted = embeddingsFrom({ data: drift(data.slice(), dim), dims: [rows, dim] });
  const file = path.join(dir, 'small.emb');

  let t0 = process.hrtime.bigint();
  checkEmbeddingSnapshot({ file, label: file, key: 'small 1', embeddings, mode: 'new', fingerprint });
  const ourWrite = ms(t0);
  const ourSize = fs.statSync(file).size;
  const match = (e) => {
    const times = [];
    let status;
    for (let i = 0; i < 7; i++) {
      t0 = process.hrtime.bigint();
      status = checkEmbeddingSnapshot({ file, label: file, key: 'small 1', embeddings: e, mode: 'none', fingerprint }).status;
      times.push(ms(t0));
    }
    if (status !== 'matched') throw new Error(`expected a match, got ${status}`);
    return median(times.slice(2)); // the first runs warm the JIT up
  };
  const ourMatch = match(embeddings);
  const ourDrift = match(drifted);

  // Jest, through its own snapshot machinery.
  const jestSnapshot = require(require.resolve('jest-snapshot', { paths: [path.dirname(require.resolve('jest'))] }));
  const utils = require('jest-matcher-utils');
  const snapFile = path.join(dir, '__snapshots__', 'small.test.js.snap');
  const asRows = Array.from({ length: rows }, (_, r) => Array.from(data.subarray(r * dim, (r + 1) * dim)));
  const jestRun = (updateSnapshot) => {
    const t = process.hrtime.bigint();
    const snapshotState = new jestSnapshot.SnapshotState(snapFile, {
      updateSnapshot,
      snapshotFormat: { escapeString: false, printBasicPrototype: false },
      rootDir: dir,
    });
    const context = { snapshotState, currentTestName: 'small', isNot: false, promise: '', utils, equals: () => true };
    const result = jestSnapshot.toMatchSnapshot.call(context, asRows);
    snapshotState.save();
    if (!result.pass) throw new Error('Jest snapshot did not match');
    return ms(t);
  };
  const jestWrite = jestRun('all');
  const jestSize = fs.statSync(snapFile).size;
  const jestMatch = median([jestRun('none'), jestRun('none'), jestRun('none')]);
  return { rows, dim, raw: data.byteLength, ourWrite, ourSize, ourMatch, ourDrift, jestWrite, jestSize, jestMatch };
}

function big(dir) {
  const rows = Number(process.env.BENCH_BIG_ROWS || 1_000_000);
  const dim = 256;
  const file = path.join(dir, 'big.emb');
  const write = child('write', file, rows, dim);
  const size = fs.statSync(file).size;
  const match = child('match', file, rows, dim);
  if (match.status !== 'matched') throw new Error(`big match: ${match.status}`);
  return { rows, dim, write, size, match };
}

function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'batchproof-bench-snapshot-'));
  try {
    const s = small(dir);
    const b = big(dir);
    const raw = s.raw;
    const lines = [
      '## Embedding snapshots (`toMatchEmbeddingSnapshot`)',
      '',
      `${s.rows.toLocaleString('en-US')} x ${s.dim} float32 (${mb(raw)} raw), same values, same process. Jest driven through jest-snapshot's SnapshotState + toMatchSnapshot on number[][]; "match" = load the snapshot + compare (median).`,
      '',
      '| | batchproof | Jest `toMatchSnapshot` | ratio |',
      '|---|---:|---:|---:|',
      `| match, identical values | ${fmt(s.ourMatch)} ms | ${fmt(s.jestMatch)} ms | ${fmt(s.jestMatch / s.ourMatch)}x faster |`,
      `| match, every row drifted within cosine 1e-6 | ${fmt(s.ourDrift)} ms | (fails: exact only) | ${fmt(s.jestMatch / s.ourDrift)}x faster |`,
      `| first write | ${fmt(s.ourWrite)} ms | ${fmt(s.jestWrite)} ms | |`,
      `| file size | ${mb(s.ourSize)} (${(s.ourSize / raw).toFixed(4)}x raw) | ${mb(s.jestSize)} (${(s.jestSize / raw).toFixed(2)}x raw) | |`,
      '',
      `${b.rows.toLocaleString('en-US')} x ${b.dim} float32 (${mb(b.match.dataBytes)}), every row drifted within tolerance, matched in a child process:`,
      '',
      '| | value |',
      '|---|---:|',
      `| baseline file | ${mb(b.size)} (${(b.size / b.match.dataBytes).toFixed(4)}x raw) |`,
      `| write | ${fmt(b.write.ms / 1000)} s |`,
      `| match (streamed, ${b.match.changedRows.toLocaleString('en-US')} rows compared in full) | ${fmt(b.match.ms / 1000)} s |`,
      `| peak RSS while matching | ${mb(b.match.maxRssBytes)} = ${(b.match.maxRssBytes / b.match.dataBytes).toFixed(3)}x the data |`,
      '',
      `Goals: match >= 100x faster than toMatchSnapshot on the same data (${s.jestMatch / s.ourMatch >= 100 ? 'met' : 'NOT met'}: ${fmt(s.jestMatch / s.ourMatch)}x on identical values, the case both can match; on drifted values, which Jest cannot match, batchproof is ${fmt(s.jestMatch / s.ourDrift)}x faster than Jest's exact match${s.jestMatch / s.ourDrift >= 100 ? '' : ', under 100x'}); file <= 1.01x raw + 4 KiB (${s.ourSize <= raw * 1.01 + 4096 ? 'met' : 'NOT met'}); 1 GB match peak RSS <= 1.5x data (${b.match.maxRssBytes <= 1.5 * b.match.dataBytes ? 'met' : 'NOT met'}).`,
      '',
    ];
    process.stdout.write(lines.join('\n'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') runChild(process.argv.slice(3));
else main();
