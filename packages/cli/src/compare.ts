import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ImageDataset } from '@srq/datasets';
import type { DropBitsConfig, DropGranularity } from '@srq/dropbits';
import type { MaskPick } from '@srq/quantizers';
import type { ModelMethod, ZooName } from '@srq/models';
import type { BackendName } from '@srq/backends';
import { writeFileAtomic } from '@srq/models';
import { versions } from './versions';
import { UsageError } from './errors';
import type { RunConfig } from './run-config';
import { RunDir } from './run-dir';
import { train, type TrainSummary } from './trainer';

/** The methods `srq compare` runs: the model methods, SRQ with DropBits, and SRQ with σ/α kept at its init (`--fixed-sigma`). */
export const COMPARE_METHODS = ['fp', 'ste', 'rq', 'rq-st', 'srq', 'srq+dropbits', 'srq+fixed-sigma'] as const;
/**
 * DropBits p of `srq+dropbits` unless `--dropbits` says otherwise: the variant of the DropBits study
 * (results/README.md) that never collapsed, per element with the gradient-only pick (`--dropbits-pick`
 * full, the default). It ties plain SRQ; it does not beat it.
 */
export const SRQ_DROPBITS_P = 0.1;
/** That variant as a model's `dropBits`: what `srq compare`'s `srq+dropbits` trains by default and `srq bench` times (there with σ fixed). */
export const SRQ_DROPBITS: DropBitsConfig = { p: SRQ_DROPBITS_P, granularity: 'element', pick: 'full' };
/** One of {@link COMPARE_METHODS}. */
export type CompareMethod = (typeof COMPARE_METHODS)[number];

/** What `srq compare` runs. */
export interface CompareSpec {
  dataset: string;
  model: ZooName;
  methods: CompareMethod[];
  /** Bits of weights and activations (w = a) of the grid. */
  bits: number[];
  seeds: number[];
  epochs: number;
  batchSize: number;
  lr: number;
  /** DropBits p of `srq+dropbits`. */
  dropbits: number;
  dropbitsGranularity: DropGranularity;
  /** Which quantizers DropBits regularizes in `srq+dropbits` (absent: both, in comparisons made before it existed). */
  dropbitsOn?: 'weights' | 'activations' | 'both';
  /** Anneal the DropBits p of `srq+dropbits` to 0 over each run (absent: false). */
  dropbitsAnneal?: boolean;
  /** srq+dropbits keeps at least this many bits of each grid (absent: 1). */
  dropbitsKeepBits?: number;
  /** What srq+dropbits' forward pass outputs (absent: `'nearest'`; `'full'`: gradient-only DropBits). */
  dropbitsPick?: MaskPick;
  /** Gumbel-softmax temperature of rq / rq-st. */
  temperature: number;
  /** σ/α at init of rq / rq-st (null: the default 1/3; srq keeps the default). Absent in comparisons made before it existed. */
  sigmaInit?: number | null;
  limit: number | null;
  /** Learned bit-widths: srq with BitGates from the largest `bits`, one run per seed. */
  learnBits: boolean;
  targetBits: number | null;
  lambda: number;
  /** Factor by which the learned runs' BitGates sharpen over each run (absent: 1, not at all, as in comparisons made before it existed). */
  gateAnneal?: number;
  /** Retrain from scratch with the learned bits fixed, beside uniform bits of the same average. */
  lottery: boolean;
  backend: BackendName;
  dataDir: string | null;
  cacheDir: string | null;
}

/** Which part of the comparison a run belongs to. */
export type RunGroup = 'grid' | 'learned' | 'lottery' | 'uniform';

/** One planned run. */
export interface PlannedRun {
  id: string;
  group: RunGroup;
  /** The method as the tables name it (`srq+dropbits`, `srq (learned bits)`, …). */
  label: string;
  /** Nominal bits (w = a); 32 for fp. */
  bits: number;
  seed: number;
  config: RunConfig;
}

/** One epoch of a run's learning curve (its `metrics.jsonl` line). */
export interface EpochPoint {
  epoch: number;
  test_error: number;
  /** Seconds the epoch took: training and its test evaluation, with any time the process was paused. */
  epoch_s: number;
  /** Training loss and accuracy (%) over the epoch (absent in results written before they were recorded). */
  loss?: number;
  train_acc?: number;
}

