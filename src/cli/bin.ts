#!/usr/bin/env node
import path = require('path');
import { runFromCodeCache } from './compile-cache';

// `npm run build` bundles the CLI into dist/cli.js (scripts/bundle-cli.js), so that it starts as
// one file compiled from one V8 code cache. A tsc-only build has no bundle: modules load as usual,
// as they do under BATCHPROOF_DEBUG, whose stack traces then name the modules and their lines
// (the bundle has no whitespace to spare).
const bundle = path.join(__dirname, '..', '..', 'cli.js');
// eslint-disable-next-line @typescript-eslint/no-require-imports
if (process.env.BATCHPROOF_DEBUG || !runFromCodeCache(bundle, process.argv[2])) require('./run');
