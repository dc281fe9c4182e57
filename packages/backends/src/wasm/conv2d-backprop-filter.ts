import * as tf from '@tensorflow/tfjs-core';
import { KernelCalls, type ConvBackpropAttrs, type WasmHeap } from './kernel-calls';

/**
 * The filter gradient as one matrix product, `dW[KH·KW·C, O] = Pᵀ[KH·KW·C, N·OH·OW] · dY[N·OH·OW, O]`,
 * with the transposed patch matrix Pᵀ written directly in the wasm heap. For inputs with few
 * channels (a network's first layer): the convolution route below then runs XNNPACK with a
 * single input channel and huge "filters", a poor fit.
 */
function gemmBackpropFilter(k: KernelCalls, heap: WasmHeap, x: tf.TensorInfo, dy: tf.TensorInfo, info: tf.backend_util.Conv2DInfo): tf.TensorInfo {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow, outChannels: o, filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const { top, left } = info.padInfo;
  const columns = n * oh * ow;
  const patches = k.keep(heap.makeOutput([kh * kw * c, columns], 'float32'));
  const p = heap.typedArrayFromHeap(patches) as Float32Array;
  const xs = heap.typedArrayFromHeap(x) as Float32Array;
  for (let ky = 0; ky < kh; ky++) {
    for (let kx = 0; kx < kw; kx++) {
      for (let ch = 0; ch < c; ch++) {
        let at = ((ky * kw + kx) * c + ch) * columns;
        for (let b = 0; b < n; b++) {
          for (let oy = 0; oy < oh; oy++, at += ow) {
            const iy = oy * sh + ky * dh - top;
            // the output columns whose input column ix = ox·sw + kx·dw - left lies inside the image
            const shift = kx * dw - left;
            const ox0 = iy < 0 || iy >= h ? ow : Math.min(ow, Math.max(0, Math.ceil(-shift / sw)));
            const ox1 = iy < 0 || iy >= h ? ow : Math.max(ox0, Math.min(ow, Math.floor((w - 1 - shift) / sw) + 1));
            p.fill(0, at, at + ox0);
            p.fill(0, at + ox1, at + ow);
            const row = (b * h + iy) * w;
            for (let ox = ox0; ox < ox1; ox++) p[at + ox] = xs[(row + ox * sw + shift) * c + ch]!;
          }
        }
      }
    }
  }
  const product = k.run('BatchMatMul', { a: patches, b: k.reshape(dy, [columns, o]) }, { transposeA: false, transposeB: false });
  return { ...k.release(product), shape: [kh, kw, c, o] }; // a reshape that keeps the one reference
}

/** Input channels up to which {@link gemmBackpropFilter} is used. */
const FEW_CHANNELS = 4;

/**
 * `Conv2DBackpropFilter` for the wasm backend (which has none). With few input channels by
 * {@link gemmBackpropFilter}; otherwise the filter gradient
 * `dW[i,j,c,o] = Σ_{n,y,x} X[n, y·s + i - top, x·s + j - left, c] · dY[n,y,x,o]` is itself a
 * convolution — of the padded input with channels and batch swapped (`[C, H, W, N]`) by the output
 * gradient as a filter (`[OH, OW, N, O]`), with the forward stride as dilation — so it runs on the
 * XNNPACK convolution of tfjs-backend-wasm. NHWC only (tfjs-layers' default).
 */
export const conv2dBackpropFilterConfig: tf.KernelConfig = {
  kernelName: 'Conv2DBackpropFilter',
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as Required<Pick<ConvBackpropAttrs, 'filterShape'>> & ConvBackpropAttrs;
    if (dataFormat === 'NCHW') throw new Error('Conv2DBackpropFilter on wasm supports NHWC only');
    const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode);
    const k = new KernelCalls(backend as tf.KernelBackend);
    if (info.inChannels <= FEW_CHANNELS) return gemmBackpropFilter(k, backend as unknown as WasmHeap, x, dy, info);
    const { top, bottom, left, right } = info.padInfo;
    const xt = k.pad(k.transpose(x, [3, 1, 2, 0]), [[0, 0], [top, bottom], [left, right], [0, 0]]);
    const dyt = k.transpose(dy, [1, 2, 0, 3]);
    const full = k.conv2d(xt, dyt, 1, [info.strideHeight, info.strideWidth]);
    const [kh, kw] = filterShape;
    const cropped = k.slice(full, [0, 0, 0, 0], [full.shape[0]!, kh, kw, full.shape[3]!]);
    return k.release(k.transpose(cropped, [1, 2, 0, 3]));
  },
};
