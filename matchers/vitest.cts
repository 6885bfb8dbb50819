/**
 * `batchproof/vitest` as `require()` finds it: Jest (which requires its setup files) given the
 * Vitest entry, or a CommonJS module requiring it. The entry itself is an ES module that imports
 * Vitest (vitest.mts), which Jest cannot load: it failed with Jest's "Must use import to load ES
 * Module", a message about module formats that never says which entry Jest needs.
 */
import { BadInputError } from '../src/errors';

const REQUIRED =
  "batchproof/vitest is Vitest's setup file (setupFiles: ['batchproof/vitest']) and cannot be required; under Jest use batchproof/jest (setupFilesAfterEnv: ['batchproof/jest']), and for another runner expect.extend(matchers) with matchers from batchproof/matchers";

throw new BadInputError(REQUIRED);