/** A finished run with its summary, its learning curve and the versions of the code that trained it. */
export interface FinishedRun extends PlannedRun {
  summary: TrainSummary;
  /** The results directory it was taken from (`--reuse`; absent: trained in this one). */
  from?: string;
  /** Test error after every epoch (null for runs recorded before curves were). */
  curve: EpochPoint[] | null;
  versions: Record<string, string> | null;
}

/** The relaxed baselines, the only runs `--temperature` and `--sigma-init` apply to. */
const relaxedBaseline = (method: ModelMethod): boolean => method === 'rq' || method === 'rq-st';

function runConfig(spec: CompareSpec, method: ModelMethod, bits: number, seed: number, extra: Partial<RunConfig> = {}): RunConfig {
  return {
    model: spec.model,
    dataset: spec.dataset,
    method,
    wbits: bits,
    abits: bits,
    dropbits: 0,
    dropbitsGranularity: spec.dropbitsGranularity,
    dropbitsOn: 'both',
    learnBits: false,
    targetBits: null,
    lambda: spec.lambda,
    epochs: spec.epochs,
    batchSize: spec.batchSize,
    lr: spec.lr,
    seed,
    backend: spec.backend,
    limit: spec.limit,
    temperature: relaxedBaseline(method) ? spec.temperature : 1, // only rq reads it
    sigmaInit: relaxedBaseline(method) ? (spec.sigmaInit ?? null) : null,
    perChannel: false,
    keepFirstLast: false,
    dataDir: spec.dataDir,
    cacheDir: spec.cacheDir,
    layerBits: null,
    ...extra,
  };
}

/**
 * The SRQ that learned bit-widths start from, and the lottery check retrains: with σ fixed when
 * `--methods` lists srq+fixed-sigma and not srq (`srq train`'s SRQ), with σ learned otherwise (as
 * such runs were first made). Its uniform runs are the ones a learned run is set against.
 */
export function learningBase(spec: Pick<CompareSpec, 'methods'>): { method: 'srq' | 'srq+fixed-sigma'; name: string; extra: Partial<RunConfig> } {
  const method = spec.methods.includes('srq+fixed-sigma') && !spec.methods.includes('srq') ? 'srq+fixed-sigma' : 'srq';
  return { method, name: idName(method), extra: method === 'srq' ? {} : { fixedSigma: true } };
}

/** A method as run ids spell it (`srq+dropbits` → `srq-dropbits`). */
const idName = (method: string): string => method.replace('+', '-');

/** The grid and the learned-bits runs of a spec, in the order they run (lottery runs come later: they need the learned bits). */
export function planRuns(spec: CompareSpec): PlannedRun[] {
  const runs: PlannedRun[] = [];
  const prefix = `${spec.dataset}-${spec.model}`;
  for (const method of spec.methods) {
    for (const bits of method === 'fp' ? [32] : spec.bits) {
      for (const seed of spec.seeds) {
        const id = method === 'fp' ? `${prefix}-fp-s${seed}` : `${prefix}-${idName(method)}-w${bits}a${bits}-s${seed}`;
        const config =
          method === 'srq+dropbits'
            ? runConfig(spec, 'srq', bits, seed, { dropbits: spec.dropbits, dropbitsOn: spec.dropbitsOn ?? 'both', ...(spec.dropbitsAnneal ? { dropbitsAnneal: true } : {}), ...((spec.dropbitsKeepBits ?? 1) > 1 ? { dropbitsKeepBits: spec.dropbitsKeepBits } : {}), ...(spec.dropbitsPick && spec.dropbitsPick !== 'nearest' ? { dropbitsPick: spec.dropbitsPick } : {}) })
            : method === 'srq+fixed-sigma'
              ? runConfig(spec, 'srq', bits, seed, { fixedSigma: true })
              : runConfig(spec, method, method === 'fp' ? 32 : bits, seed);
        runs.push({ id, group: 'grid', label: method, bits, seed, config });
      }
    }
  }
  if (spec.learnBits) {
    const from = Math.max(...spec.bits);
    const base = learningBase(spec);
    for (const seed of spec.seeds) {
      const target = spec.targetBits === null ? '' : `-t${spec.targetBits}`;
      const annealed = (spec.gateAnneal ?? 1) > 1;
      const anneal = annealed ? `-a${spec.gateAnneal}` : '';
      runs.push({
        id: `${prefix}-${base.name}-learned-from${from}${target}${anneal}-s${seed}`,
        group: 'learned',
        label: `${base.method} (learned bits)`,
        bits: from,
        seed,
        config: runConfig(spec, 'srq', from, seed, { ...base.extra, learnBits: true, targetBits: spec.targetBits, ...(annealed ? { gateAnneal: spec.gateAnneal } : {}) }),
      });
    }
  }
  return runs;
}

