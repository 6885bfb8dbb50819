import * as path from 'path';
import * as ts from 'typescript';

const root = path.join(__dirname, '..', '..');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const pkg = require(path.join(root, 'package.json')) as { exports: Record<string, string | { types?: string }> };

/** The source file of each entry point package.json exports (its types, back from dist/ to the .ts). */
const entries = Object.values(pkg.exports)
  .map((e) => (typeof e === 'string' ? null : e.types))
  .filter((t): t is string => typeof t === 'string')
  .map((t) => path.join(root, t.replace(/^\.\/dist\//, '').replace(/\.d\.(m?)ts$/, '.$1ts')));

/**
 * Every name a user can import from batchproof, from any entry point, says what it is: an
 * editor shows that comment where the name is used, and an undocumented one is an internal
 * that leaked or an API nobody explained.
 */
test('every export of every entry point has JSDoc', () => {
  expect(entries.map((e) => path.relative(root, e)).sort()).toEqual(
    ['matchers/index.ts', 'matchers/jest.ts', 'matchers/reporter.ts', 'matchers/vitest.mts', 'src/index.ts', 'src/io/index.ts', 'src/onnx/index.ts', 'src/snapshot/index.ts'].sort(),
  );
  const program = ts.createProgram(entries, { strict: true, esModuleInterop: true, skipLibCheck: true, noEmit: true });
  const checker = program.getTypeChecker();
  const undocumented: string[] = [];
  let exported = 0;
  for (const entry of entries) {
    const file = program.getSourceFile(entry);
    const module = file && checker.getSymbolAtLocation(file);
    expect(module).toBeDefined();
    for (const symbol of checker.getExportsOfModule(module as ts.Symbol)) {
      exported++;
      const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
      if (!ts.displayPartsToString(target.getDocumentationComment(checker)).trim()) undocumented.push(`${path.relative(root, entry)}: ${symbol.getName()}`);
    }
  }
  // The negative control: the entries were read (a wrong path would find nothing to check).
  expect(exported).toBeGreaterThan(150);
  expect(undocumented).toEqual([]);
}, 60_000);
