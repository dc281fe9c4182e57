import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

/**
 * A MobileNet-style float network of stock tfjs layers (tests only): conv without bias + BN +
 * ReLU6, a depthwise conv, a 1×1 conv, a residual add, a separable conv, global average pooling
 * and a softmax, on 16×16×3 inputs. Its batch normalisations get seeded random statistics, so
 * that folding them is not the identity.
 */
export function mobileNetStyle(seed = 1): tfl.LayersModel {
  const input = tfl.input({ shape: [16, 16, 3] });
  const k = () => ({ kernelInitializer: tfl.initializers.glorotUniform({ seed: seed++ }) });
  let h = tfl.layers.conv2d({ ...k(), filters: 8, kernelSize: 3, padding: 'same', useBias: false }).apply(input) as tfl.SymbolicTensor;
  h = tfl.layers.batchNormalization().apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.reLU({ maxValue: 6 }).apply(h) as tfl.SymbolicTensor;
  let b = tfl.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false, depthwiseInitializer: tfl.initializers.glorotUniform({ seed: seed++ }) }).apply(h) as tfl.SymbolicTensor;
  b = tfl.layers.batchNormalization().apply(b) as tfl.SymbolicTensor;
  b = tfl.layers.reLU({ maxValue: 6 }).apply(b) as tfl.SymbolicTensor;
  b = tfl.layers.conv2d({ ...k(), filters: 8, kernelSize: 1, useBias: false }).apply(b) as tfl.SymbolicTensor;
  b = tfl.layers.batchNormalization().apply(b) as tfl.SymbolicTensor;
  h = tfl.layers.add().apply([h, b]) as tfl.SymbolicTensor;
  h = tfl.layers.separableConv2d({ filters: 16, kernelSize: 3, padding: 'same', activation: 'relu', depthwiseInitializer: tfl.initializers.glorotUniform({ seed: seed++ }), pointwiseInitializer: tfl.initializers.glorotUniform({ seed: seed++ }) }).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.globalAveragePooling2d({}).apply(h) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ ...k(), units: 10, activation: 'softmax' }).apply(h) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: out });
  for (const layer of model.layers.filter((l) => l.getClassName() === 'BatchNormalization')) {
    const n = layer.getWeights()[0]!.size;
    const r = (lo: number, hi: number) => tf.randomUniform([n], lo, hi, 'float32', seed++);
    layer.setWeights([r(0.5, 1.5), r(-0.2, 0.2), r(-0.2, 0.2), r(0.5, 1.5)]); // gamma, beta, moving mean, moving variance
  }
  return model;
}
