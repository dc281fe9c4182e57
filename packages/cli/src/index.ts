export { program } from './program';
export { train, cosineLr, NanLossError, type TrainSummary } from './trainer';
export { RunDir, type CheckpointState } from './run-dir';
export { evaluate } from './evaluate';
export { quantConfig, type RunConfig } from './run-config';
export { UsageError, handleError, EXIT } from './errors';
export { TRAIN_DEFAULTS } from './commands/train';
export { benchTraining, benchInference, benchSoak, stockLenet5, type BenchOptions } from './bench';
export { DataParallel, trainStep, batchLoss, shardGradients, reseededTopology, type ReplicaRecipe, type StepResult } from './data-parallel';
