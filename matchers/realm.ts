import * as vm from 'vm';

/** Constructors onnxruntime-node's native addon creates in Node's own realm. */
const SHARED = [
  'ArrayBuffer',
  'Float32Array',
  'Float64Array',
  'Int8Array',
  'Int16Array',
  'Int32Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Uint16Array',
  'Uint32Array',
  'BigInt64Array',
  'BigUint64Array',
] as const;

/**
 * Jest runs each test file in its own realm, but onnxruntime-node's native addon makes its typed
 * arrays in Node's main realm, so its `instanceof Float32Array` checks fail inside Jest ("A
 * float32 tensor's data must be type of function Float32Array()"). Giving the test realm Node's
 * own constructors makes both sides agree, with no custom test environment. Idempotent.
 */
export function shareTypedArrays(target: Record<string, unknown> = globalThis as unknown as Record<string, unknown>): void {
  for (const name of SHARED) {
    const nodeOwn = vm.runInThisContext(name) as unknown;
    if (target[name] !== nodeOwn) target[name] = nodeOwn;
  }
}
