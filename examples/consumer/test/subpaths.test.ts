// The subpath entries as an installed package serves them: values at run time, types at compile
// time (this project type-checks with moduleResolution "node", so through typesVersions).
import * as fs from 'fs';
import * as root from 'batchproof';
import { compareEmbeddings, embeddingsFrom } from 'batchproof';
import { encodeNpy, parseNpy, type NumericArray } from 'batchproof/io';
import { readGraph, findBatchNorms, type GraphFacts } from 'batchproof/onnx';
import { memorySource, type RowSource } from 'batchproof/snapshot';
import BatchproofReporter, { type BatchproofReporterOptions } from 'batchproof/reporter';
import { modelPath } from './models';

const cnn = modelPath('embedding_cnn.onnx');

test('batchproof/io, batchproof/onnx, batchproof/snapshot and batchproof/reporter resolve, with their types', () => {
  const arr: NumericArray = { dtype: 'float32', dims: [2, 2], data: Float32Array.from([1, 2, 3, 4]) };
  expect(Array.from(parseNpy(encodeNpy(arr)).data as Float32Array)).toEqual([1, 2, 3, 4]);

  const graph: GraphFacts = readGraph(fs.readFileSync(cnn), cnn);
  expect(graph.inputs.map((i) => i.name)).toEqual(['input']);
  expect(findBatchNorms(fs.readFileSync(cnn)).batchNorms.length).toBeGreaterThan(0);

  const e = embeddingsFrom(Float32Array.from([1, 0, 0, 1]), [2, 2]);
  const source: RowSource = memorySource(e);
  expect(compareEmbeddings(source, memorySource(e)).verdict).toBe('identical');

  // batchproof/reporter: the Jest reporter class that jest.config.js names, with its options' type.
  const options: BatchproofReporterOptions = { outputFile: 'batchproof-report.html' };
  expect(typeof BatchproofReporter).toBe('function');
  expect(options.outputFile).toMatch(/\.html$/);

  // The internals stay off the root.
  for (const name of ['makePlan', 'spliceModel', 'readGraph', 'memorySource', 'divergenceLine', 'encodeNpy']) {
    expect((root as Record<string, unknown>)[name]).toBeUndefined();
  }
});
