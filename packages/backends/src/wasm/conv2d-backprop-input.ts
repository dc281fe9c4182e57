import * as tf from '@tensorflow/tfjs-core';
import { STOCK_KERNELS } from '../stock-kernels';
import { KernelCalls, type ConvBackpropAttrs } from './kernel-calls';

/**
 * `Conv2DBackpropInput` for the wasm backend on its XNNPACK convolution (wasm's own kernel is a
 * direct loop, about 5× slower on LeNet-5): the input gradient is the full correlation of the
 * stride-dilated output gradient with the filter rotated by 180° and its channel axes swapped.
 * Strides > 1 insert zeros between the rows and columns of dY first. NHWC only.
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
    const [kh, kw, , outC] = filterShape;
    const [n, h, w] = inputShape;
    const [sh, sw] = [info.strideHeight, info.strideWidth];
    const k = new KernelCalls(backend as tf.KernelBackend);
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
