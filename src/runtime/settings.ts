/**
 * Session settings: declared once (SESSION_SETTINGS, one entry per key, each with the option
 * onnxruntime takes it as), checked once (validateSettings) and turned into onnxruntime's session
 * options in one place (sessionOptions). Every command, fixture and matcher takes these keys.
 */
import os = require('os');
import type * as ort from 'onnxruntime-node';
import { BadInputError, describeValue, formatValue } from '../errors';
import { PROVIDERS, type ProviderName } from './providers';

export const OPTIMIZATION_LEVELS = ['disabled', 'basic', 'extended', 'all'] as const;
/** onnxruntime's graph optimization level: 'disabled', 'basic', 'extended' or 'all'. */
export type OptimizationLevel = (typeof OPTIMIZATION_LEVELS)[number];

/** How a session is created. Every field is optional; absent means onnxruntime's default. */
export interface SessionSettings {
  /** The one execution provider the session may use (no CPU fallback). Default 'cpu'. */
  provider?: ProviderName;
  /** Intra-op threads. Default: onnxruntime's (one per physical core). */
  threads?: number;
  /** Inter-op threads (only used with executionMode 'parallel'). */
  interOpThreads?: number;
  /** Graph optimization level. Default: onnxruntime's ('all'). */
  optimization?: OptimizationLevel;
  /** Sets onnxruntime's session.use_deterministic_compute. */
  deterministic?: boolean;
  executionMode?: 'sequential' | 'parallel';
  /** onnxruntime's CPU memory arena (default on). */
  memoryArena?: boolean;
  /**
   * Session config entries, string values only, as onnxruntime-node takes them, e.g.
   * `{ session: { disable_cpu_ep_fallback: '1' } }` to make onnxruntime refuse a GPU session
   * that would run some nodes on the CPU.
   */
  extra?: Record<string, unknown>;
  /** Options for the provider itself, passed as they are (e.g. WebGPU's `{ validationMode: 'disabled' }`). */
  providerOptions?: Record<string, unknown>;
}

/**
 * Every session setting, and the onnxruntime-node session option it becomes (null: handled by
 * sessionOptions itself). `satisfies` keeps this table and SessionSettings the same keys: a key
 * added to one and not the other does not compile.
 */
export const SESSION_SETTINGS = {
  provider: null,
  threads: 'intraOpNumThreads',
  interOpThreads: 'interOpNumThreads',
  optimization: 'graphOptimizationLevel',
  deterministic: null,
  executionMode: 'executionMode',
  memoryArena: 'enableCpuMemArena',
  extra: 'extra',
  providerOptions: null,
} as const satisfies Record<keyof SessionSettings, keyof ort.InferenceSession.SessionOptions | null>;

/** The session settings' names, as every check and fixture takes them. */
export const SESSION_OPTION_KEYS = Object.keys(SESSION_SETTINGS) as (keyof SessionSettings)[];

/** Builds onnxruntime's session options, never carrying undefined values (ORT rejects them). */
export function sessionOptions(settings: SessionSettings): ort.InferenceSession.SessionOptions {
  const provider = settings.provider ?? 'cpu';
  const ep = settings.providerOptions && Object.keys(settings.providerOptions).length > 0
    ? ({ name: provider, ...settings.providerOptions } as ort.InferenceSession.ExecutionProviderConfig)
    : provider;
  // Exactly one provider: onnxruntime-common drops an unavailable provider from a longer list
  // with only a console warning, so a list of two could silently run on the second.
  const options: Record<string, unknown> = { executionProviders: [ep] };
  for (const key of SESSION_OPTION_KEYS) {
    const option = SESSION_SETTINGS[key];
    if (option !== null && settings[key] !== undefined) options[option] = settings[key];
  }
  if (settings.deterministic) {
    const extra = (settings.extra ?? {}) as { session?: Record<string, string> };
    options.extra = { ...extra, session: { ...(extra.session ?? {}), use_deterministic_compute: '1' } };
  }
  return options as ort.InferenceSession.SessionOptions;
}

/**
 * The most threads a session may ask for: 4 per core, at least 64. onnxruntime starts every
 * thread at session creation and spins them; 100000 threads hang the machine instead of failing.
 */
export function maxThreads(): number {
  return Math.max(64, 4 * os.availableParallelism());
}

