import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { SrqError } from '@srq/quantizers';
import { activationMax, activationName, defaultActivationQuant, type ActivationOptions, type ActivationQuantKind } from './activations';
import { BN_FREEZE_AFTER, type BatchNormFoldConfig } from './batch-norm-fold';
import { QuantPlan, type ModelQuantConfig } from './model-quant-config';
import { QActivation } from './q-activation';
import { QConv2D } from './q-conv2d';
import { QDense } from './q-dense';
import { QDepthwiseConv2D } from './q-depthwise-conv2d';
import { QConv1D } from './q-conv1d';
import { QConv2DTranspose } from './q-conv2d-transpose';
import { QEmbedding } from './q-embedding';
import { modelGraph, rebuildModel, type ModelGraph } from './model-graph';

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
  /**
   * Fold every BatchNormalization that directly follows a Conv2D, DepthwiseConv2D,
   * SeparableConv2D or Dense layer without activation into that layer (default true): the
   * quantizer sees the folded kernel, as integer inference will run it (see `FoldedBatchNorm`).
   * A BN that cannot be folded stays a float layer.
   */
  foldBatchNorm?: boolean;
  /** Training steps that fold with the batch's statistics before they freeze (default {@link BN_FREEZE_AFTER}). */
  batchNormFreezeAfter?: number;
}

