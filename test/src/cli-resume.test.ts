// End to end: interrupted `srq train` runs (killed, Ctrl-C) resumed from their checkpoints, and
// bit for bit equal to uninterrupted runs.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, exited, lines, NODE, srq, tmp, waitFor } from './cli-run';
import { workspaceDir } from './node-run';

describe('srq train --resume', () => {
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
    ['SRQ + DropBits (the forward on the kept codes), main thread only, killed', ['--workers', '0', '--dropbits', '0.1', '--dropbits-pick', 'nearest'], 'SIGKILL'],
    ['SRQ + DropBits (gradient-only), 2 threads, Ctrl-C mid-epoch', ['--workers', '1', '--dropbits', '0.1'], 'SIGINT'],
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

});
