import type * as tfl from '@tensorflow/tfjs-layers';
import type { QuantSlot } from './quant-slot';

/** Draws of each random stream that one training step may use: positions of step s start at s·STREAM_STRIDE. */
export const STREAM_STRIDE = 64;

/** The quantizer slots of a model, nested models included, in layer order. */
export function quantSlots(model: tfl.LayersModel): QuantSlot[] {
  const slots: QuantSlot[] = [];
  const visit = (layers: tfl.layers.Layer[]) => {
    for (const layer of layers) {
      const inner = (layer as unknown as { layers?: tfl.layers.Layer[] }).layers;
      if (Array.isArray(inner)) visit(inner);
      const { slot } = layer as unknown as { slot?: QuantSlot | null };
      if (slot) slots.push(slot);
    }
  };
  visit(model.layers);
  return slots;
}

/**
 * Moves every random stream of a model's quantizers (Gumbel noise, DropBits drops, BitGates
 * samples) to the start of training step `step`. Called before every step, it makes all training
 * noise a function of (seed, step): a run resumed from a checkpoint at step s draws exactly what
 * the uninterrupted run drew from step s on, and so do data-parallel replicas. It also sets the
 * annealed DropBits p of step `step` (`DropBitsConfig.anneal`).
 *
 * @example
 * ```ts
 * seekRandomStreams(model, step); // then compute the step's gradients
 * ```
 */
export function seekRandomStreams(model: tfl.LayersModel, step: number): void {
  for (const slot of quantSlots(model)) slot.seek(step * STREAM_STRIDE, step);
}
