// Run by test/consumer/consumer.test.ts: every entry imported from an ES module, as Node serves
// a CommonJS package there. Each named export must be one Node's cjs-module-lexer finds (else
// `import { x }` is a SyntaxError), and the same value require() gives. Prints one JSON line.
import { createRequire } from 'module';
import { checkBatchInvariance, fixture, BadInputError } from 'batchproof';
import { matchers } from 'batchproof/matchers';
import defaultMatchers from 'batchproof/matchers';
import { BatchproofReporter } from 'batchproof/reporter';
import Reporter from 'batchproof/reporter';

const require = createRequire(import.meta.url);
const pkg = require('batchproof/package.json');
const entries = {};
for (const key of Object.keys(pkg.exports)) {
  // The setup entries register matchers on a runner's expect: they run inside Jest or Vitest only.
  if (['./package.json', './jest', './vitest'].includes(key)) continue;
  const name = `batchproof${key.slice(1)}`;
  const esm = await import(name);
  const cjs = require(name);
  const names = Object.keys(cjs).filter((k) => k !== '__esModule' && k !== 'default');
  entries[name] = { names: names.length, notNamed: names.filter((k) => esm[k] !== cjs[k]) };
}
console.log(JSON.stringify({
  entries,
  values: [typeof checkBatchInvariance, typeof fixture, typeof BadInputError, typeof matchers.toBeBatchInvariant, typeof BatchproofReporter],
  reporterIsDefault: BatchproofReporter === require('batchproof/reporter').default,
  // batchproof/reporter has an ES module entry of its own: its default import is the class, as under require().
  defaultReporter: Reporter === BatchproofReporter,
  // batchproof/matchers has an ES module entry of its own: its default import is the matcher object, as under require().
  defaultMatchers: defaultMatchers === require('batchproof/matchers').matchers && defaultMatchers === matchers,
}));
