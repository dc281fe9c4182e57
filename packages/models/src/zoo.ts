import * as tfl from '@tensorflow/tfjs-layers';
import { QuantPlan, type ModelQuantConfig } from './model-quant-config';
import { QActivation } from './q-activation';
import { QConv2D } from './q-conv2d';
import { QDense } from './q-dense';
import { mobilenetv2 } from './mobilenetv2';

/** Input shape and classes of a zoo model. */
export interface ZooOptions {
  inputShape?: [number, number, number];
  numClasses?: number;
}

/**
 * LeNet-5 as in Relaxed Quantization (32C5-MP2-64C5-MP2-512FC-10, valid convolutions): every
 * layer's weights and every post-ReLU activation quantized (unless `keepFirstLastFloat`).
 */
export function lenet5(quant: ModelQuantConfig = {}, options: ZooOptions = {}): tfl.Sequential {
  const plan = new QuantPlan(quant);
  const { inputShape = [28, 28, 1], numClasses = 10 } = options;
  const model = tfl.sequential({
    name: 'lenet5',
    layers: [
      new QConv2D({ name: 'conv1', inputShape, filters: 32, kernelSize: 5, weightQuant: plan.weights('first', 'conv1'), kernelSeed: plan.kernelSeed() }),
      new QActivation({ name: 'act1', activationQuant: plan.activations('act1') }),
      tfl.layers.maxPooling2d({ name: 'pool1', poolSize: 2 }),
      new QConv2D({ name: 'conv2', filters: 64, kernelSize: 5, weightQuant: plan.weights('middle', 'conv2'), kernelSeed: plan.kernelSeed() }),
      new QActivation({ name: 'act2', activationQuant: plan.activations('act2') }),
      tfl.layers.maxPooling2d({ name: 'pool2', poolSize: 2 }),
      tfl.layers.flatten({ name: 'flatten' }),
      new QDense({ name: 'fc1', units: 512, weightQuant: plan.weights('middle', 'fc1'), kernelSeed: plan.kernelSeed() }),
      new QActivation({ name: 'act3', activationQuant: plan.activations('act3') }),
      new QDense({ name: 'fc2', units: numClasses, weightQuant: plan.weights('last', 'fc2'), kernelSeed: plan.kernelSeed() }),
    ],
  });
  plan.checkLayerBitsUsed();
  plan.attachBitBudget(model);
  return model;
}

/**
 * VGG-7 as in Relaxed Quantization (2x128C3-MP2-2x256C3-MP2-2x512C3-MP2-1024FC-10, same
 * padding), with float batch normalisation after every convolution (our choice: BN stays float
 * during training; it can be folded into the convolution at export).
 */
export function vgg7(quant: ModelQuantConfig = {}, options: ZooOptions = {}): tfl.Sequential {
  const plan = new QuantPlan(quant);
  const { inputShape = [32, 32, 3], numClasses = 10 } = options;
  const layers: tfl.layers.Layer[] = [];
  [128, 128, 256, 256, 512, 512].forEach((filters, i) => {
    const n = i + 1;
    layers.push(
      new QConv2D({ name: `conv${n}`, ...(i === 0 ? { inputShape } : {}), filters, kernelSize: 3, padding: 'same', useBias: false, weightQuant: plan.weights(i === 0 ? 'first' : 'middle', `conv${n}`), kernelSeed: plan.kernelSeed() }),
      tfl.layers.batchNormalization({ name: `bn${n}` }),
      new QActivation({ name: `act${n}`, activationQuant: plan.activations(`act${n}`) }),
    );
    if (i % 2 === 1) layers.push(tfl.layers.maxPooling2d({ name: `pool${n / 2}`, poolSize: 2 }));
  });
  layers.push(
    tfl.layers.flatten({ name: 'flatten' }),
    new QDense({ name: 'fc1', units: 1024, weightQuant: plan.weights('middle', 'fc1'), kernelSeed: plan.kernelSeed() }),
    new QActivation({ name: 'act7', activationQuant: plan.activations('act7') }),
    new QDense({ name: 'fc2', units: numClasses, weightQuant: plan.weights('last', 'fc2'), kernelSeed: plan.kernelSeed() }),
  );
  plan.checkLayerBitsUsed();
  const model = tfl.sequential({ name: 'vgg7', layers });
  plan.attachBitBudget(model);
  return model;
}

/**
 * ResNet-20 for CIFAR (He et al. 2016: 16-32-64 channels, 3 stages of 3 basic blocks, global
 * average pooling), with 1×1 projection shortcuts where the shape changes, float batch
 * normalisation, and a quantized activation after every ReLU.
 */
export function resnet20(quant: ModelQuantConfig = {}, options: ZooOptions = {}): tfl.LayersModel {
  const plan = new QuantPlan(quant);
  const { inputShape = [32, 32, 3], numClasses = 10 } = options;
  const input = tfl.input({ shape: inputShape, name: 'image' });
  const conv = (x: tfl.SymbolicTensor, name: string, filters: number, strides: number, kernelSize = 3, position: 'first' | 'middle' = 'middle') =>
    tfl.layers.batchNormalization({ name: `${name}_bn` }).apply(
      new QConv2D({ name, filters, kernelSize, strides, padding: 'same', useBias: false, weightQuant: plan.weights(position, name), kernelSeed: plan.kernelSeed() }).apply(x),
    ) as tfl.SymbolicTensor;
  const act = (x: tfl.SymbolicTensor, name: string) => new QActivation({ name, activationQuant: plan.activations(name) }).apply(x) as tfl.SymbolicTensor;
  let x = act(conv(input, 'conv0', 16, 1, 3, 'first'), 'act0');
  let channels = 16;
  [16, 32, 64].forEach((filters, stage) => {
    for (let block = 0; block < 3; block++) {
      const strides = stage > 0 && block === 0 ? 2 : 1;
      const name = `s${stage + 1}b${block + 1}`;
      const y = conv(act(conv(x, `${name}_conv1`, filters, strides), `${name}_act1`), `${name}_conv2`, filters, 1);
      const shortcut = strides !== 1 || channels !== filters ? conv(x, `${name}_proj`, filters, strides, 1) : x;
      x = act(tfl.layers.add({ name: `${name}_add` }).apply([y, shortcut]) as tfl.SymbolicTensor, `${name}_act2`);
      channels = filters;
    }
  });
  const pooled = tfl.layers.globalAveragePooling2d({ name: 'pool' }).apply(x) as tfl.SymbolicTensor;
  const logits = new QDense({ name: 'fc', units: numClasses, weightQuant: plan.weights('last', 'fc'), kernelSeed: plan.kernelSeed() }).apply(pooled) as tfl.SymbolicTensor;
  plan.checkLayerBitsUsed();
  const model = tfl.model({ name: 'resnet20', inputs: input, outputs: logits });
  plan.attachBitBudget(model);
  return model;
}

/** The zoo by name. */
export const ZOO = { lenet5, vgg7, resnet20, mobilenetv2 } as const;
/** A zoo model name. */
export type ZooName = keyof typeof ZOO;
