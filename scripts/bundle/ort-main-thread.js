// What the copy of onnxruntime-node's binding.js in the CLI bundle (scripts/bundle-cli.js) gets
// for require('worker_threads'), which it reads once, for isMainThread (onnxruntime sets up and
// tears down its environment on the main thread only). Loading worker_threads loads Node's stream
// modules with it: about 2 ms of every CLI run, for one boolean. The CLI runs on the main thread,
// where Node has loaded no worker module besides two it always loads; a worker thread's bootstrap
// loads several (internal/worker/io, internal/process/worker_thread_only, ...). Wherever any
// other is loaded, or Node keeps no list, the real module answers.
const ALWAYS_LOADED = new Set(['NativeModule internal/worker/js_transferable', 'Internal Binding worker']);

function workerModulesLoaded() {
  const list = process.moduleLoadList;
  return !Array.isArray(list) || list.some((m) => /worker/.test(m) && !ALWAYS_LOADED.has(m));
}

module.exports = {
  get isMainThread() {
    return workerModulesLoaded() ? require('worker_threads').isMainThread : true;
  },
};
