// End to end: `srq compare` grids on MNIST and CIFAR-10 files.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bopsMatches, lotteryRuns, pairedDifferences, planRuns, quantConfig, resultsMarkdown, type CompareSpec, type FinishedRun, type PlannedRun } from '@srq/cli';
import { BIN, cifarFiles, exited, NODE, srq, tmp, waitFor } from './cli-run';
import { workspaceDir } from './node-run';

describe('srq compare on MNIST', () => {
  it('runs the grid, learned bits and the lottery check, writes table, JSON and plots, and skips finished runs when run again', () => {
    const out = join(tmp(), 'cmp');
    const args = ['compare', '--out', out, '--limit', '256', '--methods', 'fp,srq', '--bits', '4', '--seeds', '0,1', '--learn-bits', '--target-bits', '2.5', '--lottery', '--workers', '0'];
    const r = srq([...args, '--json', '--quiet']);
    expect(r.status, r.stderr).toBe(0);
    const results = JSON.parse(r.stdout) as { runs: Array<{ id: string; group: string; config: { layerBits: unknown }; summary: Record<string, unknown> & { bits: Record<string, number>; average_bits: number } }> };
    const learned = results.runs.filter((x) => x.group === 'learned');
    const uniform = (k: number) => Math.max(1, Math.round(learned[k]!.summary.average_bits));
    // uniform bits of the learned average: the grid's srq run when the grid has those bits (4)
    const uniformId = (k: number) => (uniform(k) === 4 ? `mnist-lenet5-srq-w4a4-s${k}` : `mnist-lenet5-srq-uniform-w${uniform(k)}a${uniform(k)}-s${k}`);
    expect(results.runs.map((x) => x.id)).toEqual([
      'mnist-lenet5-fp-s0', 'mnist-lenet5-fp-s1', 'mnist-lenet5-srq-w4a4-s0', 'mnist-lenet5-srq-w4a4-s1',
      'mnist-lenet5-srq-learned-from4-t2.5-a30-s0', 'mnist-lenet5-srq-learned-from4-t2.5-a30-s1',
      'mnist-lenet5-srq-lottery-s0', uniformId(0),
      'mnist-lenet5-srq-lottery-s1', uniformId(1),
    ]);
    for (const run of results.runs) for (const key of ['test_error', 'model_bytes', 'bops_per_image', 'average_bits', 'bits']) expect(run.summary).toHaveProperty(key);
    for (const run of results.runs) expect(run).toHaveProperty('versions.node', process.version); // of the code that trained it
    expect(results.runs.find((x) => x.id.endsWith('lottery-s0'))!.config.layerBits).toEqual(learned[0]!.summary.bits); // retrained with the learned bits fixed
    for (const run of learned) {
      expect(run.summary.average_bits).toBeLessThanOrEqual(2.5); // the budget holds for the learned bits
      for (const [tensor, bits] of Object.entries(run.summary.bits)) expect(bits, tensor).toBeGreaterThanOrEqual(tensor.endsWith('/weights') ? 2 : 1); // never the sign-less 1-bit weight grid
      expect(run.summary).toHaveProperty('budget_dropped_bits');
    }
    const md = readFileSync(join(out, 'results.md'), 'utf8');
    expect(md).toMatch(/\| fp \(32\/32\) \| \d+\.\d\d ± \d+\.\d\d \(n=2\) \|/);
    expect(md).toMatch(/\| srq \| \d+\.\d\d ± \d+\.\d\d \(n=2\) \|/);
    expect(md).toContain('## Learned bit-widths per layer');
    // learned and lottery runs against the uniform srq runs of their seed at the same BOPs
    type Run = (typeof results.runs)[number] & { seed: number; method: string; bits: number; summary: { bops_per_image: number; test_error: number } };
    const all = results.runs as Run[];
    for (const run of all.filter((x) => x.group === 'learned' || x.group === 'lottery')) {
      const bops = run.summary.bops_per_image;
      const uniform = all.filter((x) => (x.method === 'srq' || x.group === 'uniform') && x.seed === run.seed);
      const below = uniform.filter((x) => x.summary.bops_per_image <= bops).sort((a, b) => b.summary.bops_per_image - a.summary.bops_per_image)[0];
      const above = uniform.filter((x) => x.summary.bops_per_image >= bops).sort((a, b) => a.summary.bops_per_image - b.summary.bops_per_image)[0];
      const row = md.split('\n').find((l) => l.startsWith(`| ${run.id} | ${bops.toExponential(3)} |`))!;
      expect(row, run.id).toBeDefined();
      const cells = row.split(' | ');
      expect(cells[3]).toBe(below ? `${below.bits}/${below.bits}: ${(below.summary.bops_per_image / bops).toFixed(2)}×, ${below.summary.test_error.toFixed(2)}` : '–');
      expect(cells[4]).toBe(above ? `${above.bits}/${above.bits}: ${(above.summary.bops_per_image / bops).toFixed(2)}×, ${above.summary.test_error.toFixed(2)}` : '–');
      if (below && above && below.summary.bops_per_image < above.summary.bops_per_image) {
        const t = (bops - below.summary.bops_per_image) / (above.summary.bops_per_image - below.summary.bops_per_image);
        expect(cells[5]).toBe((below.summary.test_error + t * (above.summary.test_error - below.summary.test_error)).toFixed(2));
      }
    }
    expect(readFileSync(join(out, 'plot.svg'), 'utf8')).toContain('<svg');
    expect(readFileSync(join(out, 'plot.png')).subarray(1, 4).toString()).toBe('PNG');
    // run again: every run is finished, nothing trains
    const again = srq(args);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).not.toMatch(/^\[\d+\/\d+\]/m);
    // a committed grid (results.json without the ignored runs/ directory) keeps its runs too
    const table = readFileSync(join(out, 'results.md'), 'utf8');
    rmSync(join(out, 'runs'), { recursive: true });
    const dry = srq([...args, '--dry-run']);
    expect(dry.status, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/^recorded +mnist-lenet5-fp-s0$/m);
    expect(dry.stdout).toContain('0 to train, 0 to resume, 6 finished (here, recorded or reused); lottery runs are planned after each learned run');
    const committed = srq(args);
    expect(committed.status, committed.stderr).toBe(0);
    expect(committed.stderr).not.toMatch(/^\[\d+\/\d+\]/m);
    expect(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')).runs).toEqual(results.runs);
    expect(readFileSync(join(out, 'results.md'), 'utf8')).toBe(table);
    // a command over part of the grid trains nothing and keeps every other run in the results
    const part = srq(['compare', '--out', out, '--limit', '256', '--methods', 'fp', '--bits', '4', '--seeds', '0', '--workers', '0', '--quiet']);
    expect(part.status, part.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')).runs).toEqual(results.runs);
    const partMd = readFileSync(join(out, 'results.md'), 'utf8');
    expect(partMd).toMatch(/\| srq \| \d+\.\d\d ± \d+\.\d\d \(n=2\) \|/);
    expect(partMd).toContain('Made by these commands, in order:');
    expect(partMd).toContain(`- \`srq ${args.join(' ')}\`\n- \`srq compare --out ${out} --limit 256 --methods fp --bits 4 --seeds 0 --workers 0 --quiet\`\n\n10 runs:`); // the latest last
    expect(partMd).toContain('learned bits: a model-wide budget of 2.5 average bits, gates sharpened ×30 over each run');
    expect(partMd).not.toContain('srq+dropbits'); // no such runs, no such settings
    const everyRun = partMd.split('## Every run')[1]!.split('## Learned')[0]!;
    expect(everyRun.match(/^\| mnist-lenet5-/gm)).toHaveLength(new Set(results.runs.map((x) => x.id)).size); // one row per run (the lottery's twin in the grid: the unit test below)
    // the same command with its flags in another order is listed once, as it was last run
    const reordered = ['compare', ...args.slice(3), '--out', out];
    const shuffled = srq(reordered);
    expect(shuffled.status, shuffled.stderr).toBe(0);
    const againMd = readFileSync(join(out, 'results.md'), 'utf8');
    expect(againMd).toContain(`- \`srq compare --out ${out} --limit 256 --methods fp --bits 4 --seeds 0 --workers 0 --quiet\`\n- \`srq ${reordered.join(' ')}\`\n\n10 runs:`);
    expect(againMd).not.toContain(`srq ${args.join(' ')}\``); // its earlier spelling (the first run's, with --json --quiet, stays: another command)
    // other settings in the same directory are refused, nothing is overwritten
    const before = readFileSync(join(out, 'results.md'), 'utf8');
    const other = srq([...args, '--epochs', '2']);
    expect(other.status).toBe(2);
    expect(other.stderr).toMatch(/holds a comparison with other settings/);
    expect(readFileSync(join(out, 'results.md'), 'utf8')).toBe(before);
  });

  it('runs VGG-7 on CIFAR-10 binary files (the documented CIFAR command, smoke-sized)', () => {
    const out = join(tmp(), 'cmp');
    const r = srq(['compare', '--model', 'vgg7', '--dataset', 'cifar10', '--data-dir', cifarFiles(), '--methods', 'srq+dropbits', '--bits', '2', '--seeds', '0', '--limit', '16', '--batch-size', '16', '--workers', '0', '--out', out, '--json', '--quiet']);
    expect(r.status, r.stderr).toBe(0);
    const { runs } = JSON.parse(r.stdout) as { runs: Array<{ id: string; summary: { bits: Record<string, number>; status: string } }> };
    expect(runs.map((x) => x.id)).toEqual(['cifar10-vgg7-srq-dropbits-w2a2-s0']);
    expect(runs[0]!.summary.status).toBe('completed');
    expect(Object.keys(runs[0]!.summary.bits).length).toBe(8 + 7); // 6 convs + 2 dense; 7 post-ReLU activations
  });

  it('srq+dropbits takes --dropbits-on, --dropbits-anneal, --dropbits-keep-bits and --dropbits-pick into its runs and its table; runs of several epochs record their curves', () => {
    const out = join(tmp(), 'cmp');
    const r = srq(['compare', '--out', out, '--methods', 'srq+dropbits', '--dropbits', '0.2', '--dropbits-granularity', 'channel', '--dropbits-on', 'weights', '--dropbits-anneal', '--dropbits-keep-bits', '2', '--dropbits-pick', 'sample', '--bits', '3', '--seeds', '0', '--epochs', '2', '--limit', '128', '--workers', '0', '--json', '--quiet']);
    expect(r.status, r.stderr).toBe(0);
    const { runs } = JSON.parse(r.stdout) as { runs: Array<{ config: { dropbits: number; dropbitsGranularity: string; dropbitsOn: string; dropbitsAnneal?: boolean; dropbitsKeepBits?: number; dropbitsPick?: string }; summary: { test_error: number }; curve: Array<{ epoch: number; test_error: number; epoch_s: number; loss?: number; train_acc?: number }> }> };
    expect(runs[0]!.config).toMatchObject({ dropbits: 0.2, dropbitsGranularity: 'channel', dropbitsOn: 'weights', dropbitsAnneal: true, dropbitsKeepBits: 2, dropbitsPick: 'sample' });
    const md = readFileSync(join(out, 'results.md'), 'utf8');
    expect(md).toContain('p = 0.2 per channel, on weights only, annealed linearly to 0 over each run, never below 2 bits, the forward a sample between the two kept codes around x');
    // the learning curve: test error after each epoch, in results.json and in the table
    const { curve } = runs[0]!;
    expect(curve.map((p) => p.epoch)).toEqual([1, 2]);
    expect(curve[1]!.test_error).toBe(runs[0]!.summary.test_error);
    expect(curve.every((p) => p.epoch_s > 0)).toBe(true);
    expect(md).toContain('## Test error (%) after each epoch, mean ± std over seeds');
    expect(md).toContain(`| 1 | ${curve[0]!.test_error.toFixed(2)} ± – (n=1) |`);
    expect(md).toContain(`| 2 | ${curve[1]!.test_error.toFixed(2)} ± – (n=1) |`);
    // the fit: the last epoch's training loss and accuracy, from metrics.jsonl, beside the test error
    const metrics = readFileSync(join(out, 'runs', 'mnist-lenet5-srq-dropbits-w3a3-s0', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const lastEpoch = metrics.at(-1)!;
    expect(curve[1]).toMatchObject({ loss: lastEpoch.loss, train_acc: lastEpoch.train_acc });
    expect(md).toContain(`| ${runs[0]!.summary.test_error.toFixed(2)} | ${lastEpoch.loss.toFixed(3)} | ${lastEpoch.train_acc.toFixed(2)} |`);
    // another DropBits variant of the same run: refused, nothing overwritten
    const other = srq(['compare', '--out', out, '--methods', 'srq+dropbits', '--dropbits', '0.2', '--dropbits-granularity', 'channel', '--bits', '3', '--seeds', '0', '--epochs', '2', '--limit', '128', '--workers', '0', '--quiet']);
    expect(other.status).toBe(2);
    expect(other.stderr).toMatch(/holds a run with another configuration \(dropbitsOn: "weights" ≠ "both"; dropbitsAnneal: true ≠ null; dropbitsKeepBits: 2 ≠ null; dropbitsPick: "sample" ≠ "full"\)/);
    expect(readFileSync(join(out, 'results.md'), 'utf8')).toBe(md);
    // the --dropbits flags do not reach runs without DropBits: plain srq joins the directory with the defaults
    const plain = srq(['compare', '--out', out, '--methods', 'srq', '--bits', '3', '--seeds', '0', '--epochs', '2', '--limit', '128', '--workers', '0', '--json', '--quiet']);
    expect(plain.status, plain.stderr).toBe(0);
    expect((JSON.parse(plain.stdout) as { runs: Array<{ id: string }> }).runs.map((x) => x.id)).toEqual(['mnist-lenet5-srq-w3a3-s0', 'mnist-lenet5-srq-dropbits-w3a3-s0']);
    expect(readFileSync(join(out, 'results.md'), 'utf8')).toContain('never below 2 bits, the forward a sample between the two kept codes around x'); // from the run's configuration
  });

  it('--reuse takes the finished runs of the same configuration from another results directory instead of training them', () => {
    const base = ['compare', '--bits', '2', '--seeds', '0', '--limit', '64', '--workers', '0', '--quiet'];
    const a = join(tmp(), 'a');
    const first = srq([...base, '--methods', 'srq', '--out', a, '--json']);
    expect(first.status, first.stderr).toBe(0);
    const srqRun = (JSON.parse(first.stdout) as { runs: Array<{ id: string; summary: unknown }> }).runs[0]!;
    rmSync(join(a, 'runs'), { recursive: true }); // as committed
    const b = join(tmp(), 'b');
    // --dry-run lists what would happen and writes nothing
    const dry = srq([...base, '--methods', 'ste,srq', '--reuse', a, '--out', b, '--dry-run', '--json']);
    expect(dry.status, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout).runs).toEqual([
      { id: 'mnist-lenet5-ste-w2a2-s0', action: 'train' },
      { id: 'mnist-lenet5-srq-w2a2-s0', action: 'reused', from: a },
    ]);
    expect(existsSync(b)).toBe(false);
    const second = srq([...base, '--methods', 'ste,srq', '--reuse', a, '--out', b, '--json']);
    expect(second.status, second.stderr).toBe(0);
    const runs = (JSON.parse(second.stdout) as { runs: Array<{ id: string; summary: unknown; from?: string }> }).runs;
    expect(runs.map((r) => r.id)).toEqual(['mnist-lenet5-ste-w2a2-s0', 'mnist-lenet5-srq-w2a2-s0']);
    expect(runs[1]).toMatchObject({ summary: srqRun.summary, from: a }); // taken, not trained
    expect(existsSync(join(b, 'runs', 'mnist-lenet5-srq-w2a2-s0'))).toBe(false);
    expect(existsSync(join(b, 'runs', 'mnist-lenet5-ste-w2a2-s0', 'summary.json'))).toBe(true);
    expect(readFileSync(join(b, 'results.md'), 'utf8')).toContain(`(in ${a}) |`);
    // another configuration (here the learning rate) is trained, not taken
    const c = join(tmp(), 'c');
    const third = srq([...base, '--methods', 'srq', '--lr', '0.002', '--reuse', a, '--out', c, '--json']);
    expect(third.status, third.stderr).toBe(0);
    expect(JSON.parse(third.stdout).runs[0]).not.toHaveProperty('from');
    expect(existsSync(join(c, 'runs', 'mnist-lenet5-srq-w2a2-s0', 'summary.json'))).toBe(true);
    // not a results directory: one line, exit 2, nothing written
    const d = join(tmp(), 'd');
    const bad = srq([...base, '--methods', 'srq', '--reuse', join(tmp(), 'none'), '--out', d]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--reuse: .* holds no results\.json/);
    expect(existsSync(d)).toBe(false);
  });

  it('records each run in results.json as it finishes: a killed command keeps the runs it finished', async () => {
    const out = join(tmp(), 'cmp');
    const args = ['compare', '--out', out, '--methods', 'fp', '--seeds', '0,1', '--epochs', '2', '--limit', '256', '--workers', '0', '--quiet'];
    const child = spawn(NODE, [BIN, ...args], { cwd: workspaceDir, stdio: 'ignore' });
    const code = exited(child);
    await waitFor(join(out, 'runs', 'mnist-lenet5-fp-s1', 'run.json'), child); // the second run has started
    const whileRunning = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { runs: Array<{ id: string; summary: { status: string } }> };
    child.kill('SIGKILL'); // no Ctrl-C handler runs: only what was written before stays
    expect(await code).toBe(-1); // killed, not finished by itself
    const recorded = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as typeof whileRunning;
    expect(recorded).toEqual(whileRunning);
    expect(recorded.runs.map((r) => [r.id, r.summary.status])).toEqual([['mnist-lenet5-fp-s0', 'completed']]);
    expect(readFileSync(join(out, 'results.md'), 'utf8')).toContain('| mnist-lenet5-fp-s0 |');
    rmSync(join(out, 'runs'), { recursive: true }); // a lost machine: only results.json (committed) stays
    const dry = srq([...args, '--dry-run', '--json']);
    expect(dry.status, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout).runs).toEqual([
      { id: 'mnist-lenet5-fp-s0', action: 'recorded' },
      { id: 'mnist-lenet5-fp-s1', action: 'train' },
    ]);
  });

  it('refuses inconsistent flags with one line and exit code 2', () => {
    const out = join(tmp(), 'cmp');
    for (const [args, message] of [
      [['--lottery'], /--lottery needs --learn-bits/],
      [['--gate-anneal', '2'], /--gate-anneal needs --learn-bits/],
      [['--methods', 'srq,bogus'], /expected one of fp, ste, rq, rq-st, srq, srq\+dropbits, srq\+fixed-sigma, got "bogus"/],
      [['--bits', '2,2'], /lists an item twice/],
      [['--bits', '9'], /expected an integer from 1 to 8/],
      [['--methods', 'srq+dropbits', '--dropbits-keep-bits', '2'], /keepBits = 2; allowed: 1 with granularity 'element'/],
    ] as Array<[string[], RegExp]>) {
      const r = srq(['compare', '--out', out, ...args]);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
    expect(existsSync(out)).toBe(false);
  });
});

describe('the lottery check', () => {
  const spec: CompareSpec = {
    dataset: 'mnist', model: 'lenet5', methods: ['srq'], bits: [2, 4], seeds: [0], epochs: 10, batchSize: 128, lr: 1e-3,
    dropbits: 0.05, dropbitsGranularity: 'element', temperature: 1, sigmaInit: null, limit: null, learnBits: true, targetBits: 2.5,
    lambda: 1, gateAnneal: 30, lottery: true, backend: 'wasm', dataDir: null, cacheDir: null,
  };
  const learned = (average: number): FinishedRun => {
    const run = planRuns(spec).find((r) => r.group === 'learned')!;
    return { ...run, curve: null, versions: null, summary: { average_bits: average, bits: { 'conv1/weights': 2 } } as unknown as FinishedRun['summary'] };
  };

  it('uses the grid run of the uniform bits when the grid has one, instead of training it again', () => {
    expect(planRuns(spec).map((r) => r.id)).toEqual(['mnist-lenet5-srq-w2a2-s0', 'mnist-lenet5-srq-w4a4-s0', 'mnist-lenet5-srq-learned-from4-t2.5-a30-s0']);
    const [lottery, twin] = lotteryRuns(spec, learned(2.43));
    expect(lottery!.config.layerBits).toEqual({ 'conv1/weights': 2 });
    expect(twin).toMatchObject({ id: 'mnist-lenet5-srq-w2a2-s0', group: 'uniform', bits: 2 });
    expect(twin!.config).toEqual(planRuns(spec)[0]!.config);
    // 3 uniform bits are not in the grid: a run of their own
    expect(lotteryRuns(spec, learned(2.5))[1]).toMatchObject({ id: 'mnist-lenet5-srq-uniform-w3a3-s0', group: 'uniform', bits: 3 });
  });

  it('reports a grid run that is also the lottery\'s uniform run once, and matches it at the same BOPs once', () => {
    const finished = (run: PlannedRun, error: number, bops: number, average: number): FinishedRun => ({
      ...run, curve: null, versions: null,
      summary: { test_error: error, bops_per_image: bops, average_bits: average, bits: { 'conv1/weights': run.bits }, model_bytes: 1000, img_per_s: 100, wall_s: 10 } as unknown as FinishedRun['summary'],
    });
    const [w2, w4, learnedPlan] = planRuns(spec);
    const learnedRun = finished(learnedPlan!, 1.5, 3e6, 2.43);
    const [lottery, twin] = lotteryRuns(spec, learnedRun);
    expect(twin!.id).toBe(w2!.id);
    const grid2 = finished(w2!, 2, 2e6, 2);
    const runs = [grid2, finished(w4!, 1, 4e6, 4), learnedRun, finished(lottery!, 1.8, 3e6, 2.43), { ...grid2, ...twin!, summary: grid2.summary }];
    const md = resultsMarkdown(spec, runs, ['srq compare'], {});
    expect(md).toContain('4 runs:');
    const everyRun = md.split('## Every run')[1]!.split('## Learned')[0]!;
    expect(everyRun.match(/^\| mnist-lenet5-/gm)).toHaveLength(4);
    expect(everyRun.split(`| ${w2!.id} |`)).toHaveLength(2);
    // halfway in BOPs between 2/2 (2 %) and 4/4 (1 %): 1.5 %, the learned run's own error
    const [learnedMatch] = bopsMatches(runs);
    expect(learnedMatch).toMatchObject({ below: { id: w2!.id }, above: { id: w4!.id }, uniformError: 1.5 });
    expect(md).toContain(`| ${learnedRun.id} | 3.000e+6 | 1.50 | 2/2: 0.67×, 2.00 | 4/4: 1.33×, 1.00 | 1.50 | 0.00 |`);
  });
});

describe('learned bits from SRQ with σ fixed', () => {
  const spec: CompareSpec = {
    dataset: 'mnist', model: 'lenet5', methods: ['srq+fixed-sigma'], bits: [2, 4], seeds: [0], epochs: 10, batchSize: 128, lr: 1e-3,
    dropbits: 0.1, dropbitsGranularity: 'element', temperature: 1, sigmaInit: null, limit: null, learnBits: true, targetBits: 2.5,
    lambda: 1, gateAnneal: 30, lottery: true, backend: 'wasm', dataDir: null, cacheDir: null,
  };
  const finished = (run: PlannedRun, error: number, bops: number, average: number): FinishedRun => ({
    ...run, curve: null, versions: null,
    summary: { test_error: error, bops_per_image: bops, average_bits: average, bits: { 'conv1/weights': run.bits }, model_bytes: 1000, img_per_s: 100, wall_s: 10 } as unknown as FinishedRun['summary'],
  });

  it('learns, retrains and compares with σ fixed when --methods lists srq+fixed-sigma and not srq, against the σ-fixed uniform runs only', () => {
    const [w2, w4, learnedPlan] = planRuns(spec);
    expect(learnedPlan).toMatchObject({ id: 'mnist-lenet5-srq-fixed-sigma-learned-from4-t2.5-a30-s0', label: 'srq+fixed-sigma (learned bits)', config: { method: 'srq', fixedSigma: true, learnBits: true } });
    expect(quantConfig(learnedPlan!.config)).toMatchObject({ learnSigma: false });
    const learnedRun = finished(learnedPlan!, 1.5, 3e6, 2.43);
    const [lottery, twin] = lotteryRuns(spec, learnedRun);
    expect(lottery).toMatchObject({ id: 'mnist-lenet5-srq-fixed-sigma-lottery-s0', config: { fixedSigma: true, layerBits: { 'conv1/weights': 4 } } });
    expect(twin).toMatchObject({ id: w2!.id, config: w2!.config });
    // beside σ-learned srq runs of the same bits (another command into the same directory), the match stays within σ fixed
    const learnedSigma = planRuns({ ...spec, methods: ['srq'], learnBits: false });
    const runs = [finished(w2!, 2, 2e6, 2), finished(w4!, 1, 4e6, 4), finished(learnedSigma[0]!, 9, 2e6, 2), finished(learnedSigma[1]!, 9, 4e6, 4), learnedRun];
    expect(bopsMatches(runs)).toMatchObject([{ below: { id: w2!.id }, above: { id: w4!.id }, uniformError: 1.5 }]);
    // with srq also listed, learned bits start from SRQ with σ learned, as such runs were first made
    expect(planRuns({ ...spec, methods: ['srq', 'srq+fixed-sigma'] }).at(-1)).toMatchObject({ id: 'mnist-lenet5-srq-learned-from4-t2.5-a30-s0', config: { learnBits: true } });
    expect(planRuns({ ...spec, methods: ['srq', 'srq+fixed-sigma'] }).at(-1)!.config).not.toHaveProperty('fixedSigma');
  });
});

describe('the settings of the relaxed baselines', () => {
  it('names rq\'s and rq-st\'s temperature and σ/α at init each on its own', () => {
    const spec: CompareSpec = {
      dataset: 'mnist', model: 'lenet5', methods: ['rq', 'rq-st'], bits: [2], seeds: [0], epochs: 1, batchSize: 128, lr: 1e-3,
      dropbits: 0.1, dropbitsGranularity: 'element', temperature: 4, sigmaInit: 0.02, limit: null, learnBits: false, targetBits: null,
      lambda: 0.01, lottery: false, backend: 'wasm', dataDir: null, cacheDir: null,
    };
    const runs: FinishedRun[] = planRuns(spec).map((r) => ({
      ...r, curve: null, versions: null,
      config: r.label === 'rq-st' ? { ...r.config, temperature: 8 } : r.config, // as a second command with --temperature 8 --methods rq-st trains it
      summary: { test_error: 1, bops_per_image: 1, average_bits: 2, bits: {}, model_bytes: 1, img_per_s: 1, wall_s: 1 } as unknown as FinishedRun['summary'],
    }));
    expect(resultsMarkdown(spec, runs, ['srq compare'], {})).toContain('; rq: temperature 4, σ/α at init 0.02; rq-st: temperature 8, σ/α at init 0.02.');
  });
});

describe('srq+fixed-sigma', () => {
  it('trains SRQ with σ/α kept at its init, in runs of its own name, and says so on the page', () => {
    const spec: CompareSpec = {
      dataset: 'fashion-mnist', model: 'lenet5', methods: ['srq', 'srq+fixed-sigma'], bits: [4], seeds: [0], epochs: 10, batchSize: 128, lr: 1e-3,
      dropbits: 0.1, dropbitsGranularity: 'element', temperature: 1, sigmaInit: null, limit: null, learnBits: false, targetBits: null,
      lambda: 0.01, lottery: false, backend: 'wasm', dataDir: null, cacheDir: null,
    };
    const [srq, fixed] = planRuns(spec);
    expect(srq!.config).not.toHaveProperty('fixedSigma'); // plain SRQ's runs are the ones already recorded
    expect(fixed).toMatchObject({ id: 'fashion-mnist-lenet5-srq-fixed-sigma-w4a4-s0', label: 'srq+fixed-sigma', config: { method: 'srq', fixedSigma: true, sigmaInit: null } });
    expect(quantConfig(fixed!.config)).toMatchObject({ method: 'srq', learnSigma: false });
    expect(quantConfig(srq!.config)).toMatchObject({ method: 'srq', learnSigma: true }); // as recorded, whatever the library's default
    const runs: FinishedRun[] = [srq!, fixed!].map((r) => ({
      ...r, curve: null, versions: null,
      summary: { test_error: 1, bops_per_image: 1, average_bits: 4, bits: {}, model_bytes: 1, img_per_s: 1, wall_s: 1 } as unknown as FinishedRun['summary'],
    }));
    const md = resultsMarkdown(spec, runs, ['srq compare'], {});
    expect(md).toContain("; srq+fixed-sigma: σ/α kept at 1/3, not learned; the other srq runs: σ learned, as the paper's SRQ");
    expect(resultsMarkdown(spec, runs.slice(1), ['srq compare'], {})).not.toContain('σ learned'); // said only of σ-learned runs
    expect(resultsMarkdown(spec, runs.slice(0, 1), ['srq compare'], {})).toContain("; srq: σ learned, as the paper's SRQ");
    expect(md).toMatch(/^\| srq\+fixed-sigma \| 1\.00 /m);
  });
});

describe('the comparison against SRQ, seed by seed', () => {
  const spec: CompareSpec = {
    dataset: 'mnist', model: 'lenet5', methods: ['fp', 'ste', 'srq', 'srq+dropbits'], bits: [2, 4], seeds: [0, 1, 2], epochs: 10, batchSize: 128, lr: 1e-3,
    dropbits: 0.1, dropbitsGranularity: 'element', temperature: 1, sigmaInit: null, limit: null, learnBits: false, targetBits: null,
    lambda: 0.01, lottery: false, backend: 'wasm', dataDir: null, cacheDir: null,
  };
  // test error by method, bits and seed; srq at 4/4 lacks seed 2, srq+dropbits has no 4/4 run
  const errors: Record<string, number> = {
    'fp|32|0': 0.5, 'fp|32|1': 0.6, 'fp|32|2': 0.7,
    'srq|2|0': 8.4, 'srq|2|1': 8.27, 'srq|2|2': 8.71, 'srq|4|0': 7.9, 'srq|4|1': 8.0,
    'ste|2|0': 8.71, 'ste|2|1': 8.33, 'ste|2|2': 8.42, 'ste|4|0': 8.0, 'ste|4|1': 7.8, 'ste|4|2': 7.7,
    'srq+dropbits|2|0': 8.45, 'srq+dropbits|2|1': 8.28, 'srq+dropbits|2|2': 8.61,
  };
  const runs: FinishedRun[] = planRuns(spec)
    .filter((r) => `${r.label}|${r.bits}|${r.seed}` in errors)
    .reverse() // the pairing must not depend on the order the runs were finished in
    .map((r) => ({ ...r, curve: null, versions: null, summary: { test_error: errors[`${r.label}|${r.bits}|${r.seed}`], bops_per_image: 1, average_bits: r.bits, bits: {}, model_bytes: 1, img_per_s: 1, wall_s: 1 } as unknown as FinishedRun['summary'] }));

  it('pairs each method with SRQ of the same bits and seed, skips fp and the seeds SRQ lacks', () => {
    const paired = pairedDifferences(runs);
    expect(paired.map((p) => [p.method, p.bits, p.n, p.better])).toEqual([['ste', 2, 3, 1], ['ste', 4, 2, 1], ['srq+dropbits', 2, 3, 1]]);
    const [ste2, ste4, dropped] = paired;
    expect(ste2!.perSeed.map((p) => p.seed)).toEqual([0, 1, 2]);
    expect(ste2!.perSeed.map((p) => Math.round(p.difference * 100) / 100)).toEqual([0.31, 0.06, -0.29]);
    expect(ste4!.perSeed.map((p) => Math.round(p.difference * 100) / 100)).toEqual([0.1, -0.2]);
    expect(dropped!.mean).toBeCloseTo(-0.04 / 3, 10);
  });

  it('puts them in the results page, with signs', () => {
    const md = resultsMarkdown(spec, runs, ['srq compare'], {});
    const section = md.split('## Against SRQ, seed by seed')[1]!.split('## Every run')[0]!;
    expect(section).toContain('| ste | 2/2 | +0.31 (seed 0), +0.06 (seed 1), −0.29 (seed 2) | +0.03 ± 0.30 | 1 of 3 seeds |');
    expect(section).toContain('| srq+dropbits | 2/2 | +0.05 (seed 0), +0.01 (seed 1), −0.10 (seed 2) | −0.01 ± 0.08 | 1 of 3 seeds |');
    expect(section).not.toContain('| fp');
    // a grid without SRQ has no such section
    expect(resultsMarkdown(spec, runs.filter((r) => r.label !== 'srq'), ['srq compare'], {})).not.toContain('Against SRQ');
  });
});
