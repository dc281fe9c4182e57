export * from './browser';
// Node only (node:fs)
export { fileSystem, writeFileAtomic } from './fs-io';
export { exportPacked, loadPackedModel } from './packed-export';
export { exportOnnx } from './onnx-file';
