import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { SrqError } from '@srq/quantizers';
import { activationMax, activationName, defaultActivationQuant, type ActivationOptions, type ActivationQuantKind } from './activations';
import { QuantPlan, type ModelQuantConfig } from './model-quant-config';
import { QActivation } from './q-activation';
import { QConv2D } from './q-conv2d';
import { QDense } from './q-dense';
import { QDepthwiseConv2D } from './q-depthwise-conv2d';

/** Per-layer choices of {@link quantizeModel}, by layer name. */
export interface LayerOverride {
  /** Keep this layer float (weights and activation). */
  skip?: boolean;
  weightBits?: number;
  activationBits?: number;
  /**
   * How the layer's output is quantized: `'unsigned'` (after ReLU-like functions), `'signed'`, or
   * `'none'` (float). Default by its activation: see `defaultActivationQuant`.
   */
  activationQuant?: ActivationQuantKind;
}

/** Options of {@link quantizeModel}: the model quantization plus per-layer overrides. */
export interface QuantizeModelConfig extends ModelQuantConfig {
  overrides?: Record<string, LayerOverride>;
}

/** The model has layers {@link quantizeModel} cannot rebuild; `fields.layers` lists them all. */
export class UnsupportedLayerError extends SrqError {
  constructor(layers: string[]) {
    super(
      'UNSUPPORTED_LAYERS',
      `quantizeModel cannot rebuild ${layers.length === 1 ? 'this layer' : 'these layers'}: ${layers.join(', ')} (supported: Conv2D, DepthwiseConv2D, SeparableConv2D, Dense on 2-D inputs, activations, and weight-free layers, each used once).`,
      { layers },
    );
  }
}

/** Weight-free (or float-kept) layer classes that are cloned as they are. */
const CLONED = new Set([
  'InputLayer', 'MaxPooling2D', 'AveragePooling2D', 'GlobalAveragePooling2D', 'GlobalMaxPooling2D', 'Flatten', 'Reshape',
  'Dropout', 'SpatialDropout1D', 'SpatialDropout2D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout', 'BatchNormalization', 'LayerNormalization',
  'Add', 'Subtract', 'Concatenate', 'Multiply', 'Average', 'Maximum', 'Minimum', 'ZeroPadding2D', 'Cropping2D', 'UpSampling2D', 'Permute', 'RepeatVector', 'Softmax',
]);

/** Layers with a kernel that quantizeModel quantizes. */
const WEIGHT_LAYERS = new Set(['Conv2D', 'DepthwiseConv2D', 'SeparableConv2D', 'Dense']);

interface Replacement {
  layers: tfl.layers.Layer[];
  /** Copies the original's weights into the new layers (after they are built). */
  copy: () => void;
}

/** Sets `layer`'s leading weights to `weights`, keeping its own (quantizer parameters) after them. */
function copyInto(layer: tfl.layers.Layer, weights: tf.Tensor[]): void {
  layer.setWeights([...weights, ...layer.getWeights().slice(weights.length)]);
}

/** What is wrong with a convolution config for quantizeModel, or null. */
function convProblem(cls: string, c: { padding: string; dataFormat: string; dilationRate: number | number[] }): string | null {
  if (c.dataFormat !== 'channelsLast') return `${cls} channels-first`;
  if ([c.dilationRate].flat().some((d) => d !== 1)) return `${cls} dilated`;
  if (c.padding !== 'valid' && c.padding !== 'same') return `${cls} padding ${c.padding}`;
  return null;
}

/**
 * Rebuilds a Sequential or functional tfjs-layers model for quantization-aware training: Conv2D,
 * DepthwiseConv2D, SeparableConv2D and Dense layers become {@link QConv2D} /
 * {@link QDepthwiseConv2D} (one step per channel along the depth) / a QDepthwiseConv2D followed by
 * a 1×1 QConv2D / {@link QDense}, with their weights copied and their kernels quantized; every
 * activation — fused into a layer or an Activation, ReLU (with `maxValue`), LeakyReLU, ELU or
 * PReLU layer — is followed by an activation quantizer whose kind follows the function (see
 * `defaultActivationQuant`: unsigned after ReLU, ReLU6 and sigmoid, spanning their range where it
 * is bounded; none after softmax and after a linear map; signed after the others). Other
 * weight-free layers and batch normalisation are cloned with their weights. `overrides` skips
 * layers or sets their bits or activation quantizer; `keepFirstLastFloat` keeps the first and last
 * weight layers float.
 *
 * @throws {@link UnsupportedLayerError} listing every layer it cannot rebuild (other layer types,
 *   layers used more than once, nested models, channels-first or dilated convolutions, Dense on
 *   inputs of rank above 2)
 * @example
 * ```ts
 * const q = quantizeModel(myModel, { method: 'srq', weightBits: 2, activationBits: 2, overrides: { logits: { weightBits: 8 } } });
 * ```
 */
