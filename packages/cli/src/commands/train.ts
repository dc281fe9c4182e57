import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { BACKEND_NAMES, useBackend } from '@srq/backends';
import { DATASET_NAMES, loadDataset } from '@srq/datasets';
import { DROP_GRANULARITIES } from '@srq/dropbits';
import { defaultLearnSigma, MASK_PICKS, type QuantizerMethod } from '@srq/quantizers';
import { BUDGET_LAMBDA, MODEL_METHODS, validateModelQuantConfig, ZOO } from '@srq/models';
import { EXIT, handleError, UsageError } from '../errors';
import { int, num } from '../options';
import { quantConfig, RELAXED_METHODS, type RunConfig } from '../run-config';
import { RunDir } from '../run-dir';
import { NanLossError, train } from '../trainer';
import { withInterrupt } from '../interrupt';
import { loadUserModel } from '../user-model';

/** Defaults of `srq train`: a 2-bit LeNet-5 with SRQ on MNIST (DropBits off: no variant measured beats plain SRQ, results/README.md). */
export const TRAIN_DEFAULTS = {
  model: 'lenet5',
  dataset: 'mnist',
  method: 'srq',
  wbits: 2,
  abits: 2,
  dropbits: 0,
  epochs: 5,
  batchSize: 128,
  lr: 1e-3,
  seed: 0,
  backend: 'wasm',
} as const;

/** The flags of `srq train`: the run's configuration, with the optional values undefined, plus the command's own. */
type TrainFlags = Omit<RunConfig, 'targetBits' | 'limit' | 'dataDir' | 'cacheDir' | 'sigmaInit' | 'lambda' | 'modelFile' | 'gateAnneal' | 'fixedSigma'> & {
  fixedSigma: boolean;
  learnSigma: boolean;
  modelFile?: string;
  lambda?: number;
  gateAnneal?: number;
  targetBits?: number;
  sigmaInit?: number;
  limit?: number;
  dataDir?: string;
  cacheDir?: string;
  out?: string;
  workers?: number;
  resume: boolean;
  json: boolean;
  quiet: boolean;
};

/** Whether a run keeps σ fixed: as `--fixed-sigma` / `--learn-sigma` say, else the method's default (srq fixed, rq and rq-st learned). */
function keepsSigmaFixed(flags: Pick<TrainFlags, 'method' | 'fixedSigma' | 'learnSigma'>): boolean {
  const given = flags.fixedSigma ? '--fixed-sigma' : flags.learnSigma ? '--learn-sigma' : null;
  if (flags.fixedSigma && flags.learnSigma) throw new UsageError('--fixed-sigma and --learn-sigma exclude each other.');
  if (!RELAXED_METHODS.includes(flags.method)) {
    if (given) throw new UsageError(`${given} needs --method srq, rq or rq-st (${flags.method} has no σ).`);
    return false;
  }
  return flags.fixedSigma || (!flags.learnSigma && !defaultLearnSigma(flags.method as QuantizerMethod));
}

/** λ of the bit penalty: as given, else 0.01 per bit, or the model budget's default with a target. */
export const penaltyWeight = (lambda: number | undefined, targetBits: number | undefined): number =>
  lambda ?? (targetBits !== undefined ? BUDGET_LAMBDA : 0.01);

/** How much the BitGates sharpen over a run by default (`--gate-anneal`): the budget then holds for the learned bits. */
export const GATE_ANNEAL = 30;

/** `--gate-anneal` of train and compare: the factor for --learn-bits (default {@link GATE_ANNEAL}); refused without it. */
export function gateAnnealOf(flags: { learnBits: boolean; gateAnneal?: number }): number | undefined {
  if (flags.gateAnneal !== undefined && !flags.learnBits) throw new UsageError('--gate-anneal needs --learn-bits.');
  return flags.learnBits ? (flags.gateAnneal ?? GATE_ANNEAL) : undefined;
}

/** The `--gate-anneal` option (train and compare). */
export const gateAnnealOption = (): Option =>
  new Option('--gate-anneal <factor>', `with --learn-bits: the gates' noise and temperature shrink by this factor over the run, so that the sampled gates end as the deterministic ones and the budget holds for the learned bits (1: off; default ${GATE_ANNEAL})`).argParser(num(1));


/** The `--dropbits-pick` option (train and compare). */
export const dropbitsPickOption = (): Option =>
  new Option('--dropbits-pick <pick>', "what DropBits' forward pass outputs: full, the nearest code of the whole grid as at inference, only the gradient's categorical sees the drop (gradient-only DropBits; the default, the one that never collapsed in the DropBits study); nearest, the nearest kept code (the paper's rule); sample, one of the two kept codes around x (unbiased)").choices(MASK_PICKS).default('full');

