import { formatValue } from '../src/errors';
import { availableProvidersSync, BadInputError, fixture, fixtureSettings } from '../src';
import { PROVIDERS, providerFailure } from '../src/runtime/providers';
import { rejectUnknownOptions } from '../src/options';
import { testGlobals } from './globals';
import type { Fixture, FixtureOptions, ProviderAvailability, ProviderName } from '../src';

/** Options of describeProviders: which providers a missing one fails the run for instead of being skipped. */
export interface DescribeProvidersOptions {
  /**
   * A provider that does not work here fails the run instead of being skipped: `true` for every
   * listed provider, or the names that must work. The env variable BATCHPROOF_REQUIRE
   * (e.g. `webgpu`, `webgpu,cuda` or `all`) adds to it.
   */
  required?: boolean | ProviderName[];
}

/** The part of Jest's (or Vitest's) globals this uses. */
interface Globals {
  describe: ((name: string, fn: () => void) => void) & { skip: (name: string, fn: () => void) => void };
  test: (name: string, fn: () => void) => void;
  afterAll: (fn: () => Promise<void>) => void;
}

/**
 * Runs the same tests once per execution provider:
 *
 *   describeProviders(['cpu', 'webgpu', 'cuda'], (fx) => {
 *     test('embeddings do not depend on the batch', async () => {
 *       await expect(await fx.load('model.onnx')).toBeBatchInvariant();
 *     });
 *   });
 *
 * 'wasm' (onnxruntime-web's WebAssembly backend, an optional peer dependency) is skipped the
 * same way where onnxruntime-web is missing or of another release, with that reason.
 *
 * Each provider that works here gets a `describe` named after it (its fixture closes after its
 * tests); each one that does not is a skipped `describe` whose name says why, e.g.
 * "webgpu (skipped: no WebGPU adapter: no Vulkan-capable GPU driver ...)". Entries may be fixture
 * options (`{ provider: 'cpu', threads: 1 }`). BATCHPROOF_PROVIDERS=cpu,webgpu replaces the list
 * (keeping the options of listed entries); BATCHPROOF_REQUIRE or `required` makes a missing
 * provider a failing test.
 *
 * Jest collects `describe` blocks synchronously, so availability is probed synchronously, in a
 * child process, once per process (see src/runtime/providers.ts).
 */
