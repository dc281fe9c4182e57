export { SrqError, ConfigError, QuantizerConfigError, QuantizerInputError } from './errors';
export {
  QUANTIZER_METHODS,
  INIT_METHODS,
  DEFAULT_WINDOW,
  resolveQuantizerConfig,
  type QuantizerMethod,
  type InitMethod,
  type QuantizerConfig,
  type ResolvedQuantizerConfig,
} from './config';
export { Grid, type GridSpec } from './grid';
export { gridProbabilities, gridWindow, windowSize, type GridWindow, type GridProbabilitiesOptions } from './categorical';
export { type CodeMask, type CodeWeights, type QuantizerMask } from './mask';
export { quantize, stopGradient, type QuantizerParams, type QuantizeOptions } from './quantize';
export { Quantizer, type VariableFactory } from './quantizer';
export { dequantize, type QuantizedCodes } from './codes';
