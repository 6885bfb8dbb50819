/**
 * The test runner's globals (expect, describe, test, hooks): the global ones where the runner
 * injects them, else Jest's own from `@jest/globals`, which Jest's runtime hands to any module
 * it loads, so a config with `injectGlobals: false` (suites that import expect from
 * '@jest/globals') works too. Outside Jest (plain Node, Vitest without globals) an empty object.
 */
export function testGlobals(): Record<string, unknown> {
  const g = globalThis as unknown as Record<string, unknown>;
  if (g.expect !== undefined && g.describe !== undefined) return g;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return { ...(require('@jest/globals') as Record<string, unknown>) };
  } catch {
    // Not installed, or installed and refusing to load outside Jest's runtime.
    return g;
  }
}
