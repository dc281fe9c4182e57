import * as tf from '@tensorflow/tfjs-core';
import type { WasmHeap } from './kernel-calls';

/** Geometry of a depthwise convolution (NHWC input, filter `[kh, kw, channels, multiplier]`). */
function geometry(xShape: number[], filterShape: number[], attrs: tf.DepthwiseConv2dNativeBackpropInputAttrs | tf.DepthwiseConv2dNativeBackpropFilterAttrs) {
  const { strides, pad, dimRoundingMode, dilations } = attrs;
  return tf.backend_util.computeConv2DInfo(xShape as [number, number, number, number], filterShape as [number, number, number, number], strides, dilations, pad, dimRoundingMode, true);
}

/**
 * Visits every (input element, filter tap, output element) triple of a depthwise convolution:
 * `visit(xIndex, filterIndex, dyIndex)`; the two backward kernels differ only in what they sum.
 */
function forEachTap(info: tf.backend_util.Conv2DInfo, visit: (xi: number, fi: number, oi: number) => void): void {
  const { batchSize, inHeight, inWidth, inChannels: ch, outHeight, outWidth, outChannels, strideHeight, strideWidth, dilationHeight, dilationWidth, filterHeight, filterWidth } = info;
  const mult = outChannels / ch;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  for (let b = 0; b < batchSize; b++) {
    for (let oy = 0; oy < outHeight; oy++) {
      for (let ky = 0; ky < filterHeight; ky++) {
        const y = oy * strideHeight - top + ky * dilationHeight;
        if (y < 0 || y >= inHeight) continue;
        for (let ox = 0; ox < outWidth; ox++) {
          const outBase = ((b * outHeight + oy) * outWidth + ox) * outChannels;
          for (let kx = 0; kx < filterWidth; kx++) {
            const x = ox * strideWidth - left + kx * dilationWidth;
            if (x < 0 || x >= inWidth) continue;
            const inBase = ((b * inHeight + y) * inWidth + x) * ch;
            const fBase = (ky * filterWidth + kx) * ch * mult;
            for (let c = 0; c < ch; c++) for (let m = 0; m < mult; m++) visit(inBase + c, fBase + c * mult + m, outBase + c * mult + m);
          }
        }
      }
    }
  }
}

/**
 * `DepthwiseConv2dNativeBackpropInput` for the wasm backend, which has none (training a depthwise
 * convolution fails without it): `dx[x] = Σ dy[o]·filter[f]` over the taps of the convolution,
 * in JavaScript over the backend's memory. Any stride, padding, dilation and multiplier; NHWC.
 */
export const depthwiseConv2dBackpropInputConfig: tf.KernelConfig = {
  kernelName: 'DepthwiseConv2dNativeBackpropInput',
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const a = attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
    const info = geometry(a.inputShape, filter.shape, a);
    const heap = backend as unknown as WasmHeap;
    const out = heap.makeOutput(a.inputShape, 'float32');
    const dx = heap.typedArrayFromHeap(out) as Float32Array;
    dx.fill(0);
    const g = heap.typedArrayFromHeap(dy) as Float32Array;
    const f = heap.typedArrayFromHeap(filter) as Float32Array;
    forEachTap(info, (xi, fi, oi) => (dx[xi]! += g[oi]! * f[fi]!));
    return out;
  },
};

/**
 * `DepthwiseConv2dNativeBackpropFilter` for the wasm backend, which has none:
 * `dfilter[f] = Σ x[i]·dy[o]` over the taps of the convolution (see
 * {@link depthwiseConv2dBackpropInputConfig}).
 */
export const depthwiseConv2dBackpropFilterConfig: tf.KernelConfig = {
  kernelName: 'DepthwiseConv2dNativeBackpropFilter',
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const a = attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
    const info = geometry(x.shape, a.filterShape, a);
    const heap = backend as unknown as WasmHeap;
    const out = heap.makeOutput(a.filterShape, 'float32');
    const df = heap.typedArrayFromHeap(out) as Float32Array;
    df.fill(0);
    const xs = heap.typedArrayFromHeap(x) as Float32Array;
    const g = heap.typedArrayFromHeap(dy) as Float32Array;
    forEachTap(info, (xi, fi, oi) => (df[fi]! += xs[xi]! * g[oi]!));
    return out;
  },
};
