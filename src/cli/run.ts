import * as ort from 'onnxruntime-node';
import { useGraphFactsStore } from '../runtime/handle';
import { diskFactsStore } from './facts-cache';
import { main } from './main';

// What `batchproof` runs, once bin.ts has loaded it (from the bundle, through the code cache).

// The CLI reports every failure itself, in one line: onnxruntime's own native error log would
// add coloured lines of C++ context to stderr. Set before the first session creates the env.
ort.env.logLevel = 'fatal';

// A repeated check of a model file reads its graph facts from the cache instead of decoding them.
useGraphFactsStore(diskFactsStore());

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
