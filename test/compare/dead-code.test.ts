import * as fs from 'fs';
import * as path from 'path';

const root = path.join(__dirname, '..', '..');

function files(dir: string): string[] {
  const full = path.join(root, dir);
  if (!fs.existsSync(full)) return [];
  return fs.readdirSync(full, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? (e.name === 'node_modules' ? [] : files(path.join(dir, e.name))) : /\.(ts|js)$/.test(e.name) ? [path.join(dir, e.name)] : [],
  );
}

/**
 * An exported function that nothing calls (not the library, the matchers, the tests or the
 * benchmarks, nor its own module) is dead code: it is not public API (src/index.ts would use
 * it) and it drifts untested.
 */
describe('no dead exported functions', () => {
  const everywhere = ['src', 'matchers', 'test', 'bench'].flatMap(files).map((f) => ({ file: f, text: fs.readFileSync(path.join(root, f), 'utf8') }));
  const modules = ['src/runtime', 'src/snapshot', 'src/compare', 'src/compare-providers'].flatMap(files);

  test.each(modules)('%s', (module) => {
    const own = fs.readFileSync(path.join(root, module), 'utf8');
    const exported = [...own.matchAll(/^export (?:async )?function (\w+)/gm)].map((m) => m[1]);
    const unused = exported.filter((name) => {
      const word = new RegExp(`\\b${name}\\b`, 'g');
      const uses = everywhere.reduce((n, { file, text }) => n + (text.match(word)?.length ?? 0) - (file === module ? 1 : 0), 0);
      return uses === 0;
    });
    expect(unused).toEqual([]);
  });
});
