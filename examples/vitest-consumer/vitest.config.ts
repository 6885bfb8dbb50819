import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The one line a Vitest project needs: registers batchproof's matchers on Vitest's expect.
    setupFiles: ['batchproof/vitest'],
    include: ['test/**/*.test.ts'],
    // A check runs the model a few hundred times: more than Vitest's 5 s default on a small machine.
    testTimeout: 60_000,
  },
});
