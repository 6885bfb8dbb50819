import { execFileSync, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

// The CLI writes its output with plain synchronous writes and exits as soon as main returns
// (src/cli/run.ts), without waiting for Node to tear down onnxruntime and the heap. Nothing
// written may be lost on the way out, even where a pipe is full and non-blocking, which hands
// the rest to Node's stream (io/terminal.ts), whose queue the exit must wait for.
const root = path.join(__dirname, '..', '..');
const bin = path.join(root, 'dist', 'src', 'cli', 'bin.js');
const model = path.join(root, 'examples', 'models', 'transformer_encoder.onnx');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'batchproof-output-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs the bin with stdout on a full, non-blocking FIFO that nobody reads for `waitMs`; returns all it wrote and its exit code. */
async function throughNonBlockingPipe(args: string[], waitMs: number): Promise<{ out: Buffer; code: number | null; stderr: string }> {
  const fifo = path.join(tmp, `fifo-${Math.random().toString(36).slice(2)}`);
  execFileSync('mkfifo', [fifo]);
  const reader = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  const writer = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', writer, 'pipe'] });
  fs.closeSync(writer);
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  await sleep(waitMs);
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(1 << 16);
  for (;;) {
    let n: number;
    try {
      n = fs.readSync(reader, buf, 0, buf.length, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      await sleep(5);
      continue;
    }
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  fs.closeSync(reader);
  return { out: Buffer.concat(chunks), code: await exited, stderr };
}

test('a page larger than a pipe holds, on a full non-blocking pipe read late, arrives whole', async () => {
  const report = path.join(tmp, 'report.json');
  const r = spawnSync(process.execPath, [bin, 'check', model, '--batch-sizes', Array.from({ length: 24 }, (_, i) => i + 1).join(','), '--json', report], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  const inputs = [1, 2, 3, 4, 5, 6, 7, 8].map((i) => {
    const copy = path.join(tmp, `report-${i}.json`);
    fs.copyFileSync(report, copy);
    return copy;
  });
  // The same page written to a file, to compare with.
  const file = path.join(tmp, 'page.html');
  expect(spawnSync(process.execPath, [bin, 'report', ...inputs, '-o', file]).status).toBe(0);
  const page = fs.readFileSync(file);
  // Larger than a pipe holds (64 KiB): the writes hit EAGAIN and the stream takes over.
  expect(page.length).toBeGreaterThan(2 * 65536);
  const { out, code, stderr } = await throughNonBlockingPipe(['report', ...inputs, '-o', '-'], 1500);
  expect(code).toBe(0);
  expect(stderr).toMatch(/^wrote -: 8 reports/);
  expect(out.length).toBe(page.length);
  // The same bytes but for the time the page was made.
  const undated = (b: Buffer) => b.toString().replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, '(time)');
  expect(undated(out)).toBe(undated(page));
}, 60_000);

test('a check\'s JSON and its exit code come through the same way', async () => {
  const { out, code } = await throughNonBlockingPipe(['check', model, '--batch-sizes', '1,2', '--json'], 500);
  expect(code).toBe(0);
  expect(JSON.parse(out.toString()).verdict).toMatch(/invariant|within-tolerance/);
  const bad = await throughNonBlockingPipe(['check', path.join(tmp, 'none.onnx')], 200);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/^batchproof: .*none\.onnx: no such file/);
}, 60_000);
