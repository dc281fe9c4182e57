// The `browser` entry: our kernels and their WebAssembly builds, without `useBackend` and `doctor`
// (which load backends and read Node's module paths). The page picks its tfjs backend, then calls
// `registerSrqKernels`.
export { registerSrqKernels } from './register-kernels';
export { registerTrainingKernels, TRAINING_KERNELS, INFERENCE_KERNELS } from './register-training-kernels';
export { FUSED_SRQ_KERNELS } from './fused-srq-kernel';
export { INT_CONV_KERNELS, loadIntConvWasm, runIntConv, runIntDepthwise, runConvQuantize, runQuantizeUnsigned, intConvMemoryBytes } from './int-conv-kernel';
export { loadSrqWasm, srqWasmLoaded, enableSrqWasm, srqWasmEnabled, runSrqFused, type SrqFusedViews } from './srq-wasm';
