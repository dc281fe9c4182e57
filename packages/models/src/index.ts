export type { TensorQuantConfig } from './quant-config';
export { QuantSlot, type LayerArgs } from './quant-slot';
export { QConv2D, type QConv2DArgs } from './q-conv2d';
export { QDense, type QDenseArgs } from './q-dense';
export { QActivation, type QActivationArgs } from './q-activation';
export { QuantPlan, MODEL_METHODS, validateModelQuantConfig, type ModelMethod, type ModelQuantConfig } from './model-quant-config';
export { lenet5, vgg7, resnet20, ZOO, type ZooName, type ZooOptions } from './zoo';
export { fileSystem, ModelFileError } from './fs-io';
export { modelReport, type ModelReport, type QuantizedTensorReport } from './model-report';
