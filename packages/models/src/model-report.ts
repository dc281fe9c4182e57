import * as tfl from '@tensorflow/tfjs-layers';
import type { QuantSlot } from './quant-slot';

/** One quantized tensor of a model. */
export interface QuantizedTensorReport {
  layer: string;
  /** `'weights'` or `'activations'`. */
  tensor: 'weights' | 'activations';
  method: string;
  nominalBits: number;
  learnedBits: number;
  /** Elements (weights only; 0 for activations). */
  elements: number;
  /** The learned step α of the nominal grid: one value, or one per channel. */
  alpha: number[];
  /** The learned noise scale σ/α of the relaxed methods (layout of `alpha`); null for `ste`. */
  sigmaRatio: number[] | null;
}

/** Compute of one convolution or dense layer for one image. */
export interface LayerCompute {
  layer: string;
  /** Multiply-accumulates per image. */
  macs: number;
  /** Bits of the weights and of the layer's input. */
  weightBits: number;
  inputBits: number;
  /** Bit operations per image: macs · weightBits · inputBits. */
  bops: number;
}

/** Bits per layer, model size and compute of a (quantized) model. */
export interface ModelReport {
  quantized: QuantizedTensorReport[];
  /** Bytes of the weights stored at their bits (quantized kernels packed; every other weight float32). */
  modelBytes: number;
  /** Bytes of the same weights all in float32. */
  floatBytes: number;
  /** Learned bits per quantized tensor, keyed `layer/weights` or `layer/activations`. */
  bits: Record<string, number>;
  /** Per convolution / dense layer. */
  compute: LayerCompute[];
  /** Bit operations per image over all convolution and dense layers. */
  bopsPerImage: number;
  /** Mean of the learned bits over the quantized tensors (each weight and activation tensor counts once; 32 for a float model). */
  averageBits: number;
}

/** Bits of the network's input (pixels) in a quantized model's BOPs; a float model counts 32. */
export const INPUT_BITS = 8;

const COMPUTE_LAYERS = new Set(['QConv1D', 'QConv2D', 'QConv2DTranspose', 'QDepthwiseConv2D', 'QDense', 'Conv1D', 'Conv2D', 'Conv2DTranspose', 'DepthwiseConv2D', 'Dense']);

/** Bits of the values a layer reads: the nearest quantized activation upstream, else the input's. */
function inputBits(layer: tfl.layers.Layer, inputDefault: number, memo: Map<tfl.layers.Layer, number>): number {
  const cached = memo.get(layer);
  if (cached !== undefined) return cached;
  let bits = 0;
  for (const node of layer.inboundNodes) {
    for (const up of node.inboundLayers) {
      const slot = slotOf(up);
      if (up.getClassName() === 'QActivation' && slot) bits = Math.max(bits, slot.report().learnedBits);
      else if (up.getClassName() === 'InputLayer') bits = Math.max(bits, inputDefault);
      else bits = Math.max(bits, inputBits(up, inputDefault, memo));
    }
  }
  const result = bits || inputDefault;
  memo.set(layer, result);
  return result;
}

/** The calls (inbound nodes) of `layer` that belong to `model`'s graph. */
function callsIn(model: tfl.LayersModel, layer: tfl.layers.Layer): tfl.layers.Layer['inboundNodes'] {
  const own = (model as unknown as { containerNodes?: Set<string> }).containerNodes;
  const calls = layer.inboundNodes.filter((_, i) => own?.has(`${layer.name}_ib-${i}`));
  return calls.length ? calls : layer.inboundNodes.slice(0, 1); // a Sequential keeps its nodes in an inner model
}

function slotOf(layer: tfl.layers.Layer): QuantSlot | null {
  return (layer as unknown as { slot?: QuantSlot | null }).slot ?? null;
}

/**
 * Reports bits per quantized tensor, the model size and the compute per image (MACs and bit
 * operations of every convolution and dense layer, with the bits of its weights and of its input:
 * the nearest quantized activation upstream, or {@link INPUT_BITS} for the image). Quantized
 * kernels count their learned
 * bits per element plus 4 bytes per scale; biases, batch norm and float layers count 4 bytes per
 * element; trainable quantizer parameters and flags are not part of an exported model.
 */
export function modelReport(model: tfl.LayersModel): ModelReport {
  const quantized: QuantizedTensorReport[] = [];
  let modelBits = 0;
  let floatBytes = 0;
  for (const layer of model.layers) {
    const slot = slotOf(layer);
    const isActivation = layer.getClassName() === 'QActivation';
    for (const w of layer.weights) {
      const local = w.name.slice(w.name.lastIndexOf('/') + 1);
      if (/_quant_|_gates/.test(w.name)) continue; // quantizer parameters are exported as scales
      const elements = w.shape.reduce((a: number, b) => a * (b ?? 1), 1);
      floatBytes += 4 * elements;
      if (slot && local.startsWith('kernel') && !isActivation) {
        const r = slot.report();
        modelBits += elements * r.learnedBits + 32 * (slot.quantizer.logAlpha?.size ?? 1);
        quantized.push({ layer: layer.name, tensor: 'weights', method: r.method, nominalBits: r.nominalBits, learnedBits: r.learnedBits, elements, alpha: r.alpha, sigmaRatio: r.sigmaRatio });
      } else {
        modelBits += 32 * elements;
      }
    }
    if (slot && isActivation) {
      const r = slot.report();
      quantized.push({ layer: layer.name, tensor: 'activations', method: r.method, nominalBits: r.nominalBits, learnedBits: r.learnedBits, elements: 0, alpha: r.alpha, sigmaRatio: r.sigmaRatio });
    }
  }
  const inputDefault = quantized.length ? INPUT_BITS : 32;
  const memo = new Map<tfl.layers.Layer, number>();
  const compute: LayerCompute[] = [];
  for (const layer of model.layers) {
    if (!COMPUTE_LAYERS.has(layer.getClassName())) continue;
    const kernel = layer.weights.find((w) => /kernel(_\d+)?$/.test(w.name.slice(w.name.lastIndexOf('/') + 1)));
    if (!kernel) continue;
    // every output position applies the whole kernel; a transposed convolution, every input
    // position; a shared layer, at each of its calls in this model
    const transposed = layer.getClassName().endsWith('Conv2DTranspose');
    const positions = callsIn(model, layer)
      .map((node) => (transposed ? node.inputTensors[0]! : node.outputTensors[0]!).shape.slice(1, -1).reduce((a: number, b) => a * (b ?? 1), 1))
      .reduce((a, b) => a + b, 0);
    const macs = positions * kernel.shape.reduce((a: number, b) => a * (b ?? 1), 1);
    const q = quantized.find((t) => t.layer === layer.name && t.tensor === 'weights');
    const weightBits = q ? q.learnedBits : 32;
    const inBits = inputBits(layer, inputDefault, memo);
    compute.push({ layer: layer.name, macs, weightBits, inputBits: inBits, bops: macs * weightBits * inBits });
  }
  return {
    quantized,
    modelBytes: Math.ceil(modelBits / 8),
    floatBytes,
    bits: Object.fromEntries(quantized.map((q) => [`${q.layer}/${q.tensor}`, q.learnedBits])),
    compute,
    bopsPerImage: compute.reduce((a, c) => a + c.bops, 0),
    averageBits: quantized.length ? quantized.reduce((a, q) => a + q.learnedBits, 0) / quantized.length : 32,
  };
}