/** `srq train`. */
export function trainCommand(): Command {
  return new Command('train')
    .description('train a quantized model (default: 2-bit LeNet-5 with SRQ on MNIST) and save it')
    .addOption(new Option('--model <name>', 'zoo model').choices(Object.keys(ZOO)).default(TRAIN_DEFAULTS.model))
    .option('--model-file <path>', "your own tfjs model (its model.json) instead of a zoo model: quantized by quantizeModel with the flags below and fine-tuned on --dataset (--method fp trains it as it is)")
    .addOption(new Option('--dataset <name>', 'dataset').choices(DATASET_NAMES).default(TRAIN_DEFAULTS.dataset))
    .addOption(new Option('--method <method>', 'quantization method (fp = full precision)').choices(MODEL_METHODS).default(TRAIN_DEFAULTS.method))
    .option('--wbits <n>', 'weight bits (1-8)', int(1, 8), TRAIN_DEFAULTS.wbits)
    .option('--abits <n>', 'activation bits (1-8)', int(1, 8), TRAIN_DEFAULTS.abits)
    .option('--dropbits <p>', 'DropBits probability p in [0, 1) (0 = off, the default: no DropBits variant measured beats plain SRQ)', num(0, 1, 'below'), TRAIN_DEFAULTS.dropbits)
    .addOption(new Option('--dropbits-granularity <g>', 'one dropped-bit draw per element, channel or tensor').choices(DROP_GRANULARITIES).default('element'))
    .addOption(new Option('--dropbits-on <which>', 'which quantizers DropBits regularizes').choices(['weights', 'activations', 'both']).default('both'))
    .option('--dropbits-anneal', 'anneal the DropBits p linearly to 0 over the run', false)
    .option('--dropbits-keep-bits <n>', 'DropBits keeps at least n bits of each grid: at most b − n dropped (2: never below 2 bits; above 1 needs --dropbits-granularity channel or tensor)', int(1, 8), 1)
    .addOption(dropbitsPickOption())
    .option('--learn-bits', 'learn a bit-width per quantizer (BitGates) from --wbits/--abits', false)
    .option('--target-bits <x>', "average bits over the model's quantizers for --learn-bits (one model-wide budget)", num(1, 8))
    .option('--lambda <l>', 'weight of the expected-bits penalty for --learn-bits (default 0.01 per bit; 1 with --target-bits, a model-wide budget)', num(0))
    .addOption(gateAnnealOption())
    .option('--epochs <n>', 'epochs', int(1), TRAIN_DEFAULTS.epochs)
    .option('--batch-size <n>', 'batch size', int(1), TRAIN_DEFAULTS.batchSize)
    .option('--lr <lr>', 'Adam learning rate (cosine decay to 0)', num(0, Infinity, 'open'), TRAIN_DEFAULTS.lr)
    .option('--seed <n>', 'seed of the weight initialisation, shuffling, drops and noise', int(0), TRAIN_DEFAULTS.seed)
    .addOption(new Option('--backend <name>', 'tfjs backend').choices(BACKEND_NAMES).default(TRAIN_DEFAULTS.backend))
    .option('--workers <n>', 'worker threads for data-parallel training on wasm/cpu (default: CPU cores - 1; 0 = main thread only)', int(0))
    .option('--limit <n>', 'train on a fixed random subset of N training images (smoke runs)', int(1))
    .option('--temperature <t>', 'Gumbel-softmax temperature of rq / rq-st', num(0, Infinity, 'open'), 1)
    .option('--sigma-init <r>', 'σ/α at init of the relaxed quantizers (rq, rq-st, srq; default 1/3)', num(0, Infinity, 'open'))
    .option('--fixed-sigma', "keep σ/α at --sigma-init instead of learning it (srq's default; rq, rq-st)", false)
    .option('--learn-sigma', "learn σ (rq's and rq-st's default; srq, where learned σ drifts: see the CLI README)", false)
    .option('--per-channel', 'one weight step α per output channel', false)
    .option('--keep-first-last', 'keep the first and last layers float', false)
    .option('--data-dir <dir>', 'data directory (CIFAR-10 binary files, or MNIST IDX files)')
    .option('--cache-dir <dir>', 'cache directory for converted datasets (Fashion-MNIST)')
    .option('--out <dir>', 'run directory (default runs/<model>-<dataset>-<method>-w<wbits>a<abits>)')
    .option('--resume', 'continue from the last checkpoint in --out', false)
    .option('--json', 'print the summary as one JSON line on stdout', false)
    .option('--quiet', 'no progress output on stderr', false)
    .action(async (flags: TrainFlags) => {
      try {
        await runTrain(flags);
      } catch (e) {
        handleError(e);
      }
    });
}

