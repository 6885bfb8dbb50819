#!/usr/bin/env node
import path = require('path');
import { cacheNameFor, runFromCodeCache } from './compile-cache';

// `npm run build` bundles the CLI into dist/cli.js (scripts/bundle-cli.js), so that it starts as
// one file compiled from one V8 code cache. A tsc-only build has no bundle: modules load as usual,
// as they do under BATCHPROOF_DEBUG, whose stack traces then name the modules and their lines
// (the bundle has no whitespace to spare).
const bundle = path.join(__dirname, '..', '..', 'cli.js');
// onnxruntime 1.29+ on Linux and macOS records each session it makes (the model's file name, its
// graph's hashes) in a database under ~/.cache/Microsoft, to upload to Microsoft's collector,
// unless ORT_DISABLE_TELEMETRY or CI is set; that costs a run 9 to 17 ms (bench/RESULTS.md). A check
// of someone's models should not report them: off in the CLI's process (and so for a batch
// function run in it) unless the user set the variable, as ORT_DISABLE_TELEMETRY=0 does. Read
// when onnxruntime makes its environment, after this. The bundle sets it too, as its first
// statement, for `node dist/cli.js` (scripts/bundle-cli.js).
process.env.ORT_DISABLE_TELEMETRY ??= '1';
try {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  if (process.env.BATCHPROOF_DEBUG || !runFromCodeCache(bundle, cacheNameFor(process.argv.slice(2)))) require('./run');
} catch (e) {
  // Before any command runs (commands report their own failures): an install that lacks
  // onnxruntime-node or its native addon. One line, as for any bad input; the trace with DEBUG.
  if (process.env.BATCHPROOF_DEBUG) throw e;
  const reason = String((e as Error)?.message ?? e).split('\n')[0];
  process.stderr.write(`batchproof: cannot start: ${reason}; reinstall (npm install batchproof onnxruntime-node), or set BATCHPROOF_DEBUG=1 for the trace\n`);
  process.exitCode = 2;
}
