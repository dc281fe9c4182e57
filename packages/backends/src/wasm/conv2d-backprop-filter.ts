import * as tf from '@tensorflow/tfjs-core';
import { KernelCalls, type ConvBackpropAttrs } from './kernel-calls';

/**
 * `Conv2DBackpropFilter` for the wasm backend (which has none): the filter gradient
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
    const { top, bottom, left, right } = info.padInfo;
    const xt = k.pad(k.transpose(x, [3, 1, 2, 0]), [[0, 0], [top, bottom], [left, right], [0, 0]]);
    const dyt = k.transpose(dy, [1, 2, 0, 3]);
    const full = k.conv2d(xt, dyt, 1, [info.strideHeight, info.strideWidth]);
    const [kh, kw] = filterShape;
    const cropped = k.slice(full, [0, 0, 0, 0], [full.shape[0]!, kh, kw, full.shape[3]!]);
    return k.release(k.transpose(cropped, [1, 2, 0, 3]));
  },
};