/**
 * The lottery-ticket runs for one learned run: its bits fixed, from scratch; and uniform bits of the
 * same average — the grid's srq run of those bits and that seed when the grid has one (the same
 * configuration: it is not trained twice).
 */
export function lotteryRuns(spec: CompareSpec, learned: FinishedRun): PlannedRun[] {
  const bits = learned.summary.bits;
  const uniform = Math.max(1, Math.round(learned.summary.average_bits));
  const prefix = `${spec.dataset}-${spec.model}`;
  const base = learningBase(spec);
  const gridTwin = spec.methods.includes(base.method) && spec.bits.includes(uniform);
  return [
    {
      id: `${prefix}-${base.name}-lottery-s${learned.seed}`,
      group: 'lottery',
      label: `${base.method} (learned bits fixed, from scratch)`,
      bits: learned.summary.average_bits,
      seed: learned.seed,
      config: runConfig(spec, 'srq', learned.bits, learned.seed, { ...base.extra, layerBits: bits }),
    },
    {
      id: gridTwin ? `${prefix}-${base.name}-w${uniform}a${uniform}-s${learned.seed}` : `${prefix}-${base.name}-uniform-w${uniform}a${uniform}-s${learned.seed}`,
      group: 'uniform',
      label: `${base.method} (uniform ${uniform} bits)`,
      bits: uniform,
      seed: learned.seed,
      config: runConfig(spec, 'srq', uniform, learned.seed, base.extra),
    },
  ];
}

function readJson<T>(file: string): T | null {
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as T) : null;
}

/** The DropBits settings of a run config, which train nothing when its p is 0. */
const DROPBITS_SETTINGS = ['dropbitsGranularity', 'dropbitsOn', 'dropbitsAnneal', 'dropbitsKeepBits', 'dropbitsPick'] as const;

/**
 * Differences between two run configs, as `field: a ≠ b`, in the fields that train the run: the
 * penalty weight λ only of learned bit-widths (a command with `--target-bits` sets it for every run),
 * the DropBits settings only of runs with DropBits (a command's `--dropbits-*` flags reach every run's config).
 */
function differences(a: RunConfig, b: RunConfig): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof RunConfig>;
  if (!a.learnBits && !b.learnBits) keys.delete('lambda');
  if (!a.dropbits && !b.dropbits) for (const k of DROPBITS_SETTINGS) keys.delete(k);
  return [...keys].filter((k) => JSON.stringify(a[k] ?? null) !== JSON.stringify(b[k] ?? null)).map((k) => `${k}: ${JSON.stringify(a[k] ?? null)} ≠ ${JSON.stringify(b[k] ?? null)}`);
}

/** Options of {@link runComparison}. */
export interface RunOptions {
  out: string;
  backendName: string;
  workers: number;
  quiet: boolean;
  shouldStop: () => boolean;
  /** Called before each run that is not already finished. */
  onStart?: (run: PlannedRun, index: number, total: number) => void;
  /**
   * Called, and awaited, after each run trained by this call ends, with every run finished so far:
   * the caller records them, so that a killed process or a lost machine keeps them.
   */
  onFinished?: (finished: FinishedRun[]) => Promise<void>;
  /** Other results directories whose finished runs of the same id and configuration are taken instead of trained again. */
  reuse?: string[];
}

/** A run as `results.json` records it (`method` is its label; `curve` absent in results written before curves were). */
type RecordedRun = Pick<FinishedRun, 'id' | 'group' | 'bits' | 'seed' | 'config' | 'summary' | 'versions' | 'from'> & { method: string; curve?: EpochPoint[] | null };

