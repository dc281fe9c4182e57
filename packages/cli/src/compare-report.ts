import { join } from 'node:path';
import { writeFileAtomic } from '@srq/models';
import { COMPARE_METHODS, type CompareSpec, type FinishedRun } from './compare';
import type { RunConfig } from './run-config';
import { meanStd, median } from './stats';
import { versions } from './versions';

/** One cell of the method × bits table. */
export interface CellStats {
  method: string;
  bits: number;
  mean: number;
  std: number;
  n: number;
}

/** Test error (%) per method and bits of the grid runs, over seeds. */
export function gridStats(runs: FinishedRun[]): CellStats[] {
  const cells = new Map<string, { method: string; bits: number; errors: number[] }>();
  for (const r of runs.filter((x) => x.group === 'grid')) {
    const key = `${r.label}|${r.bits}`;
    const cell = cells.get(key) ?? { method: r.label, bits: r.bits, errors: [] };
    cell.errors.push(r.summary.test_error);
    cells.set(key, cell);
  }
  return [...cells.values()].map((c) => ({ method: c.method, bits: c.bits, ...meanStd(c.errors) }));
}

/** One method × bits cell's learning curve: test error after each epoch over seeds. */
export interface CurveStats {
  method: string;
  bits: number;
  epochs: { mean: number; std: number; n: number }[];
}

/** Test error after every epoch per method and bits of the grid runs, over the seeds whose runs recorded a curve. */
export function curveStats(runs: FinishedRun[]): CurveStats[] {
  const cells = new Map<string, { method: string; bits: number; perEpoch: number[][] }>();
  for (const r of runs.filter((x) => x.group === 'grid' && x.curve?.length)) {
    const key = `${r.label}|${r.bits}`;
    const cell = cells.get(key) ?? { method: r.label, bits: r.bits, perEpoch: [] };
    for (const p of r.curve!) (cell.perEpoch[p.epoch - 1] ??= []).push(p.test_error);
    cells.set(key, cell);
  }
  return [...cells.values()].map((c) => ({ method: c.method, bits: c.bits, epochs: Array.from(c.perEpoch, (e) => meanStd(e ?? [])) }));
}

/** A run with learned bits (learned, or those bits retrained from scratch) against uniform SRQ of its seed and σ at the same BOPs per image. */
export interface BopsMatch {
  run: FinishedRun;
  /** The uniform srq runs of its seed nearest below and above its BOPs (the same run when one matches). */
  below: FinishedRun | null;
  above: FinishedRun | null;
  /** Their test error at its BOPs, linear in BOPs between them (null unless they bracket it). */
  uniformError: number | null;
}

/** Each run once: a grid run that is also the lottery's uniform run comes twice in `runs` (once per group). */
const oncePerId = (runs: FinishedRun[]) => runs.filter((r, i) => runs.findIndex((x) => x.id === r.id) === i);

/**
 * Every learned and lottery run against the uniform srq runs (grid or lottery twins) of its seed
 * and its σ (learned, or fixed: srq+fixed-sigma), at its BOPs per image.
 */
export function bopsMatches(runs: FinishedRun[]): BopsMatch[] {
  const uniform = oncePerId(runs).filter((r) => r.label === 'srq' || r.label === 'srq+fixed-sigma' || r.group === 'uniform');
  return runs
    .filter((r) => r.group === 'learned' || r.group === 'lottery')
    .map((run) => {
      const bops = run.summary.bops_per_image;
      const same = uniform.filter((u) => u.seed === run.seed && !u.config.fixedSigma === !run.config.fixedSigma).sort((a, b) => a.summary.bops_per_image - b.summary.bops_per_image);
      const below = same.filter((u) => u.summary.bops_per_image <= bops).at(-1) ?? null;
      const above = same.find((u) => u.summary.bops_per_image >= bops) ?? null;
      let uniformError: number | null = null;
      if (below && above) {
        const [b0, b1] = [below.summary.bops_per_image, above.summary.bops_per_image];
        uniformError = b1 === b0 ? below.summary.test_error : below.summary.test_error + ((bops - b0) / (b1 - b0)) * (above.summary.test_error - below.summary.test_error);
      }
      return { run, below, above, uniformError };
    });
}

