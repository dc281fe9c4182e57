import * as tf from '@tensorflow/tfjs-core';
import type { WasmHeap } from './kernel-calls';

/**
 * `MaxPoolGrad` for the wasm backend (its own is slow): one pass over the pooling windows in the backend's memory, routing each output
 * gradient to the first maximum of its window (as the CPU backend does). Any pool size, stride and
 * padding; NHWC.
 */
export const maxPoolGradConfig: tf.KernelConfig = {
  kernelName: 'MaxPoolGrad',
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { dy, input } = inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
    const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as tf.MaxPoolGradAttrs;
    const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
    const heap = backend as unknown as WasmHeap;
    const out = heap.makeOutput(input.shape, 'float32');
    const dx = heap.typedArrayFromHeap(out) as Float32Array;
    dx.fill(0);
    const x = heap.typedArrayFromHeap(input) as Float32Array;
    const g = heap.typedArrayFromHeap(dy) as Float32Array;
    const { batchSize, inHeight, inWidth, inChannels: ch, outHeight, outWidth, strideHeight, strideWidth, filterHeight, filterWidth } = info;
    const top = info.padInfo.top;
    const left = info.padInfo.left;
    let o = 0;
    for (let b = 0; b < batchSize; b++) {
      const base = b * inHeight * inWidth * ch;
      for (let oy = 0; oy < outHeight; oy++) {
        const y0 = Math.max(0, oy * strideHeight - top);
        const y1 = Math.min(inHeight, oy * strideHeight - top + filterHeight);
        for (let ox = 0; ox < outWidth; ox++) {
          const x0 = Math.max(0, ox * strideWidth - left);
          const x1 = Math.min(inWidth, ox * strideWidth - left + filterWidth);
          for (let c = 0; c < ch; c++, o++) {
            let best = -Infinity;
            let at = -1;
            for (let y = y0; y < y1; y++) {
              for (let xx = x0; xx < x1; xx++) {
                const i = base + (y * inWidth + xx) * ch + c;
                if (x[i]! > best || at < 0) {
                  best = x[i]!;
                  at = i;
                }
              }
            }
            if (at >= 0) dx[at]! += g[o]!;
          }
        }
      }
    }
    return out;
  },
};
