// Damaged files: every file the packages write is checked on read (format version, length,
// CRC-32). Each case damages one file of a real run (a short MNIST training) or of its packed
// export, then reads it the way a user would: the CLI prints one line naming the file and what is
// wrong and exits 1, or the library throws a ModelFileError; nothing already written changes.
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loadPackedModel, ModelFileError } from '@srq/models';
import { beforeAll, describe, expect, it } from 'vitest';
import { workspaceDir } from './node-run';

const BIN = join(dirname(createRequire(import.meta.url).resolve('@srq/cli/package.json')), 'bin', 'srq.js');
const srq = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: workspaceDir });
const tmp = () => mkdtempSync(join(tmpdir(), 'srq-damage-'));

/** Every file under `dir` with its SHA-256. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else out[p.slice(dir.length)] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

/** The one file in `dir` whose name matches `pattern`. */
const only = (dir: string, pattern: RegExp) => join(dir, readdirSync(dir).find((f) => pattern.test(f))!);

// damages
const truncate = (file: string) => truncateSync(file, Math.floor(statSync(file).size / 3));
const flipByte = (file: string) => {
  const b = readFileSync(file);
  b[Math.floor(b.length / 2)]! ^= 0x04;
  writeFileSync(file, b);
};
const empty = (file: string) => writeFileSync(file, '');
const garbage = (file: string) => writeFileSync(file, 'garbage');
const remove = (file: string) => rmSync(file);
const editJson = (edit: (j: Record<string, unknown>) => void) => (file: string) => {
  const j = JSON.parse(readFileSync(file, 'utf8'));
  edit(j);
  writeFileSync(file, JSON.stringify(j));
};
const otherVersion = editJson((j) => {
  const seal = (j.srq ?? j) as { format: number };
  seal.format = 99;
});

let pristine: string;
let packedPristine: string;

beforeAll(() => {
  pristine = join(tmp(), 'run');
  const r = srq(['train', '--limit', '256', '--epochs', '1', '--batch-size', '64', '--workers', '0', '--out', pristine, '--quiet', '--json']);
  expect(r.status, r.stderr).toBe(0);
  packedPristine = join(tmp(), 'packed');
  const e = srq(['export', '--model-dir', pristine, '--out', packedPristine]);
  expect(e.status, e.stderr).toBe(0);
}, 300_000);

/** Paths inside a copy of the run. */
const at = {
  modelJson: (run: string) => join(run, 'model', 'model.json'),
  modelWeights: (run: string) => only(join(run, 'model'), /^weights-.*\.bin$/),
  runJson: (run: string) => join(run, 'run.json'),
  state: (run: string) => join(run, 'checkpoints', 'state.json'),
  checkpoint: (run: string) => join(run, 'checkpoints', JSON.parse(readFileSync(join(run, 'checkpoints', 'state.json'), 'utf8')).body.dir),
};