async function runTrain(flags: TrainFlags): Promise<void> {
  if (flags.targetBits !== undefined && !flags.learnBits) throw new UsageError('--target-bits needs --learn-bits.');
  if (flags.dropbits > 0 && flags.method !== 'srq') throw new UsageError('--dropbits needs --method srq (DropBits regularizes SRQ).');
  const fixedSigma = keepsSigmaFixed(flags);
  if (flags.dropbits > 0 && flags.learnBits) throw new UsageError('--dropbits does not combine with --learn-bits (the bit gates replace DropBits).');
  const gateAnneal = gateAnnealOf(flags);
  const out = flags.out ?? `runs/${flags.modelFile ? 'model-file' : flags.model}-${flags.dataset}-${flags.method}-w${flags.wbits}a${flags.abits}`;
  const dir = new RunDir(out);
  let run: RunConfig;
  if (flags.resume) {
    if (!dir.hasCheckpoint()) throw new UsageError(`--resume: ${out} has no checkpoint to resume from.`);
    run = dir.readConfig<RunConfig>();
  } else {
    if (dir.exists()) throw new UsageError(`${out} already holds a run; use --resume to continue it or --out for a new one.`);
    const { out: _out, resume: _resume, json: _json, quiet: _quiet, workers: _workers, targetBits, limit, dataDir, cacheDir, sigmaInit, fixedSigma: _fixedSigma, learnSigma: _learnSigma, lambda, modelFile, gateAnneal: _gateAnneal, dropbitsPick, ...fixed } = flags;
    run = {
      ...fixed,
      ...(fixedSigma ? { fixedSigma } : {}),
      ...(flags.dropbits > 0 && dropbitsPick && dropbitsPick !== 'nearest' ? { dropbitsPick } : {}),
      ...(gateAnneal !== undefined ? { gateAnneal } : {}),
      targetBits: targetBits ?? null,
      lambda: penaltyWeight(lambda, targetBits),
      limit: limit ?? null,
      sigmaInit: sigmaInit ?? null,
      dataDir: dataDir ?? null,
      cacheDir: cacheDir ?? null,
      modelFile: modelFile ? resolve(modelFile) : null,
    };
  }
  validateModelQuantConfig(quantConfig(run)); // before anything is written
  const dataset = loadDataset(run.dataset, { ...(run.dataDir ? { dataDir: run.dataDir } : {}), ...(run.cacheDir ? { cacheDir: run.cacheDir } : {}), seed: run.seed });
  const backend = await useBackend(flags.resume ? run.backend : flags.backend);
  // a user's model is checked against the dataset before anything is written
  const model = !flags.resume && run.modelFile ? await loadUserModel({ ...run, modelFile: run.modelFile }, dataset) : undefined;
  if (!flags.resume) dir.writeConfig(run);
  if (!flags.quiet) process.stderr.write(`srq train: ${run.modelFile ?? run.model} on ${run.dataset} (${run.limit ?? dataset.train.count} images), ${run.method} w${run.wbits}/a${run.abits}${run.learnBits ? `, learned bits${run.targetBits !== null ? ` (budget ${run.targetBits} average)` : ''}` : run.dropbits ? `, DropBits p=${run.dropbits}` : ''}, backend ${backend.backend}${backend.simd ? ' (SIMD)' : ''}, out ${out}\n`);
  await withInterrupt(async (shouldStop) => {
    try {
      // on --resume without --workers, the checkpoint's thread count (the same numbers as an uninterrupted run)
      const workers = backend.backend === 'tensorflow' ? 0 : flags.workers;
      const summary = await train(run, dataset, dir, { resume: flags.resume, backend: backend.backend, workers, shouldStop, quiet: flags.quiet, model });
      const line = JSON.stringify(summary);
      if (flags.json) process.stdout.write(`${line}\n`);
      else process.stderr.write(`test error ${summary.test_error.toFixed(2)}% after ${summary.epochs} epochs, ${summary.wall_s.toFixed(0)} s, ${Math.round(summary.img_per_s)} img/s; model in ${dir.modelDir}\n`);
      if (summary.status === 'interrupted') process.exit(EXIT.interrupted);
    } catch (e) {
      if (e instanceof NanLossError) {
        process.stderr.write(`srq: ${e.message}\n`);
        process.exit(EXIT.runtime);
      }
      throw e;
    }
  });
}
