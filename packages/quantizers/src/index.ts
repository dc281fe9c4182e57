export { SrqError, ConfigError, QuantizerConfigError, QuantizerInputError } from './errors';
export {
  QUANTIZER_METHODS,
  INIT_METHODS,
  DEFAULT_WINDOW,
  defaultLearnSigma,
  resolveQuantizerConfig,
  type QuantizerMethod,
  type InitMethod,
  type QuantizerConfig,
  type ResolvedQuantizerConfig,
} from './config';
export { Grid, type GridSpec } from './grid';
export { gridProbabilities, gridWindow, windowSize, type GridWindow, type GridProbabilitiesOptions } from './categorical';
export { sampleDrops, MASK_PICKS, type MaskPick, type CodeMask, type CodeWeights, type DropSample, type QuantizerMask } from './mask';
export { srqFused, roundHalfEven, SRQ_FUSED_KERNEL, type SrqFusedAttrs, type SrqFusedOutputs } from './fused-srq';
export { quantize, stopGradient, fusedKernelAvailable, type QuantizerParams, type QuantizeOptions } from './quantize';
export { Quantizer, type VariableFactory } from './quantizer';
export { dequantize, type QuantizedCodes } from './codes';
export { mulberry32 } from './random';
export { crc32, sealOf, sealProblem, sealJson, openJson, type Seal } from './integrity';
export { INT_DEPTHWISE_KERNEL, intDepthwiseConv2d, packDepthwiseCodes, type IntDepthwiseAttrs } from './integer-depthwise';
export { CONV_QUANTIZE_KERNEL, convQuantize, packConvBlocks, padConvBias, type ConvQuantizeAttrs } from './conv-quantize';
export { INT_CONV_KERNEL, intConv2d, packWeightPlanes, channelBytes, activationCode, UNSIGNED_QUANTIZE_KERNEL, quantizeUnsigned, type ConvGeometry, type IntConvAttrs, type UnsignedQuantizeAttrs } from './integer-conv';
