import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

// onnxruntime 1.29+ records each session in a database under the user's cache folder
// (Microsoft/DeveloperTools/.onnxruntime) unless ORT_DISABLE_TELEMETRY or CI is set. The CLI
// turns it off in its own process (src/cli/bin.ts, and the bundle's first statement for
// `node dist/cli.js`: scripts/bundle-cli.js) unless the user set the variable.
const root = path.join(__dirname, '..', '..');
const bin = path.join(root, 'dist', 'src', 'cli', 'bin.js');
const bundle = path.join(root, 'dist', 'cli.js');
const model = path.join(root, 'examples', 'models', 'text_embedder.onnx');

/** A run with its own home, and none of the variables that turn the telemetry off already. */
function runIn(args: string[], extra: Record<string, string> = {}) {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'batchproof-telemetry-'));
  const env: Record<string, string> = { ...(process.env as Record<string, string>), HOME: home, ...extra };
  for (const name of ['CI', 'ORT_DISABLE_TELEMETRY', 'ORT_RUNNING_UNIT_TESTS', 'XDG_CACHE_HOME']) if (!(name in extra)) delete env[name];
  const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', env });
  const recorded = fs.existsSync(path.join(home, '.cache', 'Microsoft', 'DeveloperTools', '.onnxruntime'));
  fs.rmSync(home, { recursive: true, force: true });
  return { status: r.status, stderr: r.stderr, recorded };
}

test("control: a plain onnxruntime-node script records its session (the telemetry is on by default)", () => {
  const script = `require(${JSON.stringify(require.resolve('onnxruntime-node'))}).InferenceSession.create(${JSON.stringify(model)}).then(() => process.exit(0));`;
  expect(runIn(['-e', script])).toMatchObject({ status: 0, recorded: true });
});

test("a check records nothing, nor does a batch function's own onnxruntime in the CLI's process", () => {
  expect(runIn([bin, 'check', model, '--json'])).toMatchObject({ status: 0, recorded: false });
  const samples = path.join(root, 'tmp', 'telemetry-texts.json');
  fs.mkdirSync(path.dirname(samples), { recursive: true });
  fs.writeFileSync(samples, JSON.stringify(['a query', 'another text', 'batch', 'invariant', 'the same answer']));
  expect(runIn([bin, 'check', path.join(root, 'bench', 'embed-fn.js'), '--samples', samples, '--json'])).toMatchObject({ status: 0, recorded: false });
});

test('ORT_DISABLE_TELEMETRY=0 set by the user is kept: the session is recorded', () => {
  expect(runIn([bin, 'check', model, '--json'], { ORT_DISABLE_TELEMETRY: '0' })).toMatchObject({ status: 0, recorded: true });
});

test('the bundle run directly (node dist/cli.js, "the CLI" of the README) records nothing; ORT_DISABLE_TELEMETRY=0 is kept', () => {
  expect(runIn([bundle, 'check', model, '--json'])).toMatchObject({ status: 0, recorded: false });
  expect(runIn([bundle, 'check', model, '--json'], { ORT_DISABLE_TELEMETRY: '0' })).toMatchObject({ status: 0, recorded: true });
});
