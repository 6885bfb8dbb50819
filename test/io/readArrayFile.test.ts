import { execFileSync } from 'node:child_process';
import { closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { BadInputError } from '../../src/errors';
import { encodeNpy, readArrayFile } from '../../src/io';
import { FIXTURES } from './support';

async function badInputMessage(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BadInputError);
  const message = (error as Error).message;
  expect(message).not.toMatch(/[\r\n]/);
  return message;
}

describe('readArrayFile', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'batchproof-io-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('keys a .npy file by its basename without the extension', async () => {
    const arrays = await readArrayFile(path.join(FIXTURES, 'float32_2x3.npy'));
    expect(Object.keys(arrays)).toEqual(['float32_2x3']);
    expect(arrays.float32_2x3.dims).toEqual([2, 3]);
  });

  it('reads .npz and .safetensors files', async () => {
    expect(Object.keys(await readArrayFile(path.join(FIXTURES, 'compressed.npz'))).sort()).toEqual(['images', 'labels']);
    expect(Object.keys(await readArrayFile(path.join(FIXTURES, 'model.safetensors')))).toContain('weight');
  });

  it('matches extensions case-insensitively and keeps dots in the basename', async () => {
    const file = path.join(dir, 'input.ids.NPY');
    writeFileSync(file, encodeNpy({ dtype: 'int64', dims: [1], data: new BigInt64Array([5n]) }));
    const arrays = await readArrayFile(file);
    expect(Object.keys(arrays)).toEqual(['input.ids']);
    expect(arrays['input.ids'].data).toEqual(new BigInt64Array([5n]));
  });

  it('names the file in parse errors', async () => {
    const file = path.join(dir, 'wrong.safetensors');
    copyFileSync(path.join(FIXTURES, 'compressed.npz'), file);
    const message = await badInputMessage(readArrayFile(file));
    expect(message.startsWith(`${file}: not a safetensors file`)).toBe(true);
  });

  it('rejects unsupported extensions', async () => {
    const file = path.join(dir, 'samples.csv');
    expect(await badInputMessage(readArrayFile(file))).toBe(
      `${file}: unsupported file type ".csv"; use a .npy, .npz, .safetensors file`,
    );
    expect(await badInputMessage(readArrayFile(path.join(dir, 'noext')))).toMatch(/unsupported file type "\(no extension\)"/);
  });

  it('reports a missing file or a directory', async () => {
    const missing = path.join(dir, 'missing.npy');
    expect(await badInputMessage(readArrayFile(missing))).toBe(`${missing}: file not found; check the path`);
    const folder = path.join(dir, 'folder.npz');
    mkdirSync(folder);
    expect(await badInputMessage(readArrayFile(folder))).toMatch(/folder\.npz: is a directory/);
  });

  it('refuses a FIFO, a process substitution and a device before reading or looking at the extension', async () => {
    const fifo = path.join(dir, 'samples.npy');
    execFileSync('mkfifo', [fifo]);
    // Held open with bytes in it: a reader that got past the check would wait for an end that
    // never comes, so each read races a timer (the test fails, it does not hang) and closing
    // the FIFO at the end lets any such read finish.
    const held = openSync(fifo, 'r+');
    writeSync(held, encodeNpy({ dtype: 'float32', dims: [1], data: new Float32Array([1]) }));
    const within = (promise: Promise<unknown>) =>
      Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error('read the pipe: hung')), 5000).unref())]);
    try {
      const pipe = /: is a pipe \(a FIFO or a process substitution such as <\(\.\.\.\)\), not a regular file; save the arrays to a file and pass its path$/;
      expect(await badInputMessage(within(readArrayFile(fifo)))).toMatch(pipe);
      // What bash hands over for <(cat samples.npy): /dev/fd/N, with no extension.
      expect(await badInputMessage(within(readArrayFile(`/dev/fd/${held}`)))).toMatch(pipe);
      expect(await badInputMessage(within(readArrayFile('/dev/zero')))).toBe('/dev/zero: is a character device, not a regular file; save the arrays to a file and pass its path');
    } finally {
      closeSync(held);
    }
  });
});
