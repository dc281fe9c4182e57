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
 * The fewest bits a tensor's BitGates may learn: `bitGates.minBits` when set, else 2 for a signed
 * grid — its 1-bit grid {-α, 0} has no positive value (specification §5, "Floor") — and 1 for an
 * unsigned one (a binary activation) or the symmetric binary grid.
 */
export function bitGatesFloor(config: TensorQuantConfig): number {
  const { quantizer, bitGates } = config;
  return bitGates?.minBits ?? ((quantizer.signed ?? true) && !quantizer.symmetricBinary ? 2 : 1);
}

/**
 * A tensor's quantization as a layer saves it: with the quantizer's `learnSigma` and the gates'
 * `minBits` resolved, so that the file means the same whatever a later version's defaults.
 */
export function savedQuantConfig(config: TensorQuantConfig | null): TensorQuantConfig | null {
  if (!config) return config;
  const { quantizer, bitGates } = config;
  return {
    ...config,
    quantizer: quantizer.learnSigma !== undefined ? quantizer : { ...quantizer, learnSigma: resolveQuantizerConfig(quantizer).learnSigma },
    ...(bitGates ? { bitGates: { ...bitGates, minBits: bitGatesFloor(config) } } : {}),
  };
}

/**
 * A tensor's quantization as a saved layer config holds it, for the layer that loads it, in the
 * meaning of the version that wrote it: files written before `learnSigma` was always saved hold it
 * only when false, so absent means learned σ (today srq keeps σ fixed by default); files written
 * before the gates' floor have no `minBits` and gates down to 1 bit (today weights stop at 2).
 */
export function loadedQuantConfig(config: TensorQuantConfig | null | undefined): TensorQuantConfig | null {
  if (!config) return null;
  const { quantizer, bitGates } = config;
  return {
    ...config,
    quantizer: quantizer.learnSigma !== undefined ? quantizer : { ...quantizer, learnSigma: true },
    ...(bitGates && bitGates.minBits === undefined ? { bitGates: { ...bitGates, minBits: 1 } } : {}),
  };
}
