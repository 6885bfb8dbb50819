/**
 * Where onnxruntime-web is installed and which release, found without loading it (a resolve and
 * a read of its package.json). Shared by the provider probe (providers.ts) and the wasm runner
 * (wasm.ts), which must not import each other.
 */
import fs = require('fs');
import path = require('path');
import vm = require('vm');

export const WASM_PACKAGE = 'onnxruntime-web';
/** The onnxruntime-web release line batchproof is built and tested against (onnxruntime-node's). */
export const WASM_SUPPORTED = '1.30';

/**
 * Node's own require. Under Jest the test's module registry compiles code without a dynamic
 * import callback, and onnxruntime-web imports its Emscripten glue (an .mjs) dynamically, which
 * then fails with ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING_FLAG. Node's loader, reached through the
 * main realm's process (Jest gives tests a stand-in), compiles it with one. Outside Jest the two
 * are the same.
 */
export function nodeRequire(): NodeRequire {
  const main = vm.runInThisContext('process') as NodeJS.Process & { getBuiltinModule?: (id: string) => unknown };
  if (main === process) return require;
  const Module = (main.getBuiltinModule?.('module') ?? main.mainModule?.constructor) as { createRequire?: (from: string) => NodeRequire } | undefined;
  return Module?.createRequire ? Module.createRequire(__filename) : require;
}

/** onnxruntime-web's package.json (version), or why it cannot be found. Reads no JavaScript of it. */
export function locatePackage(req: NodeRequire): { version: string; main: string } | { reason: string } {
  let main: string;
  try {
    main = req.resolve(WASM_PACKAGE);
  } catch {
    return { reason: `${WASM_PACKAGE} is not installed, an optional peer dependency of batchproof` };
  }
  // Its exports map has no './package.json': walk up from the entry point instead.
  for (let dir = path.dirname(main); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    try {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === WASM_PACKAGE) return { version: String(pkg.version ?? 'unknown'), main };
    } catch {
      // not this folder
    }
  }
  return { reason: `${WASM_PACKAGE} resolves to ${main}, but its package.json could not be read` };
}

/** onnxruntime-web's entry point as Node resolves it here (for the probe's child process), or null. */
export function wasmEntry(): string | null {
  const found = locatePackage(nodeRequire());
  return 'main' in found ? found.main : null;
}

/** The version line ('1.30') of a version ('1.30.2'). */
function line(version: string): string {
  return version.split('.').slice(0, 2).join('.');
}

/**
 * Why 'wasm' cannot run here, found without loading onnxruntime-web (a resolve and a read of its
 * package.json), or null when it is installed at the supported version. Whether a session then
 * runs is the probe's question (src/runtime/providers.ts).
 */
export function wasmUnavailableReason(): string | null {
  const found = locatePackage(nodeRequire());
  if ('reason' in found) return found.reason;
  if (line(found.version) !== WASM_SUPPORTED) {
    return `${WASM_PACKAGE} ${found.version} is installed; batchproof runs ${WASM_SUPPORTED}, the release of its onnxruntime-node`;
  }
  return null;
}
