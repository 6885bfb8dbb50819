/** Element types, named as onnxruntime-node names its tensor types. */
export type DType =
  | 'float32'
  | 'float64'
  | 'float16'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'bool';

/** The typed arrays an array file's values come back as, one per dtype. */
export type NumericData =
  | Float32Array
  | Float64Array
  | Uint16Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint32Array
  | BigUint64Array;

/**
 * A dense, C-ordered array, in the shape onnxruntime-node's `new Tensor(dtype, data, dims)` accepts:
 * float16 holds the raw IEEE half bits in a Uint16Array, bool holds 0/1 bytes in a Uint8Array.
 */
export interface NumericArray {
  dtype: DType;
  dims: number[];
  data: NumericData;
}

interface DTypeInfo {
  itemSize: number;
  /** Name of the typed array that holds it, as Object.prototype.toString reports it (realm-safe). */
  arrayName: string;
  create: (buffer: ArrayBuffer, length: number) => NumericData;
}

export const DTYPES: Readonly<Record<DType, DTypeInfo>> = {
  float32: { itemSize: 4, arrayName: 'Float32Array', create: (b, n) => new Float32Array(b, 0, n) },
  float64: { itemSize: 8, arrayName: 'Float64Array', create: (b, n) => new Float64Array(b, 0, n) },
  float16: { itemSize: 2, arrayName: 'Uint16Array', create: (b, n) => new Uint16Array(b, 0, n) },
  int8: { itemSize: 1, arrayName: 'Int8Array', create: (b, n) => new Int8Array(b, 0, n) },
  int16: { itemSize: 2, arrayName: 'Int16Array', create: (b, n) => new Int16Array(b, 0, n) },
  int32: { itemSize: 4, arrayName: 'Int32Array', create: (b, n) => new Int32Array(b, 0, n) },
  int64: { itemSize: 8, arrayName: 'BigInt64Array', create: (b, n) => new BigInt64Array(b, 0, n) },
  uint8: { itemSize: 1, arrayName: 'Uint8Array', create: (b, n) => new Uint8Array(b, 0, n) },
  uint16: { itemSize: 2, arrayName: 'Uint16Array', create: (b, n) => new Uint16Array(b, 0, n) },
  uint32: { itemSize: 4, arrayName: 'Uint32Array', create: (b, n) => new Uint32Array(b, 0, n) },
  uint64: { itemSize: 8, arrayName: 'BigUint64Array', create: (b, n) => new BigUint64Array(b, 0, n) },
  bool: { itemSize: 1, arrayName: 'Uint8Array', create: (b, n) => new Uint8Array(b, 0, n) },
};

export function isDType(value: unknown): value is DType {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(DTYPES, value);
}
