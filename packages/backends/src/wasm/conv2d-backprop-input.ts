import * as tf from '@tensorflow/tfjs-core';
import { STOCK_KERNELS } from '../stock-kernels';
import { KernelCalls, type ConvBackpropAttrs, type WasmHeap } from './kernel-calls';

/** Largest column matrix (floats) {@link gemmBackpropInput} makes at once; larger batches go in chunks. */
const MAX_COLUMNS = 1 << 22;

/**
 * The input gradient as one matrix product and a scatter-add ("col2im"): the columns
 * `dY[N·OH·OW, O] · W[KH·KW·C, O]ᵀ` hold every output pixel's contribution to its input window,
 * which is then added into dX. Multiplies only what the forward pass multiplied, where the
 * full-correlation route below also multiplies the zeros of padding and stride (LeNet-5's 5×5
 * valid convolutions: 2.25× fewer products).
 */
function gemmBackpropInput(k: KernelCalls, heap: WasmHeap, dy: tf.TensorInfo, filter: tf.TensorInfo, info: tf.backend_util.Conv2DInfo): tf.TensorInfo {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow, outChannels: o, filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;
  const out = heap.makeOutput([n, h, w, c], 'float32');
  (heap.typedArrayFromHeap(out) as Float32Array).fill(0);
  const filterRows = k.reshape(filter, [kh * kw * c, o]);
  const perImage = oh * ow * kh * kw * c;
  const chunk = Math.max(1, Math.floor(MAX_COLUMNS / perImage));
  for (let b0 = 0; b0 < n; b0 += chunk) {
    const nb = Math.min(chunk, n - b0);
    const rows = k.reshape(k.slice(dy, [b0, 0, 0, 0], [nb, oh, ow, o]), [nb * oh * ow, o]);
    const cols = heap.typedArrayFromHeap(k.run('BatchMatMul', { a: rows, b: filterRows }, { transposeA: false, transposeB: true })) as Float32Array;
    const dx = heap.typedArrayFromHeap(out) as Float32Array; // after the allocations above: a grown heap detaches older views
    let at = 0;
    for (let b = b0; b < b0 + nb; b++) {
      for (let oy = 0; oy < oh; oy++) {
        for (let ox = 0; ox < ow; ox++) {
          for (let ky = 0; ky < kh; ky++) {
            const iy = oy * sh + ky - top;
            for (let kx = 0; kx < kw; kx++, at += c) {
              const ix = ox * sw + kx - left;
              if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
              const base = ((b * h + iy) * w + ix) * c;
              for (let ch = 0; ch < c; ch++) dx[base + ch]! += cols[at + ch]!;
            }
          }
        }
      }
    }
  }
  return k.release(out);
}

/**
 * `Conv2DBackpropInput` for the wasm backend (wasm's own kernel is a direct loop, about 5× slower
 * on LeNet-5). Where the input is much larger than the output (valid convolutions with large
 * kernels, strides) by {@link gemmBackpropInput}; otherwise on the XNNPACK convolution: the input
 * gradient is the full correlation of the stride-dilated output gradient with the filter rotated
 * by 180° and its channel axes swapped (strides > 1 insert zeros between the rows and columns of
 * dY first). NHWC only.
 */
export const conv2dBackpropInputConfig: tf.KernelConfig = {
  kernelName: 'Conv2DBackpropInput',
  backendName: 'wasm',
  kernelFunc: (args) => {
    const { inputs, backend, attrs } = args;
    const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as Required<Pick<ConvBackpropAttrs, 'inputShape'>> & ConvBackpropAttrs;
    if (dataFormat === 'NCHW') {
      // wasm's own kernel (a direct loop) handles what ours does not
      const stock = STOCK_KERNELS.get('Conv2DBackpropInput');
      if (!stock) throw new Error('Conv2DBackpropInput on wasm supports NHWC only');
      return stock.kernelFunc(args);
    }
    const filterShape = filter.shape as [number, number, number, number];
    const info = tf.backend_util.computeConv2DInfo(inputShape, filterShape, strides, 1, pad, dimRoundingMode);
    const k = new KernelCalls(backend as tf.KernelBackend);
    if (info.inHeight * info.inWidth > 1.5 * info.outHeight * info.outWidth) return gemmBackpropInput(k, backend as unknown as WasmHeap, dy, filter, info);
    const [kh, kw, , outC] = filterShape;
    const [n, h, w] = inputShape;
    const [sh, sw] = [info.strideHeight, info.strideWidth];
    // dY with (s-1) zeros between rows and columns: [N, (OH-1)·sh + 1, (OW-1)·sw + 1, O]
    let dyd = dy;
    const [oh, ow] = [dy.shape[1]!, dy.shape[2]!];
    if (sh > 1 || sw > 1) {
      const spread = k.pad(k.reshape(dy, [n, oh, 1, ow, 1, outC]), [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]]);
      dyd = k.slice(k.reshape(spread, [n, oh * sh, ow * sw, outC]), [0, 0, 0, 0], [n, (oh - 1) * sh + 1, (ow - 1) * sw + 1, outC]);
    }
    // Pad so that a valid correlation with a kh×kw filter gives exactly h×w.
    const padTop = kh - 1 - info.padInfo.top;
    const padLeft = kw - 1 - info.padInfo.left;
    const padBottom = h + kh - 1 - padTop - dyd.shape[1]!;
    const padRight = w + kw - 1 - padLeft - dyd.shape[2]!;
    const padded = k.pad(dyd, [[0, 0], [Math.max(padTop, 0), Math.max(padBottom, 0)], [Math.max(padLeft, 0), Math.max(padRight, 0)], [0, 0]]);
    const cropped = k.slice(
      padded,
      [0, Math.max(-padTop, 0), Math.max(-padLeft, 0), 0],
      [n, padded.shape[1]! - Math.max(-padTop, 0) - Math.max(-padBottom, 0), padded.shape[2]! - Math.max(-padLeft, 0) - Math.max(-padRight, 0), outC],
    );
    const rotated = k.transpose(k.run('Reverse', { x: filter }, { dims: [0, 1] }), [0, 1, 3, 2]);
    return k.release(k.conv2d(cropped, rotated, 1, 1));
  },
};
