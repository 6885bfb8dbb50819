// `npm start` (examples/check-all.js): a new user's first run. It must say, for each bundled
// model, whether its verdict is the one the model is built to show, not leave the reader to
// compare a verdict with a description; and write the examples' page where it says.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.join(__dirname, '..', '..');

test('npm start names each model, its verdict and whether it is the expected one, then writes the page', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'batchproof-start-'));
  try {
    const page = path.join(dir, 'examples.html');
    const r = spawnSync(process.execPath, [path.join(root, 'examples', 'check-all.js')], { cwd: root, encoding: 'utf8', timeout: 170_000, env: { ...process.env, BATCHPROOF_PAGE: page, XDG_CACHE_HOME: path.join(dir, 'cache') } });
    expect([r.status, r.stderr]).toEqual([0, '']);
    const summary = r.stdout.slice(r.stdout.indexOf('\nSummary'));
    const rows = [...summary.matchAll(/^ {2}(\S+\.onnx) +exit (\d) +(\S+(?: \([^)]*\))?) +(as expected|NOT AS EXPECTED): /gm)].map((m) => [m[1], m[2], m[3].split(' ')[0], m[4]]);
    expect(rows).toEqual([
      ['embedding_cnn.onnx', '0', 'invariant', 'as expected'],
      ['embedding_cnn_train_bn.onnx', '1', 'violated', 'as expected'],
      ['text_embedder.onnx', '0', expect.stringMatching(/^(within-tolerance|invariant)$/), 'as expected'],
      ['text_embedder_quantized.onnx', '1', 'violated', 'as expected'],
      ['transformer_encoder.onnx', '0', expect.stringMatching(/^(within-tolerance|invariant)$/), 'as expected'],
    ]);
    expect(summary).toMatch(/All 5 verdicts are the ones the models are built to show\./);
    expect(summary).toContain(`The examples' page (charts and tables): ${path.relative(root, page)}`);
    expect(fs.readFileSync(page, 'utf8')).toMatch(/5 entries: 2 failed, 3 passed\./);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 180_000);
