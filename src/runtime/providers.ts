/**
 * Execution providers: their names, whether each works on this machine (a probe in a child
 * process), and onnxruntime's failures turned into one line naming the reason and the cure.
 * Every session batchproof makes (runtime/session.ts) asks here first.
 */
import type * as childProcess from 'child_process';
import vm = require('vm');
import { BadInputError, oneLine } from '../errors';
import { wasmEntry, wasmUnavailableReason } from './web-package';

/** Execution providers batchproof knows how to pin ('wasm': onnxruntime-web's WebAssembly backend, in Node). */
export const PROVIDERS = ['cpu', 'webgpu', 'cuda', 'tensorrt', 'wasm'] as const;
/** An execution provider name: 'cpu', 'webgpu', 'cuda', 'tensorrt' or 'wasm'. */
export type ProviderName = (typeof PROVIDERS)[number];

/** Why a provider could not create a session, and what cures it, in one line. */
export function providerFailure(provider: ProviderName, reason: string): string {
  const cure: Record<ProviderName, string> = {
    cpu: 'check the model and the session options',
    webgpu: 'WebGPU needs a Vulkan-capable GPU driver (it runs on NVIDIA GPUs through Vulkan); use the cpu provider on machines without one',
    cuda: "onnxruntime-node installs the CUDA provider libraries only with 'npm install --onnxruntime-node-install=cuda12' (downloaded at install time, from outside the npm registry), and needs an NVIDIA GPU with CUDA 12",
    tensorrt: "onnxruntime-node installs the TensorRT provider libraries only with 'npm install --onnxruntime-node-install=cuda12', and needs TensorRT on the machine",
    wasm: "install onnxruntime-web 1.30 with 'npm install --save-dev onnxruntime-web@~1.30.0'",
  };
  return `provider '${provider}' is not available here (${oneLine(reason)}); ${cure[provider]}`;
}

/**
 * Turns onnxruntime's provider errors into a short reason a person can act on. onnxruntime's
 * messages start with a source path and a C++ signature; the useful part is after them. The
 * native libraries also print which shared library is missing on stderr, which only a probe in
 * a child process can read (`stderr`): that detail is kept when given.
 */
export function explainProviderError(provider: ProviderName, message: string, stderr = ''): string {
  const text = message
    .replace(/\s+/g, ' ')
    // "/onnxruntime_src/...cc:136 onnxruntime::...::<lambda()> cond was false. Failed to ..." → "Failed to ..."
    .replace(/^\/onnxruntime_src\/\S+:\d+ .*? was false\. /, '')
    .replace(/^OrtSessionOptionsAppendExecutionProvider_\w+: /, '')
    .trim();
  const missing = [...new Set([...stderr.matchAll(/([\w.+-]+\.so(?:\.[\d.]+)?): cannot open shared object file/g)].map((m) => m[1]))];
  const detail = missing.length ? ` (${missing.map((lib) => `${lib} not found`).join(', ')})` : '';
  // onnxruntime-common's words when the wasm backend did not start: "no available backend found. ERR: [wasm] ...".
  if (provider === 'wasm') return text.replace(/^no available backend found\. ERR: (\[wasm\] )?/i, 'the WebAssembly backend did not start: ') + detail;
  if (provider === 'webgpu' && /no supported adapters|failed to get a webgpu adapter/i.test(text)) {
    return `no WebGPU adapter: no Vulkan-capable GPU driver${detail}`;
  }
  if ((provider === 'cuda' || provider === 'tensorrt') && /failed to load shared library/i.test(text)) {
    const what = provider === 'cuda' ? 'CUDA' : 'TensorRT';
    return `the ${what} provider libraries could not be loaded${detail || ' (not installed, or CUDA 12 missing)'}`;
  }
  return text + detail;
}

/** Whether an execution provider works on this machine, and why not when it does not. */
export interface ProviderAvailability {
  name: ProviderName;
  available: boolean;
  /** Why it is not available (null when it is). */
  reason: string | null;
}

/**
 * The probe model: y = x + x on a float32 vector [N] (opset 13, 92 bytes). Made with
 * src/onnx/proto.ts's encodeModel; test/fixture/providers.test.ts decodes it to check.
 */
