/**
 * Model bytes for graph work (stats, recalibration, locate) and sessions on changed models.
 * Those need the model itself, not just a session: a path, bytes, or a handle opened from a path.
 */
import fs = require('fs');
import path = require('path');
import { BadInputError, describeValue } from '../errors';
import { checkModelHead, openModelFile, statModelFile } from '../onnx/model-file';
import { allocateStore, type ModelStore } from '../onnx/wire';
import { FUNCTION_MODULE } from './function';
import { isModelHandle, modelSourceOf, type ModelSource } from './handle';
import { isInferenceSession } from './session';
import type { SessionSettings } from './settings';

export interface ModelBytes {
  bytes: Uint8Array;
  /** A path, or '<bytes>'. */
  source: string;
  /** Where external data files are looked for. */
  dir: string;
  /** Settings of the handle the model came in, if any (the caller's own settings win). */
  settings: SessionSettings;
  /** For models read from a file: the bytes sit in a store with room to append in place. */
  store?: ModelStore;
}

/**
 * Where a model's graph is needed (locate, stats, recalibrate) or its sessions (compare), a batch
 * function, or the path of its module, is said to be one plainly: null for anything else.
 */
export function batchFunctionGiven(model: unknown, what: string, needs: string): string | null {
  if (typeof model === 'function') {
    return `${what} needs an ONNX model (${needs}), not a batch function; check the function itself with checkBatchInvariance(fn, { samples }) or toBeBatchInvariant(fn), or give the ONNX model it runs`;
  }
  if (typeof model === 'string' && FUNCTION_MODULE.test(model)) {
    return `${model}: ${what} needs an ONNX model (${needs}), and this is a batch function's module; check the function itself with batchproof check ${model} --samples texts.json, or give the ONNX model it runs`;
  }
  return null;
}

/** Reads the model's bytes from a path, bytes or a handle opened from a path. */
export function modelBytes(model: ModelSource, what = 'this check'): ModelBytes {
  const fn = batchFunctionGiven(model, what, "it works on the model's graph");
  if (fn) throw new BadInputError(fn);
  if (typeof model === 'string') {
    // Missing, a directory, empty, not ONNX: the same words as `check` (onnx/model-file.ts).
    const stat = statModelFile(model);
    const store = readIntoStore(model, stat.size);
    const bytes = store.storage.subarray(store.start, store.end);
    checkModelHead(bytes, model);
    return { bytes, source: model, dir: path.dirname(path.resolve(model)), settings: {}, store };
  }
  if (isModelHandle(model)) {
    // A handle keeps where its model came from: a path is read again, bytes are used as they are.
    const from = modelSourceOf(model);
    if (from === null) {
      const came = model.source === '<session>' ? 'an InferenceSession' : model.source;
      throw new BadInputError(`${what} needs the model's graph, and this handle was opened from ${came}, whose graph batchproof cannot read; pass the model's path or bytes instead of the handle`);
    }
    return { ...modelBytes(from, what), settings: { ...model.settings } };
  }
  if (isInferenceSession(model)) {
    throw new BadInputError(`${what} needs the model's graph, which an InferenceSession does not expose; pass the model's path or bytes`);
  }
  if (ArrayBuffer.isView(model)) {
    return { bytes: new Uint8Array(model.buffer, model.byteOffset, model.byteLength), source: '<bytes>', dir: process.cwd(), settings: {} };
  }
  if (Object.prototype.toString.call(model) === '[object ArrayBuffer]') {
    return { bytes: new Uint8Array(model as ArrayBuffer), source: '<bytes>', dir: process.cwd(), settings: {} };
  }
  throw new BadInputError(`${what} needs a model: a path to an .onnx file or its bytes; got ${describeValue(model)}`);
}

/** Reads a file into a store with room around it (see wire.ts appendInPlace). */
function readIntoStore(file: string, size: number): ModelStore {
  const store = allocateStore(size);
  const fd = openModelFile(file);
  try {
    let at = 0;
    while (at < size) {
      const n = fs.readSync(fd, store.storage, store.start + at, size - at, at);
      if (n === 0) break;
      at += n;
    }
    store.end = store.start + at;
  } finally {
    fs.closeSync(fd);
  }
  return store;
}

/** True when any initializer keeps its data in an external file (scans tensor headers only). */
export function hasExternalData(initializers: readonly { dataLocation?: number }[]): boolean {
  return initializers.some((t) => t.dataLocation === 1);
}
