/**
 * Imports an ES module (vega, a user's batch function module) with Node's own loader, through
 * import-esm.js, a file of its own required by path: the CLI runs its bundle in a vm.Script (the
 * code cache), where an import() compiled inside the bundle has no module loader.
 */
import path = require('path');
import { BadInputError } from '../errors';

type Importer = (url: string) => Promise<Record<string, unknown>>;
let importer: Importer | null = null;

/** Imports the ES module at `url` (a file: URL). */
export function importEsm(url: string): Promise<Record<string, unknown>> {
  importer ??= findImporter();
  return importer(url);
}

/** import-esm's importer, beside this file (dist/src/runtime, or src/ under ts-jest) or beside the bundle (dist/). */
function findImporter(): Importer {
  for (const candidate of [path.join(__dirname, 'import-esm'), path.join(__dirname, 'src', 'runtime', 'import-esm')]) {
    try {
      // A computed path: the bundler leaves it to Node's require at run time.
      return (require(candidate) as typeof import('./import-esm')).importEsm;
    } catch {
      // Not there: the next place.
    }
  }
  throw new BadInputError('cannot load ES modules here (import-esm.js is missing from the installed package); reinstall batchproof');
}
