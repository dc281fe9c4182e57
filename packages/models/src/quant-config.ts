import type { BitGatesConfig, DropBitsConfig } from '@srq/dropbits';
import { resolveQuantizerConfig, type QuantizerConfig } from '@srq/quantizers';

/**
 * How one tensor of a layer (its weights, or its activations) is quantized: the quantizer, and
 * optionally DropBits or learned bit-widths (BitGates; `bits` comes from the quantizer). Plain
 * JSON, stored in the layer config so that saved models reload with the same quantization.
 */
export interface TensorQuantConfig {
  quantizer: QuantizerConfig;
  dropBits?: DropBitsConfig | null;
  bitGates?: Omit<BitGatesConfig, 'bits' | 'name'> | null;
}

/**
 * A tensor's quantization as a layer saves it: with the quantizer's `learnSigma` resolved, so that
 * the file means the same whatever a later version's default.
 */
export function savedQuantConfig(config: TensorQuantConfig | null): TensorQuantConfig | null {
  if (!config || config.quantizer.learnSigma !== undefined) return config;
  return { ...config, quantizer: { ...config.quantizer, learnSigma: resolveQuantizerConfig(config.quantizer).learnSigma } };
}

/**
 * A tensor's quantization as a saved layer config holds it, for the layer that loads it: files
 * written before `learnSigma` was always saved hold it only when false, so absent means learned σ,
 * the default then (today srq keeps σ fixed by default).
 */
export function loadedQuantConfig(config: TensorQuantConfig | null | undefined): TensorQuantConfig | null {
  if (!config || config.quantizer.learnSigma !== undefined) return config ?? null;
  return { ...config, quantizer: { ...config.quantizer, learnSigma: true } };
}
