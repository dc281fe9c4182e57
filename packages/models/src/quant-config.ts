import type { BitGatesConfig, DropBitsConfig } from '@srq/dropbits';
import type { QuantizerConfig } from '@srq/quantizers';

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
