/**
 * A real dynamic import, in a file of its own (see esm.ts): tsc turns `import()` into require,
 * which cannot load ES modules, and the CLI's bundle runs in a vm.Script without a module loader.
 * Loaded with a plain require, this file's import() is Node's own. Under Jest, whose module
 * registry compiles this file without a dynamic-import callback, the import goes through a
 * function compiled in the main context with Node's default loader instead (Node 20.12+; Node
 * prints an ExperimentalWarning for it, so it is the fallback only).
 */
import vm = require('vm');

type Importer = (url: string) => Promise<Record<string, unknown>>;
// eslint-disable-next-line no-new-func
const plainImport = new Function('url', 'return import(url)') as Importer;
let mainContextImport: Importer | null = null;

export async function importEsm(url: string): Promise<Record<string, unknown>> {
  if (!mainContextImport) {
    try {
      return await plainImport(url);
    } catch (e) {
      const loader = (vm as { constants?: { USE_MAIN_CONTEXT_DEFAULT_LOADER?: unknown } }).constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER;
      if ((e as NodeJS.ErrnoException)?.code !== 'ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING_FLAG' || typeof loader !== 'symbol') throw e;
      mainContextImport = vm.runInThisContext('(url) => import(url)', { importModuleDynamically: loader as never }) as Importer;
    }
  }
  return mainContextImport(url);
}
