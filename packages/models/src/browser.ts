// Everything of @srq/models that runs in browsers (no Node imports): the `browser` entry, and the
// part of the main entry shared with Node.
export type { TensorQuantConfig } from './quant-config';
export { QuantSlot, type LayerArgs } from './quant-slot';
export { QWeightLayer, type QWeightLayerArgs } from './q-weight-layer';
export { QConv2D, type QConv2DArgs } from './q-conv2d';
export { QDense, type QDenseArgs } from './q-dense';
export { QDepthwiseConv2D, type QDepthwiseConv2DArgs } from './q-depthwise-conv2d';
export { QConv1D, type QConv1DArgs } from './q-conv1d';
export { QConv2DTranspose, type QConv2DTransposeArgs } from './q-conv2d-transpose';
export { QEmbedding, type QEmbeddingArgs } from './q-embedding';
export { ACTIVATION_NAMES, applyActivation, defaultActivationQuant, activationMax, type ActivationOptions, type ActivationQuantKind } from './activations';
export { QActivation, type QActivationArgs } from './q-activation';
export { QuantPlan, ModelConfigError, MODEL_METHODS, BUDGET_LAMBDA, validateModelQuantConfig, fitModelBitBudget, type ModelMethod, type ModelQuantConfig } from './model-quant-config';
export { lenet5, vgg7, resnet20, ZOO, type ZooName, type ZooOptions } from './zoo';
export { mobilenetv2, mobilenetv2Float } from './mobilenetv2';
export { ModelFileError } from './model-file';
export { seekRandomStreams, quantSlots, STREAM_STRIDE } from './random-streams';
export { modelReport, INPUT_BITS, type ModelReport, type QuantizedTensorReport, type LayerCompute } from './model-report';
export { quantizeModel, UnsupportedLayerError, type QuantizeModelConfig, type LayerOverride } from './quantize-model';
export { packCodes, unpackCodes, parsePackedModel, loadPackedModelFromUrl, type PackedWeightInfo, type PackedModelJson, type PackedLoadOptions } from './packed-format';
export { ConvQuantize, IntConv2D, IntDepthwiseConv2D, integerModel, integerKernelAvailable, type ConvQuantizeArgs, type IntConv2DArgs, type IntDepthwiseConv2DArgs, type PackedKernel } from './integer-inference';
export { toOnnx, OnnxExportError, ONNX_BITS_METADATA, type OnnxQuantizedTensor } from './onnx-export';
export { ModelProto as OnnxModelProto, OPSET as ONNX_OPSET } from './onnx-proto';