/** A method against SRQ at the same bits, seed by seed: a seed fixes the initial weights and the batch order, so two runs of one seed differ only by the method. */
export interface PairedDifference {
  method: string;
  bits: number;
  /** This method's test error minus SRQ's, per seed both ran, in seed order (negative: better than SRQ). */
  perSeed: { seed: number; difference: number }[];
  mean: number;
  std: number;
  n: number;
  /** Seeds on which this method's test error is below SRQ's. */
  better: number;
}

/** Every grid method but fp and SRQ against the SRQ grid runs of the same bits and seed (none where SRQ did not run them). */
export function pairedDifferences(runs: FinishedRun[]): PairedDifference[] {
  const grid = oncePerId(runs.filter((r) => r.group === 'grid'));
  const cells = new Map<string, PairedDifference>();
  for (const r of [...grid].sort((a, b) => a.seed - b.seed)) {
    if (r.label === 'srq' || r.label === 'fp') continue;
    const ref = grid.find((x) => x.label === 'srq' && x.bits === r.bits && x.seed === r.seed);
    if (!ref) continue;
    const key = `${r.label}|${r.bits}`;
    const cell = cells.get(key) ?? { method: r.label, bits: r.bits, perSeed: [], mean: 0, std: 0, n: 0, better: 0 };
    cell.perSeed.push({ seed: r.seed, difference: r.summary.test_error - ref.summary.test_error });
    cells.set(key, cell);
  }
  const order = (m: string) => COMPARE_METHODS.indexOf(m as (typeof COMPARE_METHODS)[number]);
  return [...cells.values()]
    .sort((a, b) => order(a.method) - order(b.method) || a.bits - b.bits)
    .map((c) => {
      const differences = c.perSeed.map((p) => p.difference);
      return { ...c, ...meanStd(differences), better: differences.filter((d) => d < 0).length };
    });
}

const pct = (v: number) => v.toFixed(2);
const spread = (c: { mean: number; std: number }) => `${pct(c.mean)} ± ${Number.isNaN(c.std) ? '–' : pct(c.std)}`;
const cellText = (c: { mean: number; std: number; n: number } | undefined) => (c ? `${spread(c)} (n=${c.n})` : '–');
const int = (v: number) => Math.round(v).toLocaleString('en-US');
/** A difference in points with its sign, to two decimals (0.00 when it rounds to nothing). */
const signed = (v: number) => {
  const r = Math.round(v * 100) / 100;
  return r > 0 ? `+${r.toFixed(2)}` : r < 0 ? `−${(-r).toFixed(2)}` : '0.00';
};

/**
 * The spec widened to every run the results hold: a directory filled by several commands (other
 * `--methods`, `--bits` or `--seeds`) reports all of their grid methods, bits and seeds.
 */
export function coveredSpec(spec: CompareSpec, runs: FinishedRun[]): CompareSpec {
  const grid = runs.filter((r) => r.group === 'grid');
  const methods = COMPARE_METHODS.filter((m) => spec.methods.includes(m) || grid.some((r) => r.label === m)); // one order, whichever command wrote last
  const bits = [...new Set([...spec.bits, ...grid.filter((r) => r.label !== 'fp').map((r) => r.bits)])].sort((a, b) => a - b);
  const seeds = [...new Set([...spec.seeds, ...runs.map((r) => r.seed)])].sort((a, b) => a - b);
  return { ...spec, methods, bits, seeds };
}

/** The distinct values of `describe` over `runs`, joined (each run set by the command that trained it). */
const distinct = (runs: FinishedRun[], describe: (r: FinishedRun) => string) => [...new Set(runs.map(describe))].join('; ');

