import * as tf from '@tensorflow/tfjs-core';
import type { WasmHeap } from './kernel-calls';

/**
 * `UnsortedSegmentSum` for the wasm backend, which has none: the gradient of `gather` (an
 * embedding lookup) needs it. `out[segmentIds[i]] += x[i]` over the rows of x (float32), in
 * JavaScript over the backend's memory; ids outside `[0, numSegments)` are dropped, as tfjs does.
 */
export const unsortedSegmentSumConfig: tf.KernelConfig = {
  kernelName: 'UnsortedSegmentSum',
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
    const { numSegments } = attrs as unknown as tf.UnsortedSegmentSumAttrs;
    const heap = backend as unknown as WasmHeap;
    const rows = segmentIds.shape.reduce((a, b) => a * b, 1);
    const inner = x.shape.slice(segmentIds.shape.length).reduce((a, b) => a * b, 1);
    const out = heap.makeOutput([numSegments, ...x.shape.slice(segmentIds.shape.length)], 'float32');
    const sums = heap.typedArrayFromHeap(out) as Float32Array;
    sums.fill(0);
    const values = heap.typedArrayFromHeap(x) as Float32Array;
    const ids = heap.typedArrayFromHeap(segmentIds);
    for (let i = 0; i < rows; i++) {
      const s = ids[i]!;
      if (s < 0 || s >= numSegments) continue;
      for (let j = 0; j < inner; j++) sums[s * inner + j]! += values[i * inner + j]!;
    }
    return out;
  },
};
