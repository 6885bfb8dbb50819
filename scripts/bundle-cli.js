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

async function bundle() {
  const result = await esbuild.build({
    entryPoints: [path.join(root, 'dist', 'src', 'cli', 'run.js')],
    outfile: path.join(root, 'dist', 'cli.js'),
    write: false,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    // The native addon loads its binary by a relative path; Jest's packages must never be in the CLI
    // (left external, a test that spawns the bin would see them load).
    // vega and vega-lite (the HTML page's charts, ES modules) load through import-esm only when a
    // page is built: kept out, so `check` neither parses nor caches them.
    external: ['onnxruntime-node', 'jest', '@jest/*', 'expect', 'jest-matcher-utils', 'vega', 'vega-lite', 'vega-*'],
    // The package's name and version (src/version.ts), so the CLI does not look for its package.json at start.
    define: { BATCHPROOF_PACKAGE: JSON.stringify({ name: pkg.name, version: pkg.version }) },
    metafile: true,
    plugins: [lazyChildProcess()],
    logLevel: 'warning',
    // A third smaller without whitespace and comments (1.29 MB to 0.89 MB): about 9 ms off every
    // run, in reading the source and handing it to V8 (bench/RESULTS.md). Names stay as they are;
    // BATCHPROOF_DEBUG runs the unbundled modules (bin.ts), whose stack traces read as the code.
    minifyWhitespace: true,
  });
  const jest = Object.keys(result.metafile.inputs).filter((f) => /(^|\/)(jest|@jest|expect)[-/]/.test(f));
  if (jest.length > 0) throw new Error(`the CLI bundle must not contain Jest: ${jest.join(', ')}`);
  const vega = Object.keys(result.metafile.inputs).filter((f) => /(^|\/)node_modules\/vega(-[a-z-]+)?\//.test(f));
  if (vega.length > 0) throw new Error(`the CLI bundle must not contain the charting library: ${vega.slice(0, 3).join(', ')}`);

  // ASCII only (the few non-ASCII characters esbuild leaves are in comments): bin.js reads the
  // bundle as latin1, half the time of decoding UTF-8, which is the same string only for ASCII.
  const code = result.outputFiles[0].text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
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