/** A run's DropBits settings in words. */
function dropBitsText(c: RunConfig): string {
  const pick = { nearest: '', sample: ', the forward a sample between the two kept codes around x', full: ', the forward on the whole grid (gradient-only)' }[c.dropbitsPick ?? 'nearest'];
  return `p = ${c.dropbits} per ${c.dropbitsGranularity}${(c.dropbitsOn ?? 'both') !== 'both' ? `, on ${c.dropbitsOn} only` : ''}${c.dropbitsAnneal ? ', annealed linearly to 0 over each run' : ''}${(c.dropbitsKeepBits ?? 1) > 1 ? `, never below ${c.dropbitsKeepBits} bits` : ''}${pick}`;
}

/** What the runs' methods were set to, for the settings that only some methods read. */
function methodSettings(runs: FinishedRun[]): string {
  const parts: string[] = [];
  const dropped = runs.filter((r) => r.label === 'srq+dropbits');
  if (dropped.length) parts.push(`srq+dropbits: ${distinct(dropped, (r) => dropBitsText(r.config))}`);
  const fixed = runs.filter((r) => r.label === 'srq+fixed-sigma');
  if (fixed.length) parts.push(`srq+fixed-sigma: ${distinct(fixed, (r) => `σ/α kept at ${r.config.sigmaInit ?? '1/3'}, not learned`)}`);
  if (runs.some((r) => r.config.method === 'srq' && !r.config.fixedSigma)) parts.push(`${fixed.length ? 'the other srq runs' : 'srq'}: σ learned, as the paper's SRQ (\`srq train\` keeps it fixed unless --learn-sigma)`);
  for (const method of ['rq', 'rq-st']) {
    const relaxed = runs.filter((r) => r.config.method === method); // each tuned on its own (results/rq-sweep-mnist, results/rq-st-sweep-mnist)
    if (relaxed.length) parts.push(`${method}: ${distinct(relaxed, (r) => `temperature ${r.config.temperature}, σ/α at init ${r.config.sigmaInit ?? '1/3'}`)}`);
  }
  const learned = runs.filter((r) => r.group === 'learned');
  if (learned.length)
    parts.push(`learned bits: ${distinct(learned, (r) => `${r.config.targetBits !== null ? `a model-wide budget of ${r.config.targetBits} average bits` : `λ = ${r.config.lambda} per bit`}, gates ${(r.config.gateAnneal ?? 1) > 1 ? `sharpened ×${r.config.gateAnneal} over each run` : 'not annealed'}`)}`);
  return parts.map((p) => `; ${p}`).join('');
}