/** The learning curve in a run directory's `metrics.jsonl` (the last line of each epoch: a resumed run may repeat one), or null without one. */
function readCurve(dir: string): EpochPoint[] | null {
  const file = join(dir, 'metrics.jsonl');
  if (!existsSync(file)) return null;
  const byEpoch = new Map<number, EpochPoint>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const m = JSON.parse(line) as Partial<EpochPoint>;
    if (typeof m.epoch !== 'number' || typeof m.test_error !== 'number') continue;
    const fit = typeof m.loss === 'number' && typeof m.train_acc === 'number' ? { loss: m.loss, train_acc: m.train_acc } : {};
    byEpoch.set(m.epoch, { epoch: m.epoch, test_error: m.test_error, epoch_s: m.epoch_s ?? NaN, ...fit });
  }
  return [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch);
}

/**
 * The completed runs that an earlier `results.json` in `out` records: a committed grid
 * keeps its numbers without its (uncommitted) run directories.
 */
function recordedRuns(out: string): RecordedRun[] {
  const recorded = readJson<{ runs?: RecordedRun[] }>(join(out, 'results.json'));
  return (recorded?.runs ?? []).filter((r) => r.summary?.status === 'completed');
}

/**
 * `finished` with the finished runs that an earlier command recorded in `out`'s `results.json` and
 * `finished` lacks (another `--methods`, `--bits` or `--seeds`, or not reached before a stop): a
 * command over part of a grid keeps the rest of it in the results it writes. Grid runs come first,
 * by method, bits and seed whichever command wrote last; then the others in the order they ran.
 */
export function withEarlierRuns(out: string, finished: FinishedRun[]): FinishedRun[] {
  const key = (r: { group: RunGroup; id: string }) => `${r.group}|${r.id}`;
  const have = new Set(finished.map(key));
  const earlier = recordedRuns(out)
    .filter((r) => !have.has(key(r)))
    .map((r) => ({ id: r.id, group: r.group, label: r.method, bits: r.bits, seed: r.seed, config: r.config, summary: r.summary, curve: r.curve ?? null, versions: r.versions, ...(r.from ? { from: r.from } : {}) }));
  const all = [...finished, ...earlier];
  const grid = all.filter((r) => r.group === 'grid');
  const rank = (r: FinishedRun) => COMPARE_METHODS.indexOf(r.label as CompareMethod);
  grid.sort((a, b) => rank(a) - rank(b) || a.bits - b.bits || a.seed - b.seed);
  return [...grid, ...all.filter((r) => r.group !== 'grid')];
}

/** What a comparison does with a planned run, as `--dry-run` lists it. */
export type RunAction = 'finished' | 'recorded' | 'reused' | 'resume' | 'train';

/** A planned run's action, with what it takes from an earlier record. */
interface Decision {
  action: RunAction;
  /** `finished`: the run directory's configuration and summary. */
  existing?: { config: RunConfig; summary: TrainSummary };
  /** `resume`: the configuration the run started with (its `run.json`). */
  started?: RunConfig;
  /** `recorded` / `reused`: the record taken. */
  prior?: RecordedRun;
}

/** The records a comparison decides from: `results.json` here, by id, and those of the `--reuse` directories. */
interface Records {
  recorded: Map<string, RecordedRun>;
  reusable: RecordedRun[];
}

function recordsOf(out: string, reuse: string[]): Records {
  return { recorded: new Map(recordedRuns(out).map((r) => [r.id, r])), reusable: reuse.flatMap((dir) => recordedRuns(dir).map((r) => ({ ...r, from: r.from ?? dir }))) };
}

/**
 * What to do with one planned run: `finished` when its run directory's `summary.json` says
 * completed; with no run directory, `recorded` when `results.json` here records it completed,
 * else `reused` when a `--reuse` directory records it completed with the same configuration;
 * `resume` from its checkpoint; else `train`.
 * @throws {@link UsageError} when the directory or `results.json` holds a run of another configuration
 */
