import type { ModelMethod, ModelQuantConfig, ZooName } from '@srq/models';
import type { BackendName } from '@srq/backends';
import type { DropGranularity } from '@srq/dropbits';
import type { MaskPick } from '@srq/quantizers';

/** Everything that defines a training run (stored as `run.json`). */
export interface RunConfig {
  model: ZooName;
  dataset: string;
  method: ModelMethod;
  wbits: number;
  abits: number;
  /** DropBits probability p (0: off). */
  dropbits: number;
  dropbitsGranularity: DropGranularity;
  dropbitsOn: 'weights' | 'activations' | 'both';
  /** DropBits p annealed linearly to 0 over the run's steps; absent (false) in runs made before it existed. */
  dropbitsAnneal?: boolean;
  /** DropBits keeps at least this many bits of the grid (d ≤ b − n); absent (1) in runs made before it existed. */
  dropbitsKeepBits?: number;
  /** What DropBits' forward pass outputs (`'full'`: gradient-only DropBits); absent: `'nearest'`, as in runs made before it existed. */
  dropbitsPick?: MaskPick;
  learnBits: boolean;
  targetBits: number | null;
  lambda: number;
  /** Factor by which the BitGates sharpen over the run (1: not at all); absent (1) in runs made before it existed. */
  gateAnneal?: number;
  epochs: number;
  batchSize: number;
  lr: number;
  seed: number;
  backend: BackendName;
  limit: number | null;
  temperature: number;
  /** σ/α at init of the relaxed quantizers (null: the default 1/3); absent in runs made before it existed. */
  sigmaInit?: number | null;
  /**
   * σ/α kept at its init instead of learned: `srq train` records it for srq runs unless
   * `--learn-sigma`, and for rq / rq-st with `--fixed-sigma`. Absent (false): σ learned — also in
   * every run made before it existed, and in `srq compare`'s srq and srq+dropbits runs.
   */
  fixedSigma?: boolean;
  perChannel: boolean;
  keepFirstLast: boolean;
  dataDir: string | null;
  cacheDir: string | null;
  /** Bits of single tensors (`'<layer>/weights'` / `'<layer>/activations'`), overriding wbits/abits; absent in runs made before it existed. */
  layerBits?: Record<string, number> | null;
  /** The user's own model (a tfjs `model.json`) instead of the zoo's `model`; absent in runs made before it existed. */
  modelFile?: string | null;
}

/** The methods with a noise scale σ (`--sigma-init`, `--fixed-sigma`, `--learn-sigma`). */
export const RELAXED_METHODS: readonly string[] = ['srq', 'rq', 'rq-st'];

/** The model quantization of a run of `totalSteps` training steps (they set the DropBits and BitGates annealing). */
export function quantConfig(run: RunConfig, totalSteps = 0): ModelQuantConfig {
  return {
    method: run.method,
    weightBits: run.wbits,
    activationBits: run.abits,
    dropBits:
      run.dropbits > 0 && !run.learnBits
        ? { p: run.dropbits, granularity: run.dropbitsGranularity, ...(run.dropbitsAnneal ? { anneal: Math.max(1, totalSteps) } : {}), ...((run.dropbitsKeepBits ?? 1) > 1 ? { keepBits: run.dropbitsKeepBits } : {}), ...(run.dropbitsPick && run.dropbitsPick !== 'nearest' ? { pick: run.dropbitsPick } : {}) }
        : null,
    dropBitsOn: run.dropbitsOn,
    learnBits: run.learnBits
      ? { lambda: run.lambda, ...(run.targetBits !== null ? { targetBits: run.targetBits } : {}), ...((run.gateAnneal ?? 1) > 1 ? { anneal: Math.max(1, totalSteps), annealFactor: run.gateAnneal } : {}) }
      : null,
    keepFirstLastFloat: run.keepFirstLast,
    perChannel: run.perChannel,
    temperature: run.temperature,
    ...(run.sigmaInit != null ? { sigmaInit: run.sigmaInit } : {}),
    ...(RELAXED_METHODS.includes(run.method) ? { learnSigma: !run.fixedSigma } : {}), // explicit: the library's default for srq is the other one
    seed: run.seed,
    ...(run.layerBits ? { layerBits: run.layerBits } : {}),
  };
}
