// Bundles the CLI (tsc's output) into one file, dist/cli.js, which bin.js runs through a V8 code
// cache (src/cli/compile-cache.ts): one file and one cache start about 20 ms faster than ~100 modules do.
const crypto = require('crypto');
const esbuild = require('esbuild');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

/**
 * commander requires child_process at load, for executable subcommands, which batchproof has
 * none of; loading it (with net and dgram) costs every run about 4 ms. Its require is handed a
 * stand-in that loads the real module on first use.
 */
function lazyChildProcess() {
  return {
    name: 'lazy-child-process',
    setup(build) {
      build.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
        /[\\/]commander[\\/]/.test(args.importer) ? { path: 'lazy-child-process', namespace: 'lazy' } : undefined,
      );
      build.onLoad({ filter: /.*/, namespace: 'lazy' }, () => ({
        contents: "module.exports = new Proxy({}, { get: (_, key) => require('child_process')[key] });",
        loader: 'js',
      }));
    },
  };
}

/**
 * onnxruntime-node's JavaScript (and onnxruntime-common's) bundled too: Node's module loader took
 * about 8 ms a run to resolve, read and compile its 27 files, which the bundle's code cache makes
 * nearly free. Its native addon stays the installed package's. At run time (scripts/bundle/ort-bundled.js
 * is the stand-in 'onnxruntime-node' resolves to) the bundled copy is used only where the installed
 * packages are the versions it was built from, and it is registered in Node's module cache under
 * their files, so a batch function's own require('onnxruntime-node') gets the same module
 * instead of loading it again; anywhere else the installed package is required as before.
 */
function bundledOnnxruntime() {
  const nodeIndex = require.resolve('onnxruntime-node', { paths: [root] });
  const nodeDir = path.join(path.dirname(nodeIndex), '..');
  const commonIndex = require.resolve('onnxruntime-common', { paths: [nodeDir] });
  const pkgOf = (dir) => JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const commonDir = path.join(path.dirname(commonIndex), '..', '..');
  const common = pkgOf(commonDir);
  // The size of each of their JavaScript files: an install whose files differ (patch-package, a
  // local build) runs its own code, not this copy.
  const sizes = (dir, sub) => Object.fromEntries(fs.readdirSync(path.join(dir, sub)).filter((f) => f.endsWith('.js')).map((f) => [`${sub}/${f}`, fs.statSync(path.join(dir, sub, f)).size]));
  // What the stand-in checks the installed packages against (and where common's require entry is).
  const versions = {
    node: pkgOf(nodeDir).version,
    common: common.version,
    commonEntry: common.exports.require,
    files: { node: sizes(nodeDir, 'dist'), common: sizes(commonDir, 'dist/cjs') },
  };
  if (path.join(commonDir, common.exports.require) !== commonIndex) throw new Error(`onnxruntime-common's exports are no longer shaped as this bundle expects: ${commonIndex}`);
  const binding = path.join(nodeDir, 'dist', 'binding.js');
  const native = /require\(`\.\.\/bin\/napi-v6\/\$\{process\.platform\}\/\$\{process\.arch\}\/onnxruntime_binding\.node`\)/;
  return {
    name: 'bundled-onnxruntime',
    setup(build) {
      // batchproof's own imports get the stand-in; the stand-in's and onnxruntime's own get the real files.
      build.onResolve({ filter: /^onnxruntime-node$/ }, (args) =>
        /[\\/]dist[\\/]src[\\/]/.test(args.importer) ? { path: path.join(__dirname, 'bundle', 'ort-bundled.js') } : undefined,
      );
      build.onResolve({ filter: /^batchproof:onnxruntime-(node|common)$/ }, (args) => ({ path: args.path.endsWith('node') ? nodeIndex : commonIndex }));
      build.onResolve({ filter: /^batchproof:onnxruntime-versions$/ }, () => ({ path: 'versions', namespace: 'ort-versions' }));
      build.onLoad({ filter: /.*/, namespace: 'ort-versions' }, () => ({ contents: `module.exports = ${JSON.stringify(versions)};`, loader: 'js' }));
      build.onLoad({ filter: /[\\/]onnxruntime-node[\\/]dist[\\/]binding\.js$/ }, (args) => {
        const code = fs.readFileSync(args.path, 'utf8');
        if (args.path !== binding || !native.test(code)) throw new Error(`onnxruntime-node's binding.js no longer loads its addon as this bundle expects: ${args.path}`);
        const workerThreads = /require\("worker_threads"\)/;
        if (!workerThreads.test(code)) throw new Error(`onnxruntime-node's binding.js no longer requires worker_threads as this bundle expects: ${args.path}`);
        // isMainThread without loading worker_threads (and the stream modules it loads): bundle/ort-main-thread.js.
        return { contents: code.replace(native, 'require(require("./ort-native-path").path)').replace(workerThreads, 'require("./ort-main-thread")'), loader: 'js', resolveDir: path.join(__dirname, 'bundle') };
      });
    },
  };
}