export function quantizeModel(model: tfl.LayersModel, config: QuantizeModelConfig = {}): tfl.LayersModel {
  const weightLayers = model.layers.filter((l) => WEIGHT_LAYERS.has(l.getClassName()));
  const first = weightLayers[0]?.name;
  const last = weightLayers.at(-1)?.name;
  const unsupported: string[] = [];
  const plans = new Map<string, QuantPlan>();
  const planFor = (name: string) => {
    const o = config.overrides?.[name] ?? {};
    const key = JSON.stringify({ ...o, activationQuant: undefined });
    if (!plans.has(key)) plans.set(key, new QuantPlan({ ...config, ...(o.weightBits ? { weightBits: o.weightBits } : {}), ...(o.activationBits ? { activationBits: o.activationBits } : {}), ...(o.skip ? { method: 'fp' } : {}) }));
    return plans.get(key)!;
  };
  /** The QActivation after (or in place of) layer `owner`: function `fn`, its quantizer by kind; none when neither is needed. */
  const activation = (owner: string, name: string, fn: string, options: ActivationOptions = {}): QActivation[] => {
    const kind = config.overrides?.[owner]?.activationQuant ?? defaultActivationQuant(fn);
    if (fn === 'linear' && kind === 'none') return [];
    const plan = planFor(owner);
    const activationQuant = kind === 'none' ? null : plan.activations(name, { signed: kind === 'signed', initMax: kind === 'unsigned' ? activationMax(fn, options) : null });
    return [new QActivation({ name, activation: fn, ...options, activationQuant })];
  };

  const replace = (layer: tfl.layers.Layer): Replacement | null => {
    const cls = layer.getClassName();
    if (layer instanceof tfl.LayersModel) {
      unsupported.push(`${layer.name} (nested ${cls} model)`);
      return null;
    }
    if (layer.inboundNodes.length > 1) {
      unsupported.push(`${layer.name} (${cls}, used ${layer.inboundNodes.length} times)`);
      return null;
    }
    const plan = planFor(layer.name);
    const position = layer.name === first ? 'first' : layer.name === last ? 'last' : 'middle';
    const c = layer.getConfig() as Record<string, unknown> & { activation?: string; useBias: boolean; padding: 'valid' | 'same'; dataFormat: string; dilationRate: number | number[] };
    const weights = layer.getWeights();
    if (WEIGHT_LAYERS.has(cls)) {
      const problem = cls === 'Dense' ? null : convProblem(cls, c);
      if (problem) {
        unsupported.push(`${layer.name} (${problem})`);
        return null;
      }
      const fn = activationName(c.activation ?? 'linear');
      const after = activation(layer.name, `${layer.name}_act`, fn);
      // without an activation quantizer, the function stays in the layer (e.g. a softmax output)
      const fused = after.length ? 'linear' : fn;
      const conv = { kernelSize: c.kernelSize as [number, number], strides: c.strides as [number, number], padding: c.padding };
      if (cls === 'Conv2D') {
        const q = new QConv2D({ name: layer.name, filters: c.filters as number, ...conv, useBias: c.useBias, activation: fused, weightQuant: plan.weights(position, layer.name) });
        return { layers: [q, ...after], copy: () => copyInto(q, weights) };
      }
      if (cls === 'DepthwiseConv2D') {
        const q = new QDepthwiseConv2D({ name: layer.name, depthMultiplier: c.depthMultiplier as number, ...conv, useBias: c.useBias, activation: fused, weightQuant: plan.weights(position, layer.name, 2) });
        return { layers: [q, ...after], copy: () => copyInto(q, weights) };
      }
      if (cls === 'SeparableConv2D') {
        // depthwise then pointwise, as tf.separableConv2d computes it; both kernels quantized
        const dw = new QDepthwiseConv2D({ name: `${layer.name}_depthwise`, depthMultiplier: c.depthMultiplier as number, ...conv, useBias: false, weightQuant: plan.weights(position === 'first' ? 'first' : 'middle', `${layer.name}_depthwise`, 2) });
        const pw = new QConv2D({ name: layer.name, filters: c.filters as number, kernelSize: 1, useBias: c.useBias, activation: fused, weightQuant: plan.weights(position === 'last' ? 'last' : 'middle', layer.name) });
        return { layers: [dw, pw, ...after], copy: () => (copyInto(dw, [weights[0]!]), copyInto(pw, weights.slice(1))) };
      }
      const rank = layer.inboundNodes[0]?.inputTensors[0]?.shape.length;
      if (rank !== 2) {
        unsupported.push(`${layer.name} (Dense on inputs of rank ${rank})`);
        return null;
      }
      const q = new QDense({ name: layer.name, units: c.units as number, useBias: c.useBias, activation: fused, weightQuant: plan.weights(position, layer.name) });
      return { layers: [q, ...after], copy: () => copyInto(q, weights) };
    }
    if (cls === 'Activation') return { layers: activation(layer.name, layer.name, activationName(c.activation ?? 'linear')), copy: () => undefined };
    if (cls === 'ReLU') return { layers: activation(layer.name, layer.name, 'relu', { maxValue: (c.maxValue as number | null | undefined) ?? null }), copy: () => undefined };
    if (cls === 'LeakyReLU') return { layers: activation(layer.name, layer.name, 'leaky_relu', { alpha: c.alpha as number }), copy: () => undefined };
    if (cls === 'ELU') return { layers: activation(layer.name, layer.name, 'elu', { alpha: c.alpha as number }), copy: () => undefined };
    if (CLONED.has(cls) || cls === 'PReLU') {
      const [ctor, fromConfig] = tf.serialization.SerializationMap.getMap().classNameMap[cls]!;
      const clone = fromConfig(ctor, layer.getConfig()) as unknown as tfl.layers.Layer;
      // PReLU has learned slopes: kept float, its output quantized on a signed grid
      const after = cls === 'PReLU' ? signedAfter(layer.name) : [];
      return { layers: [clone, ...after], copy: () => weights.length && clone.setWeights(weights) };
    }
    unsupported.push(`${layer.name} (${cls})`);
    return null;
  };
  /** The signed activation quantizer after a PReLU (its slopes are learned: no fixed function). */
  const signedAfter = (owner: string): QActivation[] => {
    const kind = config.overrides?.[owner]?.activationQuant ?? 'signed';
    if (kind === 'none') return [];
    return [new QActivation({ name: `${owner}_act`, activation: 'linear', activationQuant: planFor(owner).activations(`${owner}_act`, { signed: kind === 'signed' }) })];
  };

  const replacements = new Map(model.layers.filter((l) => l.getClassName() !== 'InputLayer').map((l) => [l.name, replace(l)] as const));
  if (unsupported.length) throw new UnsupportedLayerError(unsupported);
  const modelPlan = new QuantPlan(config);
  modelPlan.checkLayerBitsUsed([...plans.values()].flatMap((p) => p.tensorsSeen));

  const mapped = new Map<tfl.SymbolicTensor, tfl.SymbolicTensor>();
  const inputs = model.inputs.map((t) => {
    const input = tfl.input({ shape: t.shape.slice(1) as number[], name: t.sourceLayer.name });
    mapped.set(t, input);
    return input;
  });
  for (const layer of model.layers) {
    const r = replacements.get(layer.name);
    if (!r) continue;
    const node = layer.inboundNodes[0]!;
    const ins = node.inputTensors.map((t) => mapped.get(t)!);
    let out = (r.layers.length ? r.layers[0]!.apply(ins.length === 1 ? ins[0]! : ins) : ins[0]!) as tfl.SymbolicTensor;
    for (const next of r.layers.slice(1)) out = next.apply(out) as tfl.SymbolicTensor;
    node.outputTensors.forEach((t) => mapped.set(t, out));
    r.copy();
  }
  const quantized = tfl.model({ name: `${model.name}_quantized`, inputs, outputs: model.outputs.map((t) => mapped.get(t)!) });
  modelPlan.attachBitBudget(quantized);
  return quantized;
}
