/**
 * A real dynamic import, in a file of its own: the CLI runs its bundle through a vm.Script (the
 * code cache), where import() has no module loader, and tsc turns `import()` into require, which
 * cannot load ES modules. Loaded with a plain require, this file's import() is Node's own.
 */
// eslint-disable-next-line no-new-func
export const importEsm = new Function('url', 'return import(url)') as (url: string) => Promise<Record<string, unknown>>;