/** The results page of a comparison (markdown): every run in `runs`, made by `commands` in order; `spec` covers them ({@link coveredSpec}). */
export function resultsMarkdown(spec: CompareSpec, runs: FinishedRun[], commands: string[], meta: Record<string, string>): string {
  const stats = gridStats(runs);
  const methods = spec.methods;
  const lines: string[] = [];
  lines.push(`# ${spec.model} on ${spec.dataset}: test error by method and bits`, '');
  lines.push(commands.length === 1 ? `Made by \`${commands[0]}\`.` : `Made by these commands, in order:\n\n${commands.map((c) => `- \`${c}\``).join('\n')}`, '');
  lines.push(
    `${oncePerId(runs).length} runs: ${spec.epochs} epoch${spec.epochs === 1 ? '' : 's'} each, batch ${spec.batchSize}, Adam ${spec.lr} with cosine decay, ` +
      `${spec.limit ? `a fixed random subset of ${spec.limit} training images` : 'the full training set'}, seeds ${spec.seeds.join(', ')}${methodSettings(runs)}. ` +
      `Versions of the code that wrote this page: ${Object.entries(meta).map(([k, v]) => `${k} ${v}`).join(', ')}; each run's are in results.json and in its row below.`,
    '',
  );
  lines.push('## Test error (%), mean ± std over seeds', '');
  lines.push(`| method | ${spec.bits.map((b) => `${b}/${b}`).join(' | ')} |`, `| --- | ${spec.bits.map(() => '---').join(' | ')} |`);
  for (const m of methods) {
    if (m === 'fp') {
      const c = stats.find((s) => s.method === 'fp');
      lines.push(`| fp (32/32) | ${spec.bits.map(() => cellText(c)).join(' | ')} |`);
    } else lines.push(`| ${m} | ${spec.bits.map((b) => cellText(stats.find((s) => s.method === m && s.bits === b))).join(' | ')} |`);
  }
  lines.push('', '![test error vs bits](plot.svg)', '');
  const curves = curveStats(runs);
  if (spec.epochs > 1 && curves.length) {
    // whether the runs have converged: the test error after every epoch
    const name = (c: CurveStats) => (c.method === 'fp' ? 'fp' : `${c.method} ${c.bits}/${c.bits}`);
    lines.push('## Test error (%) after each epoch, mean ± std over seeds', '');
    lines.push(`| epoch | ${curves.map(name).join(' | ')} |`, `| --- | ${curves.map(() => '---').join(' | ')} |`);
    for (let e = 0; e < spec.epochs; e++) lines.push(`| ${e + 1} | ${curves.map((c) => (c.epochs[e]?.n ? cellText(c.epochs[e]) : '–')).join(' | ')} |`);
    lines.push('');
  }
  const paired = pairedDifferences(runs);
  if (paired.length) {
    lines.push('## Against SRQ, seed by seed', '');
    lines.push("Each method's test error minus SRQ's at the same bits and seed, in points (negative: better than SRQ). A seed fixes the initial weights and the order of the batches, so the two runs differ only by the method; the spread of these differences is the one to set a difference against.", '');
    lines.push('| method | bits | per seed | mean ± std | better than SRQ on |', '| --- | --- | --- | --- | --- |');
    for (const p of paired) {
      const perSeed = p.perSeed.map((x) => `${signed(x.difference)} (seed ${x.seed})`).join(', ');
      lines.push(`| ${p.method} | ${p.bits}/${p.bits} | ${perSeed} | ${signed(p.mean)} ± ${Number.isNaN(p.std) ? '–' : pct(p.std)} | ${p.better} of ${p.n} seeds |`);
    }
    lines.push('');
  }
  lines.push('## Every run', '', 'Train loss, train acc %: over the last epoch\'s training batches (in training mode; – for runs recorded without them), beside the test error they show whether a run underfits. Epoch s: the median of the run\'s epoch times (training and evaluation; a process paused or slowed during a few epochs moves it little). Wall s: the whole run, with every pause. Trained by: the commit of the code, and the results directory a run was taken from (`--reuse`).', '');
  lines.push('| run | method | bits w/a | seed | test error % | train loss | train acc % | model bytes | BOPs / image | average bits | images/s | epoch s | wall s | trained by |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of oncePerId(runs)) {
    const s = r.summary;
    const epochS = r.curve?.length ? Math.round(median(r.curve.map((p) => p.epoch_s))) : '–';
    const last = r.curve?.at(-1);
    const fit = last?.loss !== undefined && last.train_acc !== undefined ? `${last.loss.toFixed(3)} | ${pct(last.train_acc)}` : '– | –';
    lines.push(`| ${r.id} | ${r.label} | ${r.group === 'grid' || r.group === 'uniform' ? `${r.bits}/${r.bits}` : 'per layer'} | ${r.seed} | ${pct(s.test_error)} | ${fit} | ${int(s.model_bytes)} | ${s.bops_per_image.toExponential(3)} | ${s.average_bits.toFixed(2)} | ${Math.round(s.img_per_s)} | ${epochS} | ${Math.round(s.wall_s)} | ${r.versions?.commit ?? '–'}${r.from ? ` (in ${r.from})` : ''} |`);
  }
  const perLayer = runs.filter((r) => r.group !== 'grid');
  if (perLayer.length) {
    const keys = Object.keys(perLayer[0]!.summary.bits);
    lines.push('', '## Learned bit-widths per layer', '');
    lines.push(`| run | ${keys.join(' | ')} | average | model bytes | BOPs / image | test error % |`, `| --- | ${keys.map(() => '---').join(' | ')} | --- | --- | --- | --- |`);
    for (const r of perLayer) lines.push(`| ${r.id} | ${keys.map((k) => r.summary.bits[k] ?? '–').join(' | ')} | ${r.summary.average_bits.toFixed(2)} | ${int(r.summary.model_bytes)} | ${r.summary.bops_per_image.toExponential(3)} | ${pct(r.summary.test_error)} |`);
    const groups = ['learned', 'lottery', 'uniform'] as const;
    const summaries = groups.map((g) => ({ g, ...meanStd(runs.filter((r) => r.group === g).map((r) => r.summary.test_error)) })).filter((x) => x.n > 0);
    if (summaries.length > 1) {
      lines.push('', '| runs | test error %, mean ± std | n |', '| --- | --- | --- |');
      for (const x of summaries) lines.push(`| ${x.g} | ${spread(x)} | ${x.n} |`);
    }
    const matches = bopsMatches(runs);
    if (matches.length) {
      // the budget is in average bits; what the bits cost is BOPs, which weigh each layer by its MACs
      lines.push('', '## Learned bits against uniform bits at the same BOPs', '');
      lines.push('Uniform below / above: the srq runs of uniform bits with the same seed and σ (learned, or fixed: srq+fixed-sigma) nearest in BOPs per image at or below / above the run\'s — their bits, BOPs relative to the run\'s, test error %. At these BOPs: their test error linear in BOPs between them (– when they do not bracket the run). Difference: the run\'s test error minus it (negative: the learned bits are better).', '');
      lines.push('| run | BOPs / image | test error % | uniform below | uniform above | uniform at these BOPs % | difference |', '| --- | --- | --- | --- | --- | --- | --- |');
      const near = (r: FinishedRun | null, m: BopsMatch) => (r ? `${r.bits}/${r.bits}: ${(r.summary.bops_per_image / m.run.summary.bops_per_image).toFixed(2)}×, ${pct(r.summary.test_error)}` : '–');
      for (const m of matches) lines.push(`| ${m.run.id} | ${m.run.summary.bops_per_image.toExponential(3)} | ${pct(m.run.summary.test_error)} | ${near(m.below, m)} | ${near(m.above, m)} | ${m.uniformError === null ? '–' : pct(m.uniformError)} | ${m.uniformError === null ? '–' : pct(m.run.summary.test_error - m.uniformError)} |`);
      const diffs = (['learned', 'lottery'] as const).map((g) => ({ g, ...meanStd(matches.filter((m) => m.run.group === g && m.uniformError !== null).map((m) => m.run.summary.test_error - m.uniformError!)) })).filter((x) => x.n > 0);
      if (diffs.length) {
        lines.push('', '| runs | difference, mean ± std | n |', '| --- | --- | --- |');
        for (const x of diffs) lines.push(`| ${x.g} | ${spread(x)} | ${x.n} |`);
      }
    }
  }
  lines.push('');
  return lines.join('\n');
}

/**
 * Writes `results.md`, `results.json` (every run: its configuration and summary, with the spec
 * widened to the runs, the commands that made them — the last is `command` — and the versions) and
 * the plot into `out`, each atomically.
 */
export async function writeResults(out: string, commandSpec: CompareSpec, runs: FinishedRun[], commands: string[]): Promise<void> {
  const meta = versions();
  const spec = coveredSpec(commandSpec, runs);
  writeFileAtomic(join(out, 'results.json'), `${JSON.stringify({ command: commands.at(-1), commands, spec, versions: meta, runs: runs.map((r) => ({ id: r.id, group: r.group, method: r.label, bits: r.bits, seed: r.seed, config: r.config, summary: r.summary, curve: r.curve, versions: r.versions, ...(r.from ? { from: r.from } : {}) })) }, null, 2)}\n`);
  const { renderPlot } = await import('./compare-plot');
  const { svg, png } = await renderPlot(spec, gridStats(runs));
  writeFileAtomic(join(out, 'plot.svg'), svg);
  writeFileAtomic(join(out, 'plot.png'), png);
  writeFileAtomic(join(out, 'results.md'), resultsMarkdown(spec, runs, commands, meta));
}