export const PROBE_MODEL_BASE64 =
  'CAgSEGJhdGNocHJvb2YtcHJvYmU6QAoTCgF4CgF4EgF5GgNhZGQiA0FkZBIFcHJvYmVaEAoBeBILCgkIARIFCgMSAU5iEAoBeRILCgkIARIFCgMSAU5CBAoAEA0=';

/**
 * Runs in a child Node process: for each provider, create a session pinned to it, run the probe
 * model once and check the answer. Markers on stderr split onnxruntime's native messages (which
 * name the missing library) by provider. Prints one JSON line on stdout.
 */
const PROBE_SCRIPT = `
const [ortPath, webPath, model, ...names] = process.argv.slice(1);
const ort = require(ortPath);
const bytes = Buffer.from(model, 'base64');
(async () => {
  const results = [];
  for (const name of names) {
    process.stderr.write('\\n@@batchproof-probe ' + name + '\\n');
    try {
      // 'wasm' runs in onnxruntime-web (its own InferenceSession and Tensor), one thread as batchproof runs it.
      let rt = ort;
      if (name === 'wasm') {
        if (webPath.startsWith('!')) throw new Error(webPath.slice(1));
        rt = require(webPath);
        rt.env.wasm.numThreads = 1;
      }
      const session = await rt.InferenceSession.create(bytes, { executionProviders: [name] });
      const out = await session.run({ x: new rt.Tensor('float32', new Float32Array([1, 2, 3, 4]), [4]) });
      await session.release();
      const y = Array.from(out.y.data);
      results.push(y.join(',') === '2,4,6,8' ? { name, ok: true } : { name, ok: false, error: 'the probe model gave a wrong answer: ' + y.join(',') });
    } catch (e) {
      results.push({ name, ok: false, error: String((e && e.message) || e) });
    }
  }
  process.stdout.write(JSON.stringify(results) + '\\n');
})();
`;

const PROBE_TIMEOUT_MS = 120_000;

/*
 * Why a child process, and why cached on Node's main realm:
 * - Jest collects `describe` blocks synchronously, so describeProviders must know at collection
 *   time which providers work; creating a session is asynchronous in-process, but spawnSync of
 *   a child that does it is synchronous.
 * - A broken GPU driver can crash or hang the process that loads it; in a child that becomes a
 *   reason ("probe crashed"), not a dead test run. The child's stderr also carries the native
 *   libraries' own messages (which shared library is missing), which the parent cannot read.
 * - Jest gives each test file a fresh module registry and global object, but one worker process
 *   runs many files: the main realm's globalThis (reached through vm.runInThisContext, as
 *   matchers/realm.ts does) is shared by all of them, so the probe runs once per process.
 */
const CACHE_KEY = Symbol.for('batchproof.providerProbe');
type Cache = { result?: ProviderAvailability[]; pending?: Promise<ProviderAvailability[]> };
function cache(): Cache {
  const main = vm.runInThisContext('globalThis') as Record<symbol, Cache | undefined>;
  return (main[CACHE_KEY] ??= {});
}

function probeArgs(): string[] {
  // onnxruntime-web's entry point, or '!' and why it cannot be used (missing, another release).
  const missing = wasmUnavailableReason();
  const web = missing ? `!${missing}` : wasmEntry() ?? '!onnxruntime-web could not be resolved';
  return ['-e', PROBE_SCRIPT, require.resolve('onnxruntime-node'), web, PROBE_MODEL_BASE64, ...PROVIDERS];
}

/** Reads the child's answer; anything missing becomes a reason, never a throw. */
export function parseProbe(stdout: string, stderr: string, failure: string | null): ProviderAvailability[] {
  let parsed: { name: ProviderName; ok: boolean; error?: string }[] = [];
  try {
    parsed = JSON.parse(stdout.trim().split('\n').pop() ?? '');
  } catch {
    parsed = [];
  }
  const sections = new Map<string, string>();
  for (const part of stderr.split('\n@@batchproof-probe ').slice(1)) {
    const nl = part.indexOf('\n');
    sections.set(part.slice(0, nl), part.slice(nl + 1));
  }
  return PROVIDERS.map((name) => {
    const r = parsed.find((p) => p.name === name);
    if (r?.ok) return { name, available: true, reason: null };
    if (r) return { name, available: false, reason: explainProviderError(name, r.error ?? 'unknown error', sections.get(name)) };
    // The child stopped before answering for this provider (crash or timeout while probing it).
    const during = sections.has(name) ? ` while probing ${name}` : '';
    return { name, available: false, reason: `the probe ${failure ?? 'gave no answer'}${during}` };
  });
}

