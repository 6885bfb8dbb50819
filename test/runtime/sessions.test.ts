// One way to make a session: every command words a missing provider the same way, from the
// same probe, before onnxruntime prints native driver noise (issue 11, the runtime layer).
import * as path from 'path';
import { cli } from '../helpers/cli';
import { unavailableReason } from '../../src/runtime/providers';

const model = path.join(__dirname, '..', '..', 'examples', 'models', 'embedding_cnn.onnx');

// On a machine where the provider works there is no failure to word: those cases are skipped.
const missing = (['cuda', 'webgpu'] as const).filter((p) => unavailableReason(p) !== null);
const each = missing.length > 0 ? test.each(missing) : test.skip.each(['cuda']);

each('--provider %s: check, determinism, stats and locate say the same line', async (provider) => {
  const lines: string[] = [];
  for (const command of ['check', 'determinism', 'stats', 'locate']) {
    const r = await cli(command, model, '--provider', provider);
    expect([command, r.code]).toEqual([command, 2]);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    lines.push(r.stderr.trim());
  }
  expect(new Set(lines).size).toBe(1);
  expect(lines[0]).toMatch(new RegExp(`^batchproof: provider '${provider}' is not available here \\(`));
});
