import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';

const here = path.dirname(fileURLToPath(import.meta.url));
// The repository's examples/models, or a models/ folder copied beside this project.
const folder = [path.join(here, '..', 'models'), path.join(here, '..', '..', 'models')].find((d) => fs.existsSync(d)) as string;

export const model = (name: string): string => path.join(folder, name);

/** Eight deterministic 3x32x32 images through the embedding CNN: its [8, 64] embedding tensor. */
export async function embed(file: string): Promise<ort.Tensor> {
  const data = new Float32Array(8 * 3 * 32 * 32);
  let x = 7;
  for (let i = 0; i < data.length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    data[i] = x / 2147483648 - 1;
  }
  const session = await ort.InferenceSession.create(file);
  try {
    const out = await session.run({ input: new ort.Tensor('float32', data, [8, 3, 32, 32]) });
    return out.embedding;
  } finally {
    await session.release();
  }
}
