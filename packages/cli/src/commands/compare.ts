import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { BACKEND_NAMES, useBackend } from '@srq/backends';
import { DATASET_NAMES, loadDataset } from '@srq/datasets';
import { DROP_GRANULARITIES } from '@srq/dropbits';
import { validateModelQuantConfig, writeFileAtomic, ZOO } from '@srq/models';
import { COMPARE_METHODS, SRQ_DROPBITS_P, withEarlierRuns, planRuns, previewComparison, runComparison, type CompareMethod, type CompareSpec, type FinishedRun, type RunAction } from '../compare';
import { writeResults } from '../compare-report';
import { EXIT, handleError, UsageError } from '../errors';
import { withInterrupt } from '../interrupt';
import { choice, int, list, num } from '../options';
import { quantConfig } from '../run-config';
import { dropbitsPickOption, gateAnnealOf, gateAnnealOption, penaltyWeight } from './train';
import { defaultWorkers } from '../data-parallel';

/** The flags of `srq compare`: the spec, with the optional values undefined, plus the command's own. */
type CompareFlags = Omit<CompareSpec, 'limit' | 'targetBits' | 'dataDir' | 'cacheDir' | 'sigmaInit' | 'lambda' | 'gateAnneal'> & {
  lambda?: number;
  gateAnneal?: number;
  sigmaInit?: number;
  limit?: number;
  targetBits?: number;
  dataDir?: string;
  cacheDir?: string;
  workers?: number;
  reuse?: string[];
  dryRun: boolean;
  out: string;
  json: boolean;
  quiet: boolean;
};

/** `srq compare`. */
export function compareCommand(): Command {
  return new Command('compare')
    .description('train a grid of methods × bits × seeds (resumable), then write results.md, results.json and an accuracy-vs-bits plot (SVG, PNG)')
    .requiredOption('--out <dir>', 'results directory (runs/ inside; finished runs are skipped when run again)')
    .addOption(new Option('--dataset <name>', 'dataset').choices(DATASET_NAMES).default('mnist'))
    .addOption(new Option('--model <name>', 'zoo model').choices(Object.keys(ZOO)).default('lenet5'))
    .option('--methods <list>', `comma-separated: ${COMPARE_METHODS.join(', ')}`, list(choice(COMPARE_METHODS)), ['fp', 'ste', 'rq', 'srq', 'srq+dropbits'] as CompareMethod[])
    .option('--bits <list>', 'comma-separated bits (weights = activations), 1-8', list(int(1, 8)), [2, 4])
    .option('--seeds <list>', 'comma-separated seeds', list(int(0)), [0, 1])
    .option('--epochs <n>', 'epochs per run', int(1), 1)
    .option('--batch-size <n>', 'batch size', int(1), 128)
    .option('--lr <lr>', 'Adam learning rate (cosine decay to 0)', num(0, Infinity, 'open'), 1e-3)
    .option('--dropbits <p>', 'DropBits p of srq+dropbits (default: the DropBits study\'s variant, gradient-only per element)', num(0, 1, 'open'), SRQ_DROPBITS_P)
    .addOption(new Option('--dropbits-granularity <g>', 'one dropped-bit draw per element, channel or tensor').choices(DROP_GRANULARITIES).default('element'))
    .addOption(new Option('--dropbits-on <which>', 'which quantizers DropBits regularizes in srq+dropbits').choices(['weights', 'activations', 'both']).default('both'))
    .option('--dropbits-anneal', 'anneal the DropBits p of srq+dropbits linearly to 0 over each run', false)
    .option('--dropbits-keep-bits <n>', 'srq+dropbits keeps at least n bits of each grid (2: never below 2 bits; above 1 needs --dropbits-granularity channel or tensor)', int(1, 8), 1)
    .addOption(dropbitsPickOption())
    .option('--temperature <t>', 'Gumbel-softmax temperature of rq / rq-st', num(0, Infinity, 'open'), 1)
    .option('--sigma-init <r>', 'σ/α at init of rq / rq-st (default 1/3, as srq)', num(0, Infinity, 'open'))
    .option('--limit <n>', 'train on a fixed random subset of N training images (the same for every run)', int(1))
    .option('--learn-bits', 'also learn per-layer bit-widths (srq + BitGates from the largest --bits), one run per seed', false)
    .option('--target-bits <x>', "average bits over the model's quantizers for --learn-bits (one model-wide budget)", num(1, 8))
    .option('--lambda <l>', 'weight of the expected-bits penalty for --learn-bits (default 0.01 per bit; 1 with --target-bits, a model-wide budget)', num(0))
    .addOption(gateAnnealOption())
    .option('--lottery', 'retrain from scratch with the learned bits fixed, beside uniform bits of the same average (needs --learn-bits)', false)
    .addOption(new Option('--backend <name>', 'tfjs backend').choices(BACKEND_NAMES).default('wasm'))
    .option('--workers <n>', 'data-parallel worker threads (default: CPU cores - 1)', int(0))
    .option('--reuse <dirs>', 'comma-separated results directories of other comparisons: their finished runs of the same id and configuration are taken, not trained again', list(String))
    .option('--data-dir <dir>', 'data directory (CIFAR-10 binary files, or MNIST IDX files)')
    .option('--cache-dir <dir>', 'cache directory for converted datasets (Fashion-MNIST)')
    .option('--dry-run', 'list what each planned run would do (train, resume, finished, recorded, reused) and write nothing', false)
    .option('--json', 'print the results (results.json) as one JSON line on stdout (with --dry-run: the list)', false)
    .option('--quiet', 'no progress output on stderr', false)
    .action(async (flags: CompareFlags) => {
      try {
        await runCompare(flags);
      } catch (e) {
        handleError(e);
      }
    });
}

