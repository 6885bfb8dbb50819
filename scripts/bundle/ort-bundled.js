// What 'onnxruntime-node' is inside the CLI bundle (scripts/bundle-cli.js, bundledOnnxruntime):
// the copy of onnxruntime-node's and onnxruntime-common's JavaScript that the bundle holds, with
// the installed package's native addon, where the installed packages are the versions that copy
// was made from. The copy is registered in Node's module cache under the installed files, so a
// batch function's require('onnxruntime-node') gets this same module. Anywhere else (other
// versions installed, or onnxruntime already loaded) the installed package loads as usual.
const fs = require('fs');
const Module = require('module');
const path = require('path');
const bundled = require('batchproof:onnxruntime-versions');
const native = require('./ort-native-path');

/** Node's own require, at run time (a literal name here would be bundled). */
const installed = (id) => require(id);

function sameVersion(dir, name, version) {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    return pkg.name === name && pkg.version === version;
  } catch {
    return false;
  }
}

function register(file, exports) {
  const entry = new Module(file, null);
  entry.filename = file;
  entry.paths = Module._nodeModulePaths(path.dirname(file));
  entry.exports = exports;
  entry.loaded = true;
  require.cache[file] = entry;
}

function load() {
  let nodeIndex;
  let commonIndex;
  try {
    nodeIndex = require.resolve('onnxruntime-node');
    commonIndex = Module.createRequire(nodeIndex).resolve('onnxruntime-common');
  } catch {
    // Not installed: the same error a plain require gives.
    return installed('onnxruntime-node');
  }
  const nodeDir = path.join(path.dirname(nodeIndex), '..');
  const usable =
    !require.cache[nodeIndex] &&
    !require.cache[commonIndex] &&
    sameVersion(nodeDir, 'onnxruntime-node', bundled.node) &&
    sameVersion(path.join(path.dirname(commonIndex), '..', '..'), 'onnxruntime-common', bundled.common);
  if (!usable) return installed(nodeIndex);
  native.path = path.join(nodeDir, 'bin', 'napi-v6', process.platform, process.arch, 'onnxruntime_binding.node');
  const common = require('batchproof:onnxruntime-common');
  const ort = require('batchproof:onnxruntime-node');
  register(commonIndex, common);
  register(nodeIndex, ort);
  return ort;
}

module.exports = load();
