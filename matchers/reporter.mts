/**
 * `batchproof/reporter` as an ES module imports it: the same module (reporter.ts, CommonJS),
 * whose default export is the reporter class, as it is under require(). Node makes the default
 * import of a CommonJS module its whole exports, so `import BatchproofReporter from
 * 'batchproof/reporter'` gave an object of every export instead of the class.
 */
export * from './reporter.js';
import { BatchproofReporter } from './reporter.js';

export default BatchproofReporter;