describe('damaged files: srq eval, export and train --resume', () => {
  const cases: Array<[string, 'eval' | 'export' | 'resume', (run: string) => string, (file: string) => void, RegExp]> = [
    ['eval: truncated weights', 'eval', at.modelWeights, truncate, /weights-.*\.bin is damaged \(truncated: \d+ of \d+ bytes\)\.$/],
    ['eval: a flipped byte in the weights (same length)', 'eval', at.modelWeights, flipByte, /weights-.*\.bin is damaged \(checksum mismatch/],
    ['eval: empty weights', 'eval', at.modelWeights, empty, /weights-.*\.bin is damaged \(empty/],
    ['eval: missing weights', 'eval', at.modelWeights, remove, /^srq: Weights file .*weights-.*\.bin named by .*model\.json is missing\.$/],
    ['eval: empty model.json', 'eval', at.modelJson, empty, /model\/model\.json is empty\.$/],
    ['eval: garbage model.json', 'eval', at.modelJson, garbage, /model\/model\.json is not valid JSON/],
    ['eval: model.json of another format version', 'eval', at.modelJson, otherVersion, /model\/model\.json has format version 99; this version of @srq\/models reads 1\.$/],
    ['eval: model.json edited, still valid JSON', 'eval', at.modelJson, editJson((j) => ((j.modelTopology as { keras_version?: string }).keras_version = 'x')), /model\/model\.json is damaged \(checksum mismatch\)\.$/],
    ['eval: garbage run.json', 'eval', at.runJson, garbage, /run\.json is not valid JSON/],
    ['export: truncated weights', 'export', at.modelWeights, truncate, /weights-.*\.bin is damaged \(truncated/],
    ['resume: garbage state.json', 'resume', at.state, garbage, /checkpoints\/state\.json is damaged \(not valid JSON/],
    ['resume: state.json with a changed digit', 'resume', at.state, (f) => writeFileSync(f, readFileSync(f, 'utf8').replace('"epoch":1', '"epoch":3')), /checkpoints\/state\.json is damaged \(checksum mismatch\)\.$/],
    ['resume: state.json of another format version', 'resume', at.state, otherVersion, /state\.json is damaged \(format version 99; this version reads 1\)\.$/],
    ['resume: empty state.json', 'resume', at.state, empty, /state\.json is damaged \(empty\)\.$/],
    ['resume: truncated optimizer.bin', 'resume', (run) => join(at.checkpoint(run), 'optimizer.bin'), truncate, /optimizer\.bin is damaged \(truncated/],
    ['resume: a flipped byte in optimizer.bin', 'resume', (run) => join(at.checkpoint(run), 'optimizer.bin'), flipByte, /optimizer\.bin is damaged \(checksum mismatch/],
    ['resume: missing optimizer.json', 'resume', (run) => join(at.checkpoint(run), 'optimizer.json'), remove, /optimizer\.json is missing\.$/],
    ['resume: a flipped byte in the checkpoint weights', 'resume', (run) => only(at.checkpoint(run), /^weights-.*\.bin$/), flipByte, /weights-.*\.bin is damaged \(checksum mismatch/],
  ];

  it.each(cases)('%s: one line naming the file, exit 1, nothing written changes', (_, command, file, damage, message) => {
    const run = join(tmp(), 'run');
    cpSync(pristine, run, { recursive: true });
    // resume needs a run that is not finished: ask for one more epoch than it has
    if (command === 'resume') editJson((j) => (j.epochs = 2))(at.runJson(run));
    damage(file(run));
    const before = snapshot(run);
    const out = join(tmp(), 'packed');
    const args = { eval: ['eval', '--model-dir', run, '--limit', '100'], export: ['export', '--model-dir', run, '--out', out], resume: ['train', '--resume', '--out', run, '--quiet'] }[command];
    const r = srq(args);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
    expect(r.stderr.trim()).toMatch(message);
    expect(snapshot(run)).toEqual(before);
    expect(existsSync(out)).toBe(false);
  });
});

describe('damaged files: loadPackedModel', () => {
  const cases: Array<[string, string, (file: string) => void, RegExp]> = [
    ['truncated weights.srqbin', 'weights.srqbin', truncate, /weights\.srqbin is damaged \(truncated: \d+ of \d+ bytes\)\.$/],
    ['a flipped byte in weights.srqbin', 'weights.srqbin', flipByte, /weights\.srqbin is damaged \(checksum mismatch/],
    ['empty weights.srqbin', 'weights.srqbin', empty, /weights\.srqbin is damaged \(empty/],
    ['missing weights.srqbin', 'weights.srqbin', remove, /Weights file .*weights\.srqbin named by .*model\.json is missing\.$/],
    ['garbage model.json', 'model.json', garbage, /model\.json is not valid JSON/],
    ['model.json of another format version', 'model.json', otherVersion, /model\.json has format version 99/],
    ['model.json without its seal', 'model.json', editJson((j) => delete j.srq), /model\.json is not a packed export of this format \(no "srq" field\)\.$/],
  ];

  it('loads the undamaged export', async () => {
    await tf.setBackend('cpu');
    const model = await loadPackedModel(packedPristine);
    expect(model.outputs[0]!.shape).toEqual([null, 10]);
  });

  it.each(cases)('%s: a ModelFileError naming the file', async (_, name, damage, message) => {
    const dir = join(tmp(), 'packed');
    cpSync(packedPristine, dir, { recursive: true });
    damage(join(dir, name));
    const error = await loadPackedModel(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelFileError);
    expect((error as Error).message).toMatch(message);
  });
});