function decide(run: PlannedRun, out: string, records: Records): Decision {
  const dir = new RunDir(join(out, 'runs', run.id));
  const existing = readJson<RunConfig>(join(dir.dir, 'run.json'));
  const recorded = records.recorded.get(run.id);
  if (!existing && recorded) {
    const diff = differences(recorded.config, run.config);
    if (diff.length) throw new UsageError(`${join(out, 'results.json')} records ${run.id} with another configuration (${diff.join('; ')}); use another --out.`);
    return { action: 'recorded', prior: recorded };
  }
  if (existing) {
    const diff = differences(existing, run.config);
    if (diff.length) throw new UsageError(`${dir.dir} holds a run with another configuration (${diff.join('; ')}); use another --out.`);
    const summary = readJson<TrainSummary>(join(dir.dir, 'summary.json'));
    if (summary?.status === 'completed') return { action: 'finished', existing: { config: existing, summary } };
    return dir.hasCheckpoint() ? { action: 'resume', started: existing } : { action: 'train' };
  }
  const reused = records.reusable.find((r) => r.id === run.id && !differences(r.config, run.config).length);
  return reused ? { action: 'reused', prior: reused } : { action: 'train' };
}

/**
 * What a comparison would do with each of its planned runs (lottery runs are planned only once
 * their learned run has finished), without writing anything.
 * @throws {@link UsageError} as running it would
 */
export function previewComparison(spec: CompareSpec, out: string, reuse: string[] = []): Array<{ id: string; action: RunAction; from?: string }> {
  const records = recordsOf(out, reuse);
  return planRuns(spec).map((run) => {
    const { action, prior } = decide(run, out, records);
    return { id: run.id, action, ...(action === 'reused' ? { from: prior!.from } : {}) };
  });
}

/**
 * Takes one planned run as {@link decide} says, or trains it: resumes it from its checkpoint, or
 * starts it (clearing a directory that holds no checkpoint). Returns its summary and the
 * configuration it was trained with (null when it stopped before its end).
 */
async function runOne(run: PlannedRun, decision: Decision, dataset: ImageDataset, options: RunOptions, announce: () => void): Promise<{ summary: TrainSummary; config: RunConfig } | null> {
  if (decision.existing) return decision.existing;
  if (decision.prior) return { summary: decision.prior.summary, config: decision.prior.config };
  announce();
  const dir = new RunDir(join(options.out, 'runs', run.id));
  const resume = decision.action === 'resume';
  if (!resume) {
    rmSync(dir.dir, { recursive: true, force: true }); // started, nothing saved yet
    dir.writeConfig(run.config);
  }
  writeFileAtomic(join(dir.dir, 'versions.json'), `${JSON.stringify(versions())}\n`); // of the code that trains it
  const summary = await train(run.config, dataset, dir, { resume, backend: options.backendName, workers: options.workers, shouldStop: options.shouldStop, quiet: options.quiet });
  return summary.status === 'completed' ? { summary, config: decision.started ?? run.config } : null;
}

/**
 * Runs every run of a comparison that has not finished yet (grid, learned bits, then the lottery
 * runs of each learned run), sequentially. Returns the finished runs, and whether it stopped early
 * (Ctrl-C) — then the unfinished run keeps its checkpoint and the next call resumes it.
 */
export async function runComparison(spec: CompareSpec, dataset: ImageDataset, options: RunOptions): Promise<{ finished: FinishedRun[]; stopped: boolean }> {
  const finished: FinishedRun[] = [];
  const queue = planRuns(spec);
  const records = recordsOf(options.out, options.reuse ?? []);
  for (let i = 0; i < queue.length; i++) {
    const run = queue[i]!;
    if (options.shouldStop()) return { finished, stopped: true };
    const decision = decide(run, options.out, records);
    const done = await runOne(run, decision, dataset, options, () => options.onStart?.(run, i, queue.length));
    if (!done) return { finished, stopped: true };
    const { prior } = decision; // recorded or reused: no run directory here
    const versions = readJson<Record<string, string>>(join(options.out, 'runs', run.id, 'versions.json')) ?? prior?.versions ?? null;
    const curve = readCurve(join(options.out, 'runs', run.id)) ?? prior?.curve ?? null;
    const result = { ...run, ...done, curve, versions, ...(prior?.from ? { from: prior.from } : {}) }; // the configuration it was trained with
    finished.push(result);
    if (decision.action === 'train' || decision.action === 'resume') await options.onFinished?.(finished);
    if (run.group === 'learned' && spec.lottery) queue.push(...lotteryRuns(spec, result));
  }
  return { finished, stopped: false };
}
