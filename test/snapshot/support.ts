import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { embeddingsFrom, Embeddings } from '../../src/snapshot/embeddings';

/** A fresh temporary folder, removed after the test file. */
export function tempDir(prefix = 'batchproof-snapshot-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Deterministic values in [-1, 1): rows x dim float32 (or float64). */
export function values(rows: number, dim: number, seed = 1, Type: Float32ArrayConstructor | Float64ArrayConstructor = Float32Array): Float32Array | Float64Array {
  const data = new Type(rows * dim);
  let x = seed >>> 0;
  for (let i = 0; i < data.length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    data[i] = x / 2147483648 - 1;
  }
  return data;
}

export function embeddings(rows: number, dim: number, seed = 1): Embeddings {
  return embeddingsFrom({ data: values(rows, dim, seed), dims: [rows, dim] });
}

/** A copy with rows scaled by (1 + relative) on their first element. */
export function nudged(e: Embeddings, rows: number[], relative: number): Embeddings {
  const data = e.data.slice();
  for (const r of rows) data[r * e.dim] *= 1 + relative;
  return { ...e, data };
}
