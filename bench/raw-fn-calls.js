// The baseline for runners.bench.js: the batch function (bench/embed-fn.js) called directly with
// the batches a `batchproof check` of it makes (batch size and count from its report's `runs`),
// each batch taken from the same samples, and nothing else.
const path = require('path');

(async () => {
  const [modulePath, runsJson, samplesFile] = process.argv.slice(2);
  const embed = require(path.resolve(modulePath));
  const samples = JSON.parse(require('fs').readFileSync(samplesFile, 'utf8'));
  let next = 0;
  for (const { batchSize, calls } of JSON.parse(runsJson)) {
    for (let c = 0; c < calls; c++) {
      const batch = Array.from({ length: batchSize }, () => samples[next++ % samples.length]);
      await embed(batch);
    }
  }
})();
