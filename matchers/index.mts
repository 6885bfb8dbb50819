/**
 * `batchproof/matchers` as an ES module imports it: the same module (index.ts, CommonJS), whose
 * default export is the matcher object as it is under require() and in Vitest. Node makes the
 * default import of a CommonJS module its whole exports, so `import matchers from
 * 'batchproof/matchers'` gave every export, describeProviders and the matcher object itself
 * among them, for expect.extend to register as matchers.
 */
export * from './index.js';
import { matchers } from './index.js';

/** Every batchproof matcher, for expect.extend: the same object as the named export `matchers`. */
export default matchers;
