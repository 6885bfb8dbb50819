// Where the installed onnxruntime-node's native addon is, for the copy of its binding.js that the
// CLI bundle holds (scripts/bundle-cli.js): set by ort-bundled.js before that copy loads.
exports.path = undefined;
