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
}

/** Bits per layer and model size of a (quantized) model. */
export interface ModelReport {
  quantized: QuantizedTensorReport[];
  /** Bytes of the weights stored at their bits (quantized kernels packed; every other weight float32). */
  modelBytes: number;
  /** Bytes of the same weights all in float32. */
  floatBytes: number;
  /** Learned bits per quantized tensor, keyed `layer/weights` or `layer/activations`. */
  bits: Record<string, number>;
}

function slotOf(layer: tfl.layers.Layer): QuantSlot | null {
  return (layer as unknown as { slot?: QuantSlot | null }).slot ?? null;
}

/**
 * Reports bits per quantized tensor and the model size: quantized kernels count their learned
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
        quantized.push({ layer: layer.name, tensor: 'weights', method: r.method, nominalBits: r.nominalBits, learnedBits: r.learnedBits, elements });
      } else {
        modelBits += 32 * elements;
      }
    }
    if (slot && isActivation) {
      const r = slot.report();
      quantized.push({ layer: layer.name, tensor: 'activations', method: r.method, nominalBits: r.nominalBits, learnedBits: r.learnedBits, elements: 0 });
    }
  }
  return {
    quantized,
    modelBytes: Math.ceil(modelBits / 8),
    floatBytes,
    bits: Object.fromEntries(quantized.map((q) => [`${q.layer}/${q.tensor}`, q.learnedBits])),
  };
}
