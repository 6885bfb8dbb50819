import * as fs from 'fs';
import * as path from 'path';

// src/runtime/ is the one place sessions are made: every capability (check, determinism,
// compare, stats, locate, the padding diagnosis, snapshots' fixtures) runs a Runner from it,
// so providers are checked, settings applied and failures worded the same way everywhere.
const src = path.join(__dirname, '..', '..', 'src');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const at = path.join(dir, e.name);
    return e.isDirectory() ? sources(at) : e.name.endsWith('.ts') ? [at] : [];
  });
}

const outside = sources(src).filter((f) => !f.startsWith(path.join(src, 'runtime') + path.sep));

test('no module outside src/runtime makes an onnxruntime session or imports the session maker', () => {
  const makers = outside.filter((f) => {
    const text = fs.readFileSync(f, 'utf8');
    return /InferenceSession\s*\.\s*create\b/.test(text) || /import\s*\{[^}]*\bcreateSession\b[^}]*\}\s*from\s*'[./]*\/?runtime\/session'/.test(text);
  });
  expect(makers.map((f) => path.relative(src, f))).toEqual([]);
});

test('the control: the same search finds the session maker where it is', () => {
  const inRuntime = sources(path.join(src, 'runtime')).filter((f) => /InferenceSession\s*\.\s*create\b/.test(fs.readFileSync(f, 'utf8')));
  expect(inRuntime.map((f) => path.relative(src, f))).toContain(path.join('runtime', 'session.ts'));
  // And an import of createSession, as it would be written outside.
  expect(/import\s*\{[^}]*\bcreateSession\b[^}]*\}\s*from\s*'[./]*\/?runtime\/session'/.test("import { createSession } from '../runtime/session';")).toBe(true);
});
