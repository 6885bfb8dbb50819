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
  for (const folder of Module._nodeModulePaths(nodeDir)) {
    const dir = path.join(folder, 'onnxruntime-common');
    if (!fs.existsSync(path.join(dir, 'package.json'))) continue;
    const pkg = packageAt(dir, 'onnxruntime-common', bundled.common, bundled.files.common);
    return pkg?.exports?.require === bundled.commonEntry ? fs.realpathSync(path.join(dir, bundled.commonEntry)) : null;
  }
  return null;
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
  let nodeIndex;
  try {
    nodeIndex = require.resolve('onnxruntime-node');
  } catch {
    // Not installed: the same error a plain require gives.
    return installed('onnxruntime-node');
  }
  const nodeDir = path.join(path.dirname(nodeIndex), '..');
  const commonIndex = !require.cache[nodeIndex] && packageAt(nodeDir, 'onnxruntime-node', bundled.node, bundled.files.node) ? commonIndexFrom(nodeDir) : null;
  if (!commonIndex || require.cache[commonIndex]) return installed(nodeIndex);
  native.path = path.join(nodeDir, 'bin', 'napi-v6', process.platform, process.arch, 'onnxruntime_binding.node');
  const common = require('batchproof:onnxruntime-common');
  const ort = require('batchproof:onnxruntime-node');
  register(commonIndex, common);
  register(nodeIndex, ort);
  return ort;
}

module.exports = load();
