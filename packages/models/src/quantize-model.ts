import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { SrqError } from '@srq/quantizers';
import { QuantPlan, type ModelQuantConfig } from './model-quant-config';
import { QActivation } from './q-activation';
import { QConv2D } from './q-conv2d';
import { QDense } from './q-dense';

/** Per-layer choices of {@link quantizeModel}, by layer name. */
export interface LayerOverride {
  /** Keep this layer float (weights and activation). */
  skip?: boolean;
  weightBits?: number;
  activationBits?: number;
}

/** Options of {@link quantizeModel}: the model quantization plus per-layer overrides. */
export interface QuantizeModelConfig extends ModelQuantConfig {
  overrides?: Record<string, LayerOverride>;
}

/** The model has layers {@link quantizeModel} cannot rebuild; `fields.layers` lists them all. */
export class UnsupportedLayerError extends SrqError {
  constructor(layers: string[]) {
    super('UNSUPPORTED_LAYERS', `quantizeModel cannot rebuild ${layers.length === 1 ? 'this layer' : 'these layers'}: ${layers.join(', ')} (supported: Conv2D, Dense and weight-free layers, each used once).`, { layers });
  }
}

/** Weight-free (or float-kept) layer classes that are cloned as they are. */
const CLONED = new Set([
  'InputLayer', 'MaxPooling2D', 'AveragePooling2D', 'GlobalAveragePooling2D', 'GlobalMaxPooling2D', 'Flatten', 'Reshape',
  'Dropout', 'BatchNormalization', 'Add', 'Concatenate', 'Multiply', 'Average', 'ZeroPadding2D', 'Cropping2D', 'Permute', 'Softmax',
]);

interface Replacement {
  layers: tfl.layers.Layer[];
  /** Copies the original's weights into the new layers (after they are built). */
  copy: () => void;
}

function activationOf(layer: tfl.layers.Layer): string {
  const config = layer.getConfig() as { activation?: string };
  return config.activation ?? 'linear';
}

/**
 * Rebuilds a Sequential or functional tfjs-layers model with its Conv2D and Dense layers replaced
 * by {@link QConv2D} / {@link QDense} (weights copied) and their ReLU activations (fused or as
 * Activation / ReLU layers) by {@link QActivation}; other weight-free layers and batch
 * normalisation are cloned with their weights. `overrides` skips layers or sets their bits;
 * `keepFirstLastFloat` keeps the first and last weight layers float.
 *
 * @throws {@link UnsupportedLayerError} listing every layer it cannot rebuild (other layer types,
 *   non-ReLU activations, layers used more than once, channels-first or dilated convolutions)
 * @example
 * ```ts
 * const q = quantizeModel(myModel, { method: 'srq', weightBits: 2, activationBits: 2, overrides: { logits: { weightBits: 8 } } });
 * ```
 */
export function quantizeModel(model: tfl.LayersModel, config: QuantizeModelConfig = {}): tfl.LayersModel {
  const weightLayers = model.layers.filter((l) => ['Conv2D', 'Dense'].includes(l.getClassName()));
  const first = weightLayers[0]?.name;
  const last = weightLayers.at(-1)?.name;
  const unsupported: string[] = [];
  const plans = new Map<string, QuantPlan>();
  const planFor = (name: string) => {
    const o = config.overrides?.[name] ?? {};
    const key = JSON.stringify(o);
    if (!plans.has(key)) plans.set(key, new QuantPlan({ ...config, ...(o.weightBits ? { weightBits: o.weightBits } : {}), ...(o.activationBits ? { activationBits: o.activationBits } : {}), ...(o.skip ? { method: 'fp' } : {}) }));
    return plans.get(key)!;
  };

  const replace = (layer: tfl.layers.Layer): Replacement | null => {
    const cls = layer.getClassName();
    if (layer.inboundNodes.length > 1) {
      unsupported.push(`${layer.name} (${cls}, used ${layer.inboundNodes.length} times)`);
      return null;
    }
    const plan = planFor(layer.name);
    const position = layer.name === first ? 'first' : layer.name === last ? 'last' : 'middle';
    const act = activationOf(layer);
    if ((cls === 'Conv2D' || cls === 'Dense') && act !== 'linear' && act !== 'relu') {
      unsupported.push(`${layer.name} (${cls} with activation ${act})`);
      return null;
    }
    const activation = act === 'relu' ? [new QActivation({ name: `${layer.name}_act`, activationQuant: plan.activations(`${layer.name}_act`) })] : [];
    const weights = layer.getWeights();
    if (cls === 'Conv2D') {
      const c = layer.getConfig() as { filters: number; kernelSize: number[]; strides: number[]; padding: string; useBias: boolean; dataFormat: string; dilationRate: number | number[] };
      const dilated = [c.dilationRate].flat().some((d) => d !== 1);
      if (c.dataFormat !== 'channelsLast' || dilated || (c.padding !== 'valid' && c.padding !== 'same')) {
        unsupported.push(`${layer.name} (Conv2D ${c.dataFormat !== 'channelsLast' ? 'channels-first' : dilated ? 'dilated' : `padding ${c.padding}`})`);
        return null;
      }
      const q = new QConv2D({ name: layer.name, filters: c.filters, kernelSize: c.kernelSize as [number, number], strides: c.strides as [number, number], padding: c.padding as 'valid' | 'same', useBias: c.useBias, weightQuant: plan.weights(position, layer.name) });
      return { layers: [q, ...activation], copy: () => q.setWeights([...weights, ...q.getWeights().slice(weights.length)]) };
    }
    if (cls === 'Dense') {
      const c = layer.getConfig() as { units: number; useBias: boolean };
      const q = new QDense({ name: layer.name, units: c.units, useBias: c.useBias, weightQuant: plan.weights(position, layer.name) });
      return { layers: [q, ...activation], copy: () => q.setWeights([...weights, ...q.getWeights().slice(weights.length)]) };
    }
    if ((cls === 'Activation' && act === 'relu') || (cls === 'ReLU' && !(layer.getConfig() as { maxValue?: number }).maxValue)) {
      return { layers: [new QActivation({ name: layer.name, activationQuant: plan.activations(layer.name) })], copy: () => undefined };
    }
    if (CLONED.has(cls)) {
      const [ctor, fromConfig] = tf.serialization.SerializationMap.getMap().classNameMap[cls]!;
      const clone = fromConfig(ctor, layer.getConfig()) as unknown as tfl.layers.Layer;
      return { layers: [clone], copy: () => weights.length && clone.setWeights(weights) };
    }
    unsupported.push(`${layer.name} (${cls})`);
    return null;
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
    let out = r.layers[0]!.apply(ins.length === 1 ? ins[0]! : ins) as tfl.SymbolicTensor;
    for (const next of r.layers.slice(1)) out = next.apply(out) as tfl.SymbolicTensor;
    node.outputTensors.forEach((t) => mapped.set(t, out));
    r.copy();
  }
  const quantized = tfl.model({ name: `${model.name}_quantized`, inputs, outputs: model.outputs.map((t) => mapped.get(t)!) });
  modelPlan.attachBitBudget(quantized);
  return quantized;
}