async function bundle() {
  const result = await esbuild.build({
    entryPoints: [path.join(root, 'dist', 'src', 'cli', 'run.js')],
    outfile: path.join(root, 'dist', 'cli.js'),
    write: false,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    // Jest's packages must never be in the CLI (left external, a test that spawns the bin would
    // see them load). onnxruntime-node is bundled, its addon not (bundledOnnxruntime).
    // vega and vega-lite (the HTML page's charts, ES modules) load through import-esm only when a
    // page is built: kept out, so `check` neither parses nor caches them.
    external: ['jest', '@jest/*', 'expect', 'jest-matcher-utils', 'vega', 'vega-lite', 'vega-*'],
    // The package's name and version (src/version.ts), so the CLI does not look for its package.json at start.
    define: { BATCHPROOF_PACKAGE: JSON.stringify({ name: pkg.name, version: pkg.version }) },
    metafile: true,
    plugins: [lazyChildProcess(), bundledOnnxruntime()],
    // Those probes resolve the installed onnxruntime-node's path at run time, as they should.
    logOverride: { 'require-resolve-not-external': 'silent' },
    logLevel: 'warning',
    // Minified (1.29 MB to 0.66 MB): every run reads the source, makes a string of it for V8 and
    // deserialises its code cache, each in proportion to its size; without whitespace and comments
    // that was about 9 ms off a run, and shorter names about 2 to 3 ms more on a slow VM, where
    // each page of memory touched costs 3 us (bench/RESULTS.md). Nothing in the CLI reads a name
    // of its own code (commander's error classes lose theirs; it is not printed); BATCHPROOF_DEBUG
    // runs the unbundled modules (bin.ts), whose stack traces read as the code.
    minify: true,
  });
  const jest = Object.keys(result.metafile.inputs).filter((f) => /(^|\/)(jest|@jest|expect)[-/]/.test(f));
  if (jest.length > 0) throw new Error(`the CLI bundle must not contain Jest: ${jest.join(', ')}`);
  const vega = Object.keys(result.metafile.inputs).filter((f) => /(^|\/)node_modules\/vega(-[a-z-]+)?\//.test(f));
  if (vega.length > 0) throw new Error(`the CLI bundle must not contain the charting library: ${vega.slice(0, 3).join(', ')}`);

  // ASCII only (the few non-ASCII characters esbuild leaves are in comments): bin.js reads the
  // bundle as latin1, half the time of decoding UTF-8, which is the same string only for ASCII.
  const ascii = result.outputFiles[0].text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  // onnxruntime's telemetry off (unless the user set the variable) as the bundle's first
  // statement, after its "use strict": `node dist/cli.js` runs no bin.js (src/cli/bin.ts sets it
  // for the bin) and must not record the user's models either. A statement, not a module.
  const code = ascii.replace(/^(?:"use strict";)?/, (directive) => `${directive}process.env.ORT_DISABLE_TELEMETRY??="1";`);
  // The cache is keyed by this hash: V8 checks only a cached source's length, so a same-length
  // bundle of another version (npm gives every installed file the same mtime) would run stale code.
  const sha1 = crypto.createHash('sha1').update(code).digest('hex');
  // Written as the module function itself (BUNDLE_HEAD ... BUNDLE_TAIL), so bin.js compiles the
  // source as read instead of wrapping a copy of it (src/cli/compile-cache.ts).
  const { BUNDLE_HEAD, BUNDLE_TAIL } = require(path.join(root, 'dist', 'src', 'cli', 'compile-cache.js'));
  fs.writeFileSync(result.outputFiles[0].path, `// batchproof cli sha1:${sha1}\n${BUNDLE_HEAD}${code}${BUNDLE_TAIL}`);
}

/**
 * bin.js with what it loads before the bundle (compile-cache.ts and the checksum kernel) in one
 * file: three fewer modules for Node to find, read and compile on every run. Its fallback,
 * ./run (the modules unbundled), stays a require of its own.
 */
async function bundleBin() {
  const file = path.join(root, 'dist', 'src', 'cli', 'bin.js');
  const result = await esbuild.build({
    entryPoints: [file],
    outfile: file,
    allowOverwrite: true,
    write: false,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    plugins: [{ name: 'run-stays-apart', setup: (build) => build.onResolve({ filter: /^\.\/run$/ }, () => ({ path: './run', external: true })) }],
    logLevel: 'warning',
  });
  fs.writeFileSync(file, result.outputFiles[0].text);
}

bundle().then(bundleBin).catch((e) => {
  console.error(`bundle-cli: ${e.message}`);
  process.exit(1);
});