function specOf(flags: CompareFlags): CompareSpec {
  if (flags.lottery && !flags.learnBits) throw new UsageError('--lottery needs --learn-bits.');
  if (flags.targetBits !== undefined && !flags.learnBits) throw new UsageError('--target-bits needs --learn-bits.');
  const gateAnneal = gateAnnealOf(flags);
  const { limit, targetBits, dataDir, cacheDir, sigmaInit, lambda, gateAnneal: _gateAnneal, workers: _workers, reuse: _reuse, dryRun: _dryRun, out: _out, json: _json, quiet: _quiet, dropbitsPick, ...fixed } = flags;
  return { ...fixed, ...(dropbitsPick && dropbitsPick !== 'nearest' ? { dropbitsPick } : {}), ...(gateAnneal !== undefined ? { gateAnneal } : {}), bits: [...flags.bits].sort((a, b) => a - b), limit: limit ?? null, sigmaInit: sigmaInit ?? null, lambda: penaltyWeight(lambda, targetBits), targetBits: targetBits ?? null, dataDir: dataDir ?? null, cacheDir: cacheDir ?? null };
}

/** `--dry-run`: what each planned run would do (stdout; one JSON line with `--json`), nothing written. */
function printPreview(spec: CompareSpec, flags: CompareFlags): void {
  const runs = previewComparison(spec, flags.out, flags.reuse ?? []);
  const later = spec.lottery ? 'lottery runs are planned after each learned run' : null;
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ runs, ...(later ? { later } : {}) })}\n`);
    return;
  }
  for (const r of runs) process.stdout.write(`${r.action.padEnd(8)} ${r.id}${r.from ? ` (from ${r.from})` : ''}\n`);
  const count = (a: RunAction) => runs.filter((r) => r.action === a).length;
  process.stdout.write(`${count('train')} to train, ${count('resume')} to resume, ${runs.length - count('train') - count('resume')} finished (here, recorded or reused)${later ? `; ${later}` : ''}\n`);
}

/** A command's flags as a set (each `--flag` with the values after it, sorted): the same command with its flags in another order is listed once. */
function flagsOf(command: string): string {
  const groups: string[] = [];
  for (const token of command.split(' ').slice(2)) {
    if (token.startsWith('--') || !groups.length) groups.push(token);
    else groups[groups.length - 1] += ` ${token}`;
  }
  return groups.sort().join(' ');
}

async function runCompare(flags: CompareFlags): Promise<void> {
  const spec = specOf(flags);
  const planned = planRuns(spec);
  for (const run of planned) validateModelQuantConfig(quantConfig(run.config)); // before anything is written
  for (const dir of flags.reuse ?? []) if (!existsSync(join(dir, 'results.json'))) throw new UsageError(`--reuse: ${dir} holds no results.json (not an srq compare directory).`);
  const specFile = join(flags.out, 'compare.json');
  const command = `srq ${process.argv.slice(2).join(' ')}`;
  let commands = [command];
  if (existsSync(specFile)) {
    const before = JSON.parse(readFileSync(specFile, 'utf8')) as { command: string; commands?: string[]; spec: CompareSpec };
    const kept = (s: CompareSpec) => {
      // what may change between the commands of one directory: each run's configuration is checked on its own (decide())
      const k: Record<string, unknown> = { ...s, methods: [], bits: [], seeds: [], learnBits: false, lottery: false, targetBits: null, lambda: 0, gateAnneal: 1, temperature: 1, sigmaInit: null, dropbits: 0, dropbitsGranularity: null, dropbitsOn: null, dropbitsAnneal: null, dropbitsKeepBits: null, dropbitsPick: null };
      return JSON.stringify(k, Object.keys(k).sort());
    };
    if (kept(before.spec) !== kept(spec)) throw new UsageError(`${flags.out} holds a comparison with other settings (only --methods, --bits, --seeds, --temperature, --sigma-init, --learn-bits, --target-bits, --lambda, --gate-anneal, --lottery and the --dropbits flags may change between runs of it); use another --out.`);
    commands = [...(before.commands ?? [before.command]).filter((c) => flagsOf(c) !== flagsOf(command)), command]; // the last is the latest
  }
  if (flags.dryRun) return printPreview(spec, flags);
  const dataset = loadDataset(spec.dataset, { ...(spec.dataDir ? { dataDir: spec.dataDir } : {}), ...(spec.cacheDir ? { cacheDir: spec.cacheDir } : {}) });
  const backend = await useBackend(spec.backend);
  const workers = backend.backend === 'tensorflow' ? 0 : (flags.workers ?? defaultWorkers());
  mkdirSync(join(flags.out, 'runs'), { recursive: true });
  writeFileAtomic(specFile, `${JSON.stringify({ command, commands, spec }, null, 2)}\n`);
  if (!flags.quiet) process.stderr.write(`srq compare: ${planned.length}${spec.lottery ? ' + lottery' : ''} runs of ${spec.model} on ${spec.dataset}, backend ${backend.backend}, ${workers + 1} thread${workers ? 's' : ''}, out ${flags.out}\n`);
  const record = (finished: FinishedRun[]) => writeResults(flags.out, spec, withEarlierRuns(flags.out, finished), commands);
  const { finished, stopped } = await withInterrupt((shouldStop) =>
    runComparison(spec, dataset, {
      out: flags.out,
      backendName: backend.backend,
      workers,
      quiet: flags.quiet,
      shouldStop,
      reuse: flags.reuse ?? [],
      onStart: (run, i, total) => {
        if (!flags.quiet) process.stderr.write(`[${i + 1}/${total}] ${run.id}\n`);
      },
      onFinished: record, // after each trained run: a killed process keeps what it finished
    }),
  );
  await record(finished);
  if (flags.json) process.stdout.write(`${JSON.stringify(JSON.parse(readFileSync(join(flags.out, 'results.json'), 'utf8')))}\n`);
  if (!flags.quiet) process.stderr.write(`${stopped ? 'stopped; run the same command again to continue. ' : ''}results in ${join(flags.out, 'results.md')}\n`);
  if (stopped) process.exit(EXIT.interrupted);
}
