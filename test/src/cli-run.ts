// The built `srq` command run in child processes, for the end-to-end tests (cli*.test.ts).
import { spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { encodeCifar10, syntheticDataset } from '@srq/datasets';
import { workspaceDir } from './node-run';

/** The built `srq` entry point of @srq/cli, run with this Node. */
export const BIN = join(dirname(createRequire(import.meta.url).resolve('@srq/cli/package.json')), 'dist', 'bin.js');
export const NODE = process.execPath;
export const tmp = () => mkdtempSync(join(tmpdir(), 'srq-cli-'));

export function srq(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(NODE, [BIN, ...args], { encoding: 'utf8', cwd: workspaceDir });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function lines(file: string): Array<Record<string, number>> {
  return readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

/** Resolves when `file` exists (polling), or rejects after `ms`. */
export async function waitFor(file: string, child: ChildProcess, ms = 240_000): Promise<void> {
  const start = Date.now();
  while (!existsSync(file)) {
    if (child.exitCode !== null) throw new Error(`srq exited (${child.exitCode}) before ${file} appeared`);
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${file}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** CIFAR-10 binary files in the official format (16 images each), generated: no CIFAR-10 download here. */
export function cifarFiles(): string {
  const data = tmp();
  const files = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin'];
  const images = syntheticDataset({ trainCount: 6 * 16, testCount: 1, side: 32, channels: 3, seed: 1 }).train;
  files.forEach((f, i) => writeFileSync(join(data, f), encodeCifar10(images.images.subarray(i * 16 * 3072, (i + 1) * 16 * 3072), images.labels.subarray(i * 16, (i + 1) * 16))));
  return data;
}

export const exited = (child: ChildProcess) => new Promise<number | null>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));

