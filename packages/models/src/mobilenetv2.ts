import * as tfl from '@tensorflow/tfjs-layers';
import type { ModelQuantConfig } from './model-quant-config';
import { quantizeModel } from './quantize-model';
import type { ZooOptions } from './zoo';

/** Inverted-residual stages for 32×32 inputs: expansion t, output channels c, blocks n, first stride s. */
const STAGES: Array<[t: number, c: number, n: number, s: number]> = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 2, 2],
  [6, 64, 2, 2],
];

/**
 * The float MobileNet-V2-style network of {@link mobilenetv2}, built from stock tfjs layers:
 * a 3×3 stem, inverted residual blocks (1×1 expansion, 3×3 depthwise, 1×1 linear projection,
 * each convolution without bias and followed by BatchNormalization, ReLU6 after the first two; a
 * residual add where the shape allows), a 1×1 head to 256 channels, global average pooling and a
 * dense layer to logits. Kernels are seeded from `seed`.
 */
export function mobilenetv2Float(options: ZooOptions = {}, seed = 0): tfl.LayersModel {
  const { inputShape = [32, 32, 3], numClasses = 10 } = options;
  let kernels = 0;
  const init = () => tfl.initializers.glorotUniform({ seed: (seed + 1) * 100_003 + kernels++ });
  const input = tfl.input({ shape: inputShape, name: 'image' });
  const bnRelu6 = (x: tfl.SymbolicTensor, name: string, relu = true) => {
    const y = tfl.layers.batchNormalization({ name: `${name}_bn` }).apply(x) as tfl.SymbolicTensor;
    return relu ? (tfl.layers.reLU({ name: `${name}_relu6`, maxValue: 6 }).apply(y) as tfl.SymbolicTensor) : y;
  };
  const conv = (x: tfl.SymbolicTensor, name: string, filters: number, kernelSize: number, strides = 1) =>
    tfl.layers.conv2d({ name, filters, kernelSize, strides, padding: 'same', useBias: false, kernelInitializer: init() }).apply(x) as tfl.SymbolicTensor;
  let x = bnRelu6(conv(input, 'stem', 16, 3), 'stem');
  let channels = 16;
  STAGES.forEach(([t, c, n, s], stage) => {
    for (let block = 0; block < n; block++) {
      const name = `b${stage + 1}_${block + 1}`;
      const strides = block === 0 ? s : 1;
      let y = t === 1 ? x : bnRelu6(conv(x, `${name}_expand`, channels * t, 1), `${name}_expand`);
      y = tfl.layers.depthwiseConv2d({ name: `${name}_dw`, kernelSize: 3, strides, padding: 'same', useBias: false, depthwiseInitializer: init() }).apply(y) as tfl.SymbolicTensor;
      y = bnRelu6(y, `${name}_dw`);
      y = bnRelu6(conv(y, `${name}_project`, c, 1), `${name}_project`, false);
      x = strides === 1 && channels === c ? (tfl.layers.add({ name: `${name}_add` }).apply([x, y]) as tfl.SymbolicTensor) : y;
      channels = c;
    }
  });
  x = bnRelu6(conv(x, 'head', 256, 1), 'head');
  x = tfl.layers.globalAveragePooling2d({ name: 'pool' }).apply(x) as tfl.SymbolicTensor;
  const logits = tfl.layers.dense({ name: 'fc', units: numClasses, kernelInitializer: init() }).apply(x) as tfl.SymbolicTensor;
  return tfl.model({ name: 'mobilenetv2', inputs: input, outputs: logits });
}

/**
 * MobileNet-V2 for 32×32 inputs (CIFAR-10), quantized: {@link mobilenetv2Float} converted by
 * {@link quantizeModel} with `quant` — so the zoo uses the same conversion as users' models (BN
 * folded into the convolutions, depthwise kernels with one step per channel, ReLU6 activations on
 * unsigned grids spanning [0, 6]).
 */
export function mobilenetv2(quant: ModelQuantConfig = {}, options: ZooOptions = {}): tfl.LayersModel {
  return quantizeModel(mobilenetv2Float(options, quant.seed ?? 0), quant);
}
