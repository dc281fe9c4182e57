export { BackendError } from './errors';
export { useBackend, capabilities, BACKEND_NAMES, NODE_GPU_HINT, type BackendName, type BackendInfo } from './use-backend';
export { backendMemory, type BackendMemory } from './memory';
export { doctor, type DoctorReport, type BackendStatus } from './doctor';
export { registerTrainingKernels, TRAINING_KERNELS, INFERENCE_KERNELS } from './register-training-kernels';
export { STOCK_KERNELS } from './stock-kernels';
export { FUSED_SRQ_KERNELS } from './fused-srq-kernel';
export { loadSrqWasm, srqWasmLoaded, enableSrqWasm, srqWasmEnabled, runSrqFused, type SrqFusedViews } from './srq-wasm';
export { INT_CONV_KERNELS, loadIntConvWasm, runIntConv, runQuantizeUnsigned, intConvMemoryBytes } from './int-conv-kernel';
