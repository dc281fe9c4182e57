export { BackendError } from './errors';
export { useBackend, capabilities, BACKEND_NAMES, NODE_GPU_HINT, type BackendName, type BackendInfo } from './use-backend';
export { backendMemory, type BackendMemory } from './memory';
export { doctor, type DoctorReport, type BackendStatus } from './doctor';
export { STOCK_KERNELS } from './stock-kernels';
export * from './browser';