/** Checks session settings; each problem is one line that names the fix. */
export function validateSettings(settings: SessionSettings): void {
  if (typeof settings !== 'object' || settings === null || Array.isArray(settings)) {
    throw new BadInputError(`session settings must be an object, got ${formatValue(settings)}; for example { provider: 'cpu', threads: 2 }`);
  }
  const provider = settings.provider ?? 'cpu';
  if (!(PROVIDERS as readonly unknown[]).includes(provider)) {
    throw new BadInputError(`unknown provider ${typeof provider === 'string' ? `'${provider}'` : formatValue(provider)}; use one of ${PROVIDERS.join(', ')}`);
  }
  for (const key of ['threads', 'interOpThreads'] as const) {
    const v = settings[key] as unknown;
    if (v !== undefined && !(typeof v === 'number' && Number.isInteger(v) && v > 0)) {
      throw new BadInputError(`${key} must be a positive integer, got ${formatValue(v)}; for example ${key}: 2`);
    }
    const cap = maxThreads();
    if (typeof v === 'number' && v > cap) {
      throw new BadInputError(`${key} ${v} is more than the ${cap} allowed here (4 per core, at least 64; this machine has ${os.availableParallelism()} cores); use at most ${cap}, for example ${key}: ${os.availableParallelism()}`);
    }
  }
  if (settings.optimization !== undefined && !(OPTIMIZATION_LEVELS as readonly unknown[]).includes(settings.optimization)) {
    const v = settings.optimization as unknown;
    throw new BadInputError(
      `unknown optimization level ${typeof v === 'string' ? `'${v}'` : formatValue(v)}; use one of ${OPTIMIZATION_LEVELS.join(', ')}`,
    );
  }
  for (const key of ['deterministic', 'memoryArena'] as const) {
    const v = settings[key];
    if (v !== undefined && typeof v !== 'boolean') throw new BadInputError(`${key} must be true or false, got ${formatValue(v)}; for example ${key}: true`);
  }
  if (settings.executionMode !== undefined && !(['sequential', 'parallel'] as unknown[]).includes(settings.executionMode)) {
    throw new BadInputError(`executionMode must be 'sequential' or 'parallel', got ${formatValue(settings.executionMode)}`);
  }
  for (const key of ['extra', 'providerOptions'] as const) {
    const v = settings[key];
    if (v !== undefined && (typeof v !== 'object' || v === null || Array.isArray(v))) {
      throw new BadInputError(`${key} must be an object, got ${describeValue(v)}; for example ${key === 'extra' ? "extra: { session: { use_deterministic_compute: '1' } }" : 'providerOptions: { deviceId: 0 }'}`);
    }
  }
  // onnxruntime-node takes config entries as strings only ("sessionOptions.extra value must be a string").
  const walk = (value: unknown, path: string): void => {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) walk(v, `${path}.${k}`);
    } else if (typeof value !== 'string') {
      throw new BadInputError(`${path} must be a string (onnxruntime takes session config values as strings), got ${formatValue(value)}; for example '${typeof value === 'symbol' ? 'value' : String(value)}'`);
    }
  };
  if (settings.extra !== undefined) walk(settings.extra, 'extra');
}

/** Short name for a set of settings: the provider and whatever differs from the defaults. */
export function settingsLabel(settings: SessionSettings): string {
  const parts: string[] = [];
  const po = settings.providerOptions ?? {};
  if (po.deviceId !== undefined) parts.push(`device ${po.deviceId}`);
  if (settings.threads !== undefined) parts.push(`threads ${settings.threads}`);
  if (settings.interOpThreads !== undefined) parts.push(`inter-op threads ${settings.interOpThreads}`);
  if (settings.optimization !== undefined && settings.optimization !== 'all') parts.push(`optimization ${settings.optimization}`);
  if (settings.deterministic) parts.push('deterministic');
  if (settings.executionMode === 'parallel') parts.push('parallel');
  if (settings.memoryArena === false) parts.push('no arena');
  const others = Object.keys(po).filter((k) => k !== 'deviceId');
  if (others.length) parts.push(others.map((k) => `${k}=${formatValue(po[k])}`).join(' '));
  if (settings.extra && Object.keys(settings.extra).length) parts.push('extra config');
  const provider = settings.provider ?? 'cpu';
  return parts.length ? `${provider} (${parts.join(', ')})` : provider;
}

