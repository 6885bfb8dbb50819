// Bundles the CLI (tsc's output) into one file, dist/cli.js, which bin.js runs through a V8 code
// cache (src/cli/compile-cache.ts): one file and one cache start about 20 ms faster than ~100 modules do.
const crypto = require('crypto');
const esbuild = require('esbuild');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const result = esbuild.buildSync({
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
  metafile: true,
  logLevel: 'warning',
});
const jest = Object.keys(result.metafile.inputs).filter((f) => /(^|\/)(jest|@jest|expect)[-/]/.test(f));
if (jest.length > 0) throw new Error(`the CLI bundle must not contain Jest: ${jest.join(', ')}`);
const vega = Object.keys(result.metafile.inputs).filter((f) => /(^|\/)node_modules\/vega(-[a-z-]+)?\//.test(f));
if (vega.length > 0) throw new Error(`the CLI bundle must not contain the charting library: ${vega.slice(0, 3).join(', ')}`);

// The cache is keyed by this hash: V8 checks only a cached source's length, so a same-length
// bundle of another version (npm gives every installed file the same mtime) would run stale code.
const code = result.outputFiles[0].text;
const sha1 = crypto.createHash('sha1').update(code).digest('hex');
fs.writeFileSync(result.outputFiles[0].path, `// batchproof cli sha1:${sha1}\n${code}`);
