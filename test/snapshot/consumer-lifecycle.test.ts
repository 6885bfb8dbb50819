import * as fs from 'fs';
import * as path from 'path';
import { makeConsumer } from '../helpers/consumer';

/**
 * The whole baseline lifecycle in a separate project that installs the packed package and wires
 * it with `setupFilesAfterEnv: ['batchproof/jest']` only: Jest runs there again and again, with
 * --ci, without it, and with -u, while scenario.json changes which tests exist and what drifts.
 * The steps build on each other, in order.
 */
describe('embedding baselines through Jest runs in a consumer project', () => {
  const consumer = makeConsumer(path.join(__dirname, '..', '..', 'examples', 'consumer-snapshots'));
  afterAll(() => fs.rmSync(consumer.dir, { recursive: true, force: true }));

  const folder = path.join(consumer.dir, 'test', '__embeddings__', 'embeddings.lifecycle.js');
  const files = () => (fs.existsSync(folder) ? fs.readdirSync(folder).sort() : []);
  const read = (name: string) => fs.readFileSync(path.join(folder, files().find((f) => f.startsWith(name)) as string));
  type Scenario = { name: string; seed: number; tensor?: boolean; drift?: [number, number][] };
  const catalogue: Scenario = { name: 'embeds the catalogue', seed: 1 };
  const queries: Scenario = { name: 'embeds the queries', seed: 2, tensor: true };
  const scenario = (...tests: Scenario[]) => fs.writeFileSync(path.join(consumer.dir, 'scenario.json'), JSON.stringify({ tests }));
  // The harness sets CI=true, so a run "without --ci" says --ci=false, as a developer's shell would.
  const jest = (...args: string[]) => consumer.run('jest', args);

  test('new, under --ci: fails as Jest does and writes nothing', () => {
    scenario(catalogue, queries);
    const r = jest('--ci');
    expect(r.output).toMatch(/no baseline test\/__embeddings__\/embeddings\.lifecycle\.js\/embeds-the-catalogue-1\.[0-9a-f]{8}\.emb: with --ci new baselines are not written/);
    expect(r.output).toMatch(/Snapshots:\s+2 failed, 2 total/);
    expect(r.code).toBe(1);
    expect(files()).toEqual([]);
  });

  test('new, without --ci: written, and counted as written', () => {
    const r = jest('--ci=false');
    expect(r.output).toMatch(/Snapshots:\s+2 written, 2 total/);
    expect(r.code).toBe(0);
    expect(files()).toEqual([expect.stringMatching(/^embeds-the-catalogue-1\.[0-9a-f]{8}\.emb$/), expect.stringMatching(/^embeds-the-queries-1\.[0-9a-f]{8}\.emb$/)]);
  });

  test('match, and drift within the tolerance: both pass under --ci; nothing is rewritten', () => {
    const before = read('embeds-the-catalogue');
    scenario({ ...catalogue, drift: [[3, 1e-7]] }, queries);
    const r = jest('--ci');
    expect(r.output).toMatch(/Snapshots:\s+2 passed, 2 total/);
    expect(r.code).toBe(0);
    expect(read('embeds-the-catalogue')).toEqual(before);
  });

  test('drift beyond: fails with the rows that moved and the cure; the baseline stays', () => {
    const before = read('embeds-the-catalogue');
    scenario({ ...catalogue, drift: [[3, 0.2], [10, 0.5]] }, queries);
    const r = jest('--ci');
    expect(r.output).toMatch(/changed: 2 of 64 rows moved beyond cosine distance<=1e-6/);
    expect(r.output).toMatch(/worst rows:\s+row\s+cosine distance\s+max abs\s+max ULP\s+within\s+10 /);
    expect(r.output).toMatch(/run your test runner with -u \(jest -u, vitest -u\) to accept/);
    expect(r.output).toMatch(/Snapshots:\s+1 failed, 1 passed, 2 total/);
    expect(r.code).toBe(1);
    expect(read('embeds-the-catalogue')).toEqual(before);
  });

  test('-u: rewrites the failing baseline (updated), leaves the passing one alone', () => {
    const catalogueBefore = read('embeds-the-catalogue');
    const queriesBefore = read('embeds-the-queries');
    const r = jest('--ci', '-u');
    expect(r.output).toMatch(/Snapshots:\s+1 updated, 1 passed, 2 total/);
    expect(r.code).toBe(0);
    expect(read('embeds-the-catalogue')).not.toEqual(catalogueBefore);
    expect(read('embeds-the-queries')).toEqual(queriesBefore);
  });

  test('a skipped test (-t) keeps its baseline: not obsolete', () => {
    const r = jest('--ci', '-t', 'catalogue');
    expect(r.output).not.toMatch(/obsolete/);
    expect(r.output).toMatch(/Snapshots:\s+1 passed, 1 total/);
    expect(r.code).toBe(0);
  });

  test("a deleted test: its baseline is reported obsolete in Jest's summary and fails the run", () => {
    scenario({ ...catalogue, drift: [[3, 0.2], [10, 0.5]] });
    const r = jest('--ci');
    expect(r.output).toMatch(/1 snapshot obsolete/);
    expect(r.output).toMatch(/embeds the queries 1 \[embedding baseline test\/__embeddings__\/embeddings\.lifecycle\.js\/embeds-the-queries-1\.[0-9a-f]{8}\.emb\]/);
    expect(r.code).toBe(1);
    expect(files()).toHaveLength(2);
  });

  test('-u removes the obsolete baseline', () => {
    const r = jest('--ci', '-u');
    expect(r.output).toMatch(/1 snapshot removed/);
    expect(r.code).toBe(0);
    expect(files()).toEqual([expect.stringMatching(/^embeds-the-catalogue-1\./)]);
    expect(jest('--ci').code).toBe(0);
  });

  test('a corrupt baseline: fails naming the file and -u, is not rewritten without -u, and -u cures it', () => {
    const file = path.join(folder, files()[0]);
    fs.truncateSync(file, fs.statSync(file).size - 10);
    const truncated = fs.readFileSync(file);
    for (const ci of ['--ci', '--ci=false']) {
      const r = jest(ci);
      expect(r.output).toMatch(/test\/__embeddings__\/embeddings\.lifecycle\.js\/embeds-the-catalogue-1\.[0-9a-f]{8}\.emb is not a usable embedding baseline: truncated: 64 x 32 float32 needs \d+ bytes but the file has \d+; rewrite it with -u/);
      expect(r.code).toBe(1);
      expect(fs.readFileSync(file)).toEqual(truncated);
    }
    const u = jest('--ci', '-u');
    expect(u.output).toMatch(/Snapshots:\s+1 updated, 1 total/);
    expect(u.code).toBe(0);
    expect(jest('--ci').code).toBe(0);
  });
});
