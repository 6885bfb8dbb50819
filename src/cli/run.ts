import { precompileKernels } from '../kernels';
import ort = require('onnxruntime-node');
import { leaveSessionsToExit, useGraphFactsStore } from '../runtime/handle';
import { diskFactsStore } from './facts-cache';
import { outputFlushed } from '../io/terminal';
import { main } from './main';

// What `batchproof` runs, once bin.ts has loaded it (from the bundle, through the code cache).

// Compiled while onnxruntime loads and the model runs, instead of at the first comparison.
void precompileKernels();

// The CLI reports every failure itself, in one line: onnxruntime's own native error log would
// add coloured lines of C++ context to stderr. Set before the first session creates the env.
ort.env.logLevel = 'fatal';

// A repeated check of a model file reads its graph facts from the cache instead of decoding them.
useGraphFactsStore(diskFactsStore());

// Commands of one session, in a process that ends when they do: the exit frees it (runtime/handle.ts).
if (process.argv[2] === 'check' || process.argv[2] === 'determinism') leaveSessionsToExit();

main(process.argv.slice(2)).then(async (code) => {
  process.exitCode = code;
  // Out as soon as the output is: waiting for Node to tear the environment down (onnxruntime's
  // sessions and thread pools, the heap) cost every check about 10 ms (bench/RESULTS.md). The
  // CLI writes its output synchronously (io/terminal.ts), and what a full pipe made wait is
  // awaited, so nothing written is lost; 'exit' handlers (the code cache's) still run. Only on
  // Linux, where a terminal's writes (the progress bar's) are synchronous too.
  if (process.platform !== 'linux') return;
  await outputFlushed();
  process.exit(code);
});
