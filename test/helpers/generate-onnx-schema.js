#!/usr/bin/env node
// Regenerates src/onnx/onnx-schema.json from an onnx.proto (run by hand, never at test time).
// The JSON descriptor is vendored so the package needs no .proto parsing at run time and
// the schema ships with the `tsc` output (resolveJsonModule copies it to dist/).
//   node test/helpers/generate-onnx-schema.js [/path/to/onnx.proto]
// Default source: Debian's python3-onnx 1.12 copy. Field names become camelCase
// (protobufjs' default), e.g. raw_data -> rawData, opset_import -> opsetImport.
'use strict';
const fs = require('fs');
const path = require('path');
const protobuf = require('protobufjs');

const src = process.argv[2] || '/usr/lib/python3/dist-packages/onnx/onnx.proto';
const out = path.join(__dirname, '..', '..', 'src', 'onnx', 'onnx-schema.json');

const root = protobuf.loadSync(src);
root.resolveAll(); // fail here, not at run time, if a type reference is missing
fs.writeFileSync(out, JSON.stringify(root.toJSON(), null, 1) + '\n');
console.log(`wrote ${out} from ${src}`);