/** The model has layers {@link quantizeModel} cannot rebuild; `fields.layers` lists them all. */
export class UnsupportedLayerError extends SrqError {
  constructor(layers: string[]) {
    super(
      'UNSUPPORTED_LAYERS',
      `quantizeModel cannot rebuild ${layers.length === 1 ? 'this layer' : 'these layers'}: ${layers.join(', ')} (supported: Conv1D, Conv2D, Conv2DTranspose, DepthwiseConv2D, SeparableConv2D, Dense, Embedding, activations, and weight-free layers).`,
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
const WEIGHT_LAYERS = new Set(['Conv1D', 'Conv2D', 'Conv2DTranspose', 'DepthwiseConv2D', 'SeparableConv2D', 'Dense', 'Embedding']);

interface Replacement {
  layers: tfl.layers.Layer[];
  /** Copies the original's weights into the new layers (after they are built). */
  copy: () => void;
}

/**
 * Sets weights of a new quantized `layer` by their names (`kernel`, `bias`, `gamma`, …) from the
 * original layer's weights, which tfjs lists trainable first: positions differ once quantizer and
 * batch-norm weights are added.
 */
function copyInto(layer: tfl.layers.Layer, names: string[], weights: tf.Tensor[]): void {
  names.forEach((name, i) => {
    const target = layer.weights.find((w) => w.originalName.slice(w.originalName.lastIndexOf('/') + 1) === name);
    if (!target) throw new Error(`quantizeModel: ${layer.name} has no weight ${name}`);
    target.write(weights[i]!);
  });
}

/** Names of a conv / dense layer's own weights in tfjs' order. */
const own = (useBias: boolean) => (useBias ? ['kernel', 'bias'] : ['kernel']);
const BN_WEIGHTS = ['gamma', 'beta', 'moving_mean', 'moving_variance'];

/** What is wrong with a convolution config for quantizeModel, or null. */
function convProblem(cls: string, c: { padding: string; dataFormat: string; dilationRate: number | number[] }): string | null {
  if (c.dataFormat !== undefined && c.dataFormat !== 'channelsLast') return `${cls} channels-first`;
  if ([c.dilationRate ?? 1].flat().some((d) => d !== 1)) return `${cls} dilated`;
  if (c.padding !== 'valid' && c.padding !== 'same') return `${cls} padding ${c.padding}`;
  return null;
}

/**
 * Weight layers (by name), each called once, whose output feeds only a BatchNormalization over
 * the last axis, itself called once, and that apply no activation of their own: the BN can be
 * folded into them.
 */
function foldableBatchNorms(graph: ModelGraph): Map<string, tfl.layers.Layer> {
  const folds = new Map<string, tfl.layers.Layer>();
  for (const layer of graph.layers) {
    if (!WEIGHT_LAYERS.has(layer.getClassName()) || layer.getClassName() === 'Embedding' || graph.uses.get(layer) !== 1) continue;
    if (activationName((layer.getConfig() as { activation?: string }).activation ?? 'linear') !== 'linear') continue;
    const readers = graph.readers.get(layer) ?? [];
    const bn = readers[0];
    if (readers.length !== 1 || !bn || bn.getClassName() !== 'BatchNormalization' || graph.uses.get(bn) !== 1) continue;
    const axis = (bn.getConfig() as { axis: number }).axis;
    const rank = layer.outputShape.length as number;
    if (axis !== -1 && axis !== rank - 1) continue;
    folds.set(layer.name, bn);
  }
  return folds;
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
 * weight-free layers are cloned with their weights; a BatchNormalization right after a weight
 * layer is folded into it (`foldBatchNorm`), others are cloned (float). `overrides` skips
 * layers or sets their bits or activation quantizer; `keepFirstLastFloat` keeps the first and last
 * weight layers float. A layer called more than once (shared) is replaced once, and the
 * replacement is called in each place, so the calls still share weights and quantizers. A nested
 * model (a Sequential inside a functional model, say) is quantized recursively and inlined: its
 * layers join the quantized model under their own names, so `overrides`, `modelReport` and
 * `exportPacked` see them like any other.
 *
 * @throws {@link UnsupportedLayerError} listing every layer it cannot rebuild (other layer types,
 *   channels-first or dilated convolutions)
 * @example
 * ```ts
 * const q = quantizeModel(myModel, { method: 'srq', weightBits: 2, activationBits: 2, overrides: { logits: { weightBits: 8 } } });
 * ```
 */
export function quantizeModel(model: tfl.LayersModel, config: QuantizeModelConfig = {}): tfl.LayersModel {
  const graph = modelGraph(model);
  const folds = config.foldBatchNorm === false ? new Map<string, tfl.layers.Layer>() : foldableBatchNorms(graph);
  const foldedBn = new Set([...folds.values()].map((bn) => bn.name));
  /** The folded BN of weight layer `name`: its config and its weights in QWeightLayer order (γ, β, moving mean, moving variance). */
  const foldOf = (name: string): { batchNorm: BatchNormFoldConfig; weights: tf.Tensor[] } | null => {
    const bn = folds.get(name);
    if (!bn) return null;
    const c = bn.getConfig() as { epsilon: number; momentum: number; scale: boolean; center: boolean };
    const w = bn.getWeights();
    const channels = w.at(-1)!.shape[0]!;
    const gamma = c.scale ? w.shift()! : tf.ones([channels]);
    const beta = c.center ? w.shift()! : tf.zeros([channels]);
    return { batchNorm: { epsilon: c.epsilon, momentum: c.momentum, freezeAfter: config.batchNormFreezeAfter ?? BN_FREEZE_AFTER }, weights: [gamma, beta, w[0]!, w[1]!] };
  };
  const weightLayers = graph.layers.filter((l) => WEIGHT_LAYERS.has(l.getClassName()));
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
  const activation = (owner: string, name: string, fn: string, options: ActivationOptions = {}, kindByDefault = defaultActivationQuant(fn)): QActivation[] => {
    const kind = config.overrides?.[owner]?.activationQuant ?? kindByDefault;
    if (fn === 'linear' && kind === 'none') return [];
    const plan = planFor(owner);
    const activationQuant = kind === 'none' ? null : plan.activations(name, { signed: kind === 'signed', initMax: kind === 'unsigned' ? activationMax(fn, options) : null });
    return [new QActivation({ name, activation: fn, ...options, activationQuant })];
  };

  const replace = (layer: tfl.layers.Layer): Replacement | null => {
    const cls = layer.getClassName();
    const plan = planFor(layer.name);
    const position = layer.name === first ? 'first' : layer.name === last ? 'last' : 'middle';
    const c = layer.getConfig() as Record<string, unknown> & { activation?: string; useBias: boolean; padding: 'valid' | 'same'; dataFormat: string; dilationRate: number | number[] };
    const weights = layer.getWeights();
    if (WEIGHT_LAYERS.has(cls)) {
      const problem = cls === 'Dense' ? null : cls === 'Embedding' ? (c.maskZero ? 'Embedding with maskZero' : null) : convProblem(cls, c);
      if (problem) {
        unsupported.push(`${layer.name} (${problem})`);
        return null;
      }
      const fn = activationName(c.activation ?? 'linear');
      const after = activation(layer.name, `${layer.name}_act`, fn);
      // without an activation quantizer, the function stays in the layer (e.g. a softmax output)
      const fused = after.length ? 'linear' : fn;
      const conv = { kernelSize: c.kernelSize as [number, number], strides: c.strides as [number, number], padding: c.padding };
      const fold = foldOf(layer.name);
      const bn = fold ? { batchNorm: fold.batchNorm } : {};
      /** Copies the layer's own weights (and the folded BN's) into its replacement, by name. */
      const copyOwn = (q: tfl.layers.Layer, skip = 0) => () => copyInto(q, [...own(c.useBias), ...(fold ? BN_WEIGHTS : [])], [...weights.slice(skip), ...(fold?.weights ?? [])]);
      if (cls === 'Conv2D') {
        const q = new QConv2D({ name: layer.name, filters: c.filters as number, ...conv, useBias: c.useBias, activation: fused, weightQuant: plan.weights(position, layer.name), ...bn });
        return { layers: [q, ...after], copy: copyOwn(q) };
      }
      if (cls === 'Conv1D') {
        const q = new QConv1D({ name: layer.name, filters: c.filters as number, kernelSize: [c.kernelSize].flat()[0] as number, strides: [c.strides].flat()[0] as number, padding: c.padding, useBias: c.useBias, activation: fused, weightQuant: plan.weights(position, layer.name), ...bn });
        return { layers: [q, ...after], copy: copyOwn(q) };
      }
      if (cls === 'Conv2DTranspose') {
        const q = new QConv2DTranspose({ name: layer.name, filters: c.filters as number, ...conv, useBias: c.useBias, activation: fused, weightQuant: plan.weights(position, layer.name, config.perChannel ? 2 : undefined), ...bn });
        return { layers: [q, ...after], copy: copyOwn(q) };
      }
      if (cls === 'Embedding') {
        const q = new QEmbedding({ name: layer.name, inputDim: c.inputDim as number, outputDim: c.outputDim as number, weightQuant: plan.weights(position, layer.name) });
        return { layers: [q], copy: () => copyInto(q, ['kernel'], weights) };
      }
      if (cls === 'DepthwiseConv2D') {
        const q = new QDepthwiseConv2D({ name: layer.name, depthMultiplier: c.depthMultiplier as number, ...conv, useBias: c.useBias, activation: fused, weightQuant: plan.weights(position, layer.name, 2), ...bn });
        return { layers: [q, ...after], copy: copyOwn(q) };
      }
      if (cls === 'SeparableConv2D') {
        // depthwise then pointwise, as tf.separableConv2d computes it; both kernels quantized, a BN folds into the pointwise one
        const dw = new QDepthwiseConv2D({ name: `${layer.name}_depthwise`, depthMultiplier: c.depthMultiplier as number, ...conv, useBias: false, weightQuant: plan.weights(position === 'first' ? 'first' : 'middle', `${layer.name}_depthwise`, 2) });
        const pw = new QConv2D({ name: layer.name, filters: c.filters as number, kernelSize: 1, useBias: c.useBias, activation: fused, weightQuant: plan.weights(position === 'last' ? 'last' : 'middle', layer.name), ...bn });
        return { layers: [dw, pw, ...after], copy: () => (copyInto(dw, ['kernel'], [weights[0]!]), copyOwn(pw, 1)()) };
      }
      const q = new QDense({ name: layer.name, units: c.units as number, useBias: c.useBias, activation: fused, weightQuant: plan.weights(position, layer.name), ...bn });
      return { layers: [q, ...after], copy: copyOwn(q) };
    }
    if (foldedBn.has(layer.name)) return { layers: [], copy: () => undefined }; // folded into the layer before it
    if (cls === 'Activation') return { layers: activation(layer.name, layer.name, activationName(c.activation ?? 'linear')), copy: () => undefined };
    if (cls === 'ReLU') return { layers: activation(layer.name, layer.name, 'relu', { maxValue: (c.maxValue as number | null | undefined) ?? null }), copy: () => undefined };
    if (cls === 'LeakyReLU') return { layers: activation(layer.name, layer.name, 'leaky_relu', { alpha: c.alpha as number }), copy: () => undefined };
    if (cls === 'ELU') return { layers: activation(layer.name, layer.name, 'elu', { alpha: c.alpha as number }), copy: () => undefined };
    if (CLONED.has(cls) || cls === 'PReLU') {
      const [ctor, fromConfig] = tf.serialization.SerializationMap.getMap().classNameMap[cls]!;
      const clone = fromConfig(ctor, layer.getConfig()) as unknown as tfl.layers.Layer;
      // PReLU has learned slopes: kept float, its output quantized on a signed grid
      const after = cls === 'PReLU' ? activation(layer.name, `${layer.name}_act`, 'linear', {}, 'signed') : [];
      return { layers: [clone, ...after], copy: () => weights.length && clone.setWeights(weights) };
    }
    unsupported.push(`${layer.name} (${cls})`);
    return null;
  };

  const replacements = new Map(graph.layers.map((l) => [l, replace(l)] as const));
  if (unsupported.length) throw new UnsupportedLayerError(unsupported);
  const modelPlan = new QuantPlan(config);
  modelPlan.checkLayerBitsUsed([...plans.values()].flatMap((p) => p.tensorsSeen));

  const copied = new Set<Replacement>();
  const quantized = rebuildModel(model, `${model.name}_quantized`, (layer) => replacements.get(layer)!.layers, (layer) => {
    const r = replacements.get(layer)!;
    if (!copied.has(r)) {
      r.copy();
      copied.add(r);
    }
  });
  modelPlan.attachBitBudget(quantized);
  return quantized;
}