function describeExit(status: number | null, signal: string | null, error: Error | undefined): string | null {
  if (error && /ETIMEDOUT|timed out/i.test(String((error as NodeJS.ErrnoException).code ?? error.message))) return `timed out after ${PROBE_TIMEOUT_MS / 1000}s`;
  if (error) return `could not start (${error.message})`;
  if (signal) return `crashed (${signal})`;
  if (status !== 0) return `exited with status ${status}`;
  return null;
}

/** child_process, loaded only for a probe: loading it (with net and dgram) costs every CLI run about 4 ms. */
function childProcessModule(): typeof childProcess {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('child_process') as typeof childProcess;
}

/**
 * Which providers work here, probed synchronously (for Jest's collection phase), once per process.
 * Each provider gets a session for a tiny model, pinned to it alone, and one run.
 */
export function availableProvidersSync(): ProviderAvailability[] {
  const c = cache();
  if (c.result) return c.result;
  const r = childProcessModule().spawnSync(process.execPath, probeArgs(), { encoding: 'utf8', timeout: PROBE_TIMEOUT_MS, maxBuffer: 16 << 20 });
  c.result = parseProbe(r.stdout ?? '', r.stderr ?? '', describeExit(r.status, r.signal, r.error));
  return c.result;
}

/** Which providers work here: `[{ name, available, reason }]`, probed once per process. */
export async function availableProviders(): Promise<ProviderAvailability[]> {
  const c = cache();
  if (c.result) return c.result;
  c.pending ??= new Promise((resolve) => {
    childProcessModule().execFile(process.execPath, probeArgs(), { encoding: 'utf8', timeout: PROBE_TIMEOUT_MS, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      const e = error as (Error & { code?: number | string; signal?: string; killed?: boolean }) | null;
      const failure = !e ? null : e.killed ? `timed out after ${PROBE_TIMEOUT_MS / 1000}s` : describeExit(typeof e.code === 'number' ? e.code : null, e.signal ?? null, typeof e.code === 'number' || e.signal ? undefined : e);
      c.result = parseProbe(stdout, stderr, failure);
      resolve(c.result);
    });
  });
  return c.pending;
}

/**
 * Why a provider cannot create a session here, or null when it can. For a GPU provider this is
 * the child-process probe's answer (cached once per process, shared with describeProviders and
 * availableProviders), so a missing WebGPU adapter or CUDA library is known before an
 * in-process session prints native noise (Dawn's Vulkan warning, onnxruntime's error log) on
 * stderr. 'cpu' is never probed: it is always there; nor is 'wasm' here (see below). The first
 * GPU call runs the probe synchronously (about a second); later calls are a lookup.
 */
export function unavailableReason(provider: ProviderName): string | null {
  if (provider === 'cpu') return null;
  // WebAssembly loads no driver and prints no native noise: a missing or wrong onnxruntime-web
  // is known from its package.json, without the probe's child process; a session that then
  // fails says why itself.
  if (provider === 'wasm') return wasmUnavailableReason();
  const found = availableProvidersSync().find((p) => p.name === provider);
  if (!found) return null; // not a provider the probe knows: let session creation say why
  return found.available ? null : found.reason ?? 'unknown reason';
}

/**
 * A GPU provider (or wasm) that the cached, out-of-process probe found missing fails here, in
 * one line, before an in-process attempt prints native driver noise to stderr. Every session
 * batchproof makes (runtime/session.ts createSession) goes through this and sessionError, so every
 * command words the same failure the same way.
 */
export function assertProviderAvailable(provider: ProviderName): void {
  if (provider === 'cpu') return;
  const missing = unavailableReason(provider);
  if (missing) throw new BadInputError(providerFailure(provider, missing));
}
