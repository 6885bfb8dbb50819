// What 'onnxruntime-node' is inside the CLI bundle (scripts/bundle-cli.js, bundledOnnxruntime):
// the copy of onnxruntime-node's and onnxruntime-common's JavaScript that the bundle holds, with
// the installed package's native addon, where the installed packages are the ones that copy was
// made from (their versions, and the sizes of their files). The copy is registered in Node's
// module cache under the installed files, so a batch function's require('onnxruntime-node') gets
// this same module. Anywhere else (other versions or patched files installed, or onnxruntime
// already loaded) the installed package loads as usual.
const fs = require('fs');
const Module = require('module');
const path = require('path');
const bundled = require('batchproof:onnxruntime-versions');
const native = require('./ort-native-path');

/** Node's own require, at run time (a literal name here would be bundled). */
const installed = (id) => require(id);

/**
 * The package.json in `dir` when it is `name` at `version` and its JavaScript files are the sizes
 * of the bundled copy's (a patched install runs its own code), else null.
 */
function packageAt(dir, name, version, files) {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    if (pkg.name !== name || pkg.version !== version) return null;
    for (const [file, size] of Object.entries(files)) if (fs.statSync(path.join(dir, file), { throwIfNoEntry: false })?.size !== size) return null;
    return pkg;
  } catch {
    return null;
  }
}

/**
 * The file require('onnxruntime-common') from onnxruntime-node's folder loads, found as Node finds
 * it (the first node_modules folder on the way up that holds the package; its "exports" entry for
 * require) without Node's exports resolver, which loads the ES module resolver: about 1.5 ms. Null
 * when that package is not the version bundled, or its exports are not shaped as they were then.
 */
function commonIndexFrom(nodeDir) {
  const dir = installedDir(nodeDir, 'onnxruntime-common');
  const pkg = dir && packageAt(dir, 'onnxruntime-common', bundled.common, bundled.files.common);
  return pkg?.exports?.require === bundled.commonEntry ? path.join(dir, bundled.commonEntry) : null;
}

/**
 * The folder of package `name` that a require from `from` loads, found as Node looks (the first
 * node_modules folder on the way up that holds it), real path; null when none does (the plain
 * require then looks further: NODE_PATH, the global folders). require.resolve asked the same
 * thing in about 1.3 ms more on a slow VM. With --preserve-symlinks, Node keeps the linked path.
 */
function installedDir(from, name) {
  for (const folder of Module._nodeModulePaths(from)) {
    const dir = path.join(folder, name);
    if (!fs.existsSync(path.join(dir, 'package.json'))) continue;
    return preserveSymlinks() ? dir : fs.realpathSync.native(dir);
  }
  return null;
}

function preserveSymlinks() {
  return process.env.NODE_PRESERVE_SYMLINKS === '1' || process.execArgv.includes('--preserve-symlinks');
}

/** An entry in Node's module cache for `file`, loaded, so that require() of that file gives `exports`. */
function register(file, exports) {
  const entry = new Module(file, null);
  entry.filename = file;
  entry.paths = Module._nodeModulePaths(path.dirname(file));
  entry.exports = exports;
  entry.loaded = true;
  require.cache[file] = entry;
}

/** The bundled copy where the installed packages allow it, else the installed package. */
function load() {
  const nodeDir = installedDir(__dirname, 'onnxruntime-node');
  const nodeIndex = nodeDir && path.join(nodeDir, 'dist', 'index.js');
  const commonIndex = nodeIndex && !require.cache[nodeIndex] && packageAt(nodeDir, 'onnxruntime-node', bundled.node, bundled.files.node) ? commonIndexFrom(nodeDir) : null;
  // Anything else (not installed, another version, loaded already): as a plain require does.
  if (!commonIndex || require.cache[commonIndex]) return installed('onnxruntime-node');
  native.path = path.join(nodeDir, 'bin', 'napi-v6', process.platform, process.arch, 'onnxruntime_binding.node');
  const common = require('batchproof:onnxruntime-common');
  const ort = require('batchproof:onnxruntime-node');
  register(commonIndex, common);
  register(nodeIndex, ort);
  return ort;
}

module.exports = load();
