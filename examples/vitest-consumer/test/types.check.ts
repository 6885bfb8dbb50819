// Type-checked by `npm run typecheck` (tsc), never run: the matchers are typed, not `any`.
import { expect } from 'vitest';

export async function typed(): Promise<void> {
  await expect('model.onnx').toBeBatchInvariant({ tolerance: 'exact' });
  await expect('model.onnx').not.toBeDeterministic();
  expect([[1, 2]]).toMatchEmbeddingSnapshot({ name: 'rows' });
  // @ts-expect-error repeats is a number
  await expect('model.onnx').toBeDeterministic({ repeats: 'five' });
  // @ts-expect-error no such matcher
  await expect('model.onnx').toBeBatchInvariantt();
}
