export { DropBitsConfigError } from './errors';
export { DropBits, DROP_GRANULARITIES, type DropBitsConfig, type DropGranularity, type ResolvedDropBitsConfig } from './drop-bits';
export { BitGates, type BitGatesConfig, type ResolvedBitGatesConfig } from './bit-gates';
export { HARD_CONCRETE, sampleHardConcrete, deterministicHardConcrete, probabilityNonZero } from './hard-concrete';
export { bitBudgetPenalty, fitBitBudget, type BitBudgetOptions } from './budget';
export { RegularizedQuantizer, regularize, type BitRegularizer, type QuantizerReport } from './regularized-quantizer';
