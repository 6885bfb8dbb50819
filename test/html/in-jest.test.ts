// renderPage called from a Jest test, as a user's suite might: vega and vega-lite are ES modules,
// which Jest's module registry cannot import() (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING_FLAG);
// batchproof's importer falls back to Node's own loader in the main context.
import { checkBatchInvariance } from '../../src';
import { renderPage } from '../../src/html';
import { invariantModel, leakyModel } from '../helpers/models';

test('a page built inside a Jest test draws its charts', async () => {
  const leaky = await checkBatchInvariance(leakyModel(), { batchSizes: [1, 2, 4] });
  const fine = await checkBatchInvariance(invariantModel(), { batchSizes: [1, 2, 4] });
  const html = await renderPage([{ report: leaky, source: 'leaky' }, { report: fine, source: 'fine' }]);
  const drifts = [...html.matchAll(/<figure class="bp-chart" data-chart="drift"[\s\S]*?<\/figure>/g)].map((m) => m[0]);
  expect(drifts).toHaveLength(2);
  for (const figure of drifts) expect(figure).toMatch(/<svg[\s\S]*<path/);
  // The leaky model's failing sizes are named; the invariant one's are not.
  expect(drifts[0]).toMatch(/Fails at batch sizes 2, 4/);
  expect(drifts[1]).not.toMatch(/Fails at/);
});