export function describeProviders(
  providers: readonly (ProviderName | FixtureOptions)[],
  fn: (fx: Fixture) => void,
  options: DescribeProvidersOptions = {},
): void {
  const g = testGlobals() as Partial<Globals>;
  if (typeof g.describe !== 'function' || typeof g.test !== 'function' || typeof g.afterAll !== 'function') {
    throw new Error('describeProviders must be called in a test file (Jest, or Vitest with globals: true)');
  }
  const { describe, test, afterAll } = g as Globals;
  let entries: FixtureOptions[];
  let required: 'all' | ProviderName[];
  try {
    if (!Array.isArray(providers)) throw new BadInputError(`describeProviders: expected a list of providers, e.g. ['cpu', 'webgpu'], got ${formatValue(providers)}`);
    if (typeof fn !== 'function') throw new BadInputError(`describeProviders: expected a function as the second argument, (fx) => { test(...) }, got ${formatValue(fn)}`);
    // A misspelt { require: true } would skip a missing provider where the user asked for a failure.
    rejectUnknownOptions(options, ['required'], 'describeProviders');
    entries = selectEntries(providers.map((p) => (typeof p === 'string' ? { provider: p } : p)), process.env.BATCHPROOF_PROVIDERS);
    // No entry, no describe: the file would pass with none of these tests run.
    if (entries.length === 0) throw new BadInputError("describeProviders: the list of providers is empty, so none of its tests would run; give at least one, e.g. ['cpu', 'webgpu']");
    required = requiredNames(options.required, process.env.BATCHPROOF_REQUIRE);
    // A required name the file does not list never runs, so it never fails where it is missing.
    // (BATCHPROOF_REQUIRE may name others: it is one setting for every file.)
    const listed = providers.map((p) => (typeof p === 'string' ? p : p.provider));
    const unlisted = Array.isArray(options.required) ? [...new Set(options.required)].filter((n) => !listed.includes(n)) : [];
    if (unlisted.length > 0) {
      throw new BadInputError(
        `describeProviders: required names ${unlisted.map((n) => `'${n}'`).join(', ')}, which the list [${listed.map((n) => `'${n}'`).join(', ')}] does not: add ${unlisted.length === 1 ? 'it' : 'them'} to the list, or leave ${unlisted.length === 1 ? 'it' : 'them'} out of required`,
      );
    }
  } catch (e) {
    // Thrown while Jest collects the file: the line is the whole story, not a code frame of ours.
    if (e instanceof BadInputError) e.stack = `${e.name}: ${e.message}`;
    throw e;
  }
  // CPU always works where onnxruntime loads: no probe needed for a CPU-only list.
  const availability: ProviderAvailability[] = entries.every((e) => e.provider === 'cpu')
    ? [{ name: 'cpu', available: true, reason: null }]
    : availableProvidersSync();

  for (const entry of entries) {
    const fx = fixture(entry);
    const state = availability.find((a) => a.name === entry.provider) as ProviderAvailability;
    if (state.available) {
      describe(fx.label, () => {
        fn(fx);
        // Registered after the user's hooks, so it runs after them.
        afterAll(() => fx.close());
      });
    } else if (required === 'all' || required.includes(entry.provider)) {
      describe(`${fx.label} (required, not available)`, () => {
        test(`${entry.provider} works on this machine`, () => {
          const error = new Error(providerFailure(entry.provider, state.reason ?? 'unknown reason'));
          error.stack = error.message; // the reason is the whole story: no code frame of ours
          throw error;
        });
      });
    } else {
      describe.skip(`${fx.label} (skipped: ${state.reason})`, () => fn(fx));
    }
  }
}

function parseNames(value: string, variable: string): ProviderName[] {
  // A name listed twice would run its tests twice, under two describes of one name.
  const names = [...new Set(value.split(',').map((s) => s.trim()).filter(Boolean))];
  for (const n of names) {
    if (!(PROVIDERS as readonly string[]).includes(n)) {
      throw new BadInputError(`${variable}=${value}: unknown provider '${n}'; use a comma-separated list of ${PROVIDERS.join(', ')}`);
    }
  }
  return names as ProviderName[];
}

/** The list to run: the caller's, or the one in BATCHPROOF_PROVIDERS (keeping the caller's options for names it lists). */
export function selectEntries(entries: FixtureOptions[], env: string | undefined): FixtureOptions[] {
  for (const e of entries) fixtureSettings(e); // checks each entry now, with one clear line
  if (env === undefined || env.trim() === '') return entries;
  const names = parseNames(env, 'BATCHPROOF_PROVIDERS');
  // ',' or ' , ' names no provider: every describe would vanish and the run pass with none of them.
  if (names.length === 0) {
    throw new BadInputError(`BATCHPROOF_PROVIDERS=${JSON.stringify(env)} names no provider; give a comma-separated list of ${PROVIDERS.join(', ')} (e.g. cpu,wasm), or unset it to run the list in the test file`);
  }
  return names.flatMap((name) => {
    const given = entries.filter((e) => e.provider === name);
    return given.length ? given : [{ provider: name }];
  });
}

/** 'all', or the provider names that must work here. */
export function requiredNames(option: DescribeProvidersOptions['required'], env: string | undefined): 'all' | ProviderName[] {
  if (option === true) return 'all';
  if (option !== undefined && option !== false && !Array.isArray(option)) {
    throw new BadInputError(`describeProviders: required must be true, false or a list of providers, got ${formatValue(option)}`);
  }
  const fromOption = Array.isArray(option) ? parseNames(option.join(','), 'required') : [];
  const value = env?.trim() ?? '';
  if (['all', '*', '1', 'true'].includes(value.toLowerCase())) return 'all';
  return [...fromOption, ...(value ? parseNames(value, 'BATCHPROOF_REQUIRE') : [])];
}
