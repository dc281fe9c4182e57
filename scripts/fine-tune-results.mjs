#!/usr/bin/env node
// The quantization-aware fine-tuning workflow, measured: the MNIST model of tfjs-examples'
// mnist-node (scripts/tfjs-examples-model.mjs) trained in float for 1 epoch, then quantized by
// `srq train --model-file` to 4/4 and 2/2 (SRQ, no DropBits) and fine-tuned for 1 epoch, against
// quantized training from scratch for the same 2 epochs in all. Resumable: finished runs are kept.
// Usage: node scripts/fine-tune-results.mjs [OUT] [--limit N]   (default results/fine-tune-mnist)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const limitAt = args.indexOf('--limit');
const limit = limitAt >= 0 ? args[limitAt + 1] : null;
const out = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--limit') ?? join(root, 'results/fine-tune-mnist');
const runs = join(out, 'runs');
mkdirSync(runs, { recursive: true });
const node = (file, ...rest) => {
  const r = spawnSync(process.execPath, [file, ...rest], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
const srq = (...rest) => node(join(root, 'packages/cli/dist/bin.js'), ...rest);
const common = ['--dataset', 'mnist', '--dropbits', '0', '--seed', '0', '--quiet', ...(limit ? ['--limit', limit] : [])];

const untrained = join(out, 'untrained');
if (!existsSync(join(untrained, 'model.json'))) node(join(root, 'scripts/tfjs-examples-model.mjs'), untrained);
/** Trains one run unless its summary exists; an interrupted run is resumed. */
function run(id, flags) {
  const dir = join(runs, id);
  if (existsSync(join(dir, 'summary.json'))) return;
  srq('train', ...(existsSync(join(dir, 'checkpoints', 'state.json')) ? ['--resume'] : [...flags, ...common]), '--out', dir);
}
run('float-1ep', ['--model-file', join(untrained, 'model.json'), '--method', 'fp', '--epochs', '1']);
const floatModel = join(runs, 'float-1ep', 'model', 'model.json');
for (const b of [4, 2]) {
  run(`finetune-w${b}a${b}-1ep`, ['--model-file', floatModel, '--method', 'srq', '--wbits', String(b), '--abits', String(b), '--epochs', '1']);
  run(`scratch-w${b}a${b}-2ep`, ['--model-file', join(untrained, 'model.json'), '--method', 'srq', '--wbits', String(b), '--abits', String(b), '--epochs', '2']);
}
const rows = ['float-1ep', 'finetune-w4a4-1ep', 'scratch-w4a4-2ep', 'finetune-w2a2-1ep', 'scratch-w2a2-2ep'].map((id) => ({ id, ...JSON.parse(readFileSync(join(runs, id, 'summary.json'), 'utf8')) }));
const label = { 'float-1ep': 'float, 1 epoch', 'finetune-w4a4-1ep': '4/4: float 1 epoch, then quantized and fine-tuned 1 epoch', 'scratch-w4a4-2ep': '4/4: quantized from scratch, 2 epochs', 'finetune-w2a2-1ep': '2/2: float 1 epoch, then quantized and fine-tuned 1 epoch', 'scratch-w2a2-2ep': '2/2: quantized from scratch, 2 epochs' };
const command = `node scripts/fine-tune-results.mjs${limit ? ` --limit ${limit}` : ''}`;
const md = [
  '# Fine-tuning a trained float model to low bits (MNIST, the tfjs-examples mnist-node model)',
  '',
  `Made by \`${command}\`. The model: 4 convolutions (32, 32, 64, 64 filters, 3×3, ReLU), 2 max-pools, dropout, Dense 512 ReLU, Dense 10 softmax, as in tensorflow/tfjs-examples' mnist-node, written as a plain tfjs model by \`scripts/tfjs-examples-model.mjs\`. Every run: \`srq train --model-file\`, ${limit ? `a fixed random subset of ${limit} training images` : 'the full training set'}, the full test set, batch 128, Adam 1e-3 with cosine decay per run, seed 0, SRQ without DropBits; quantizeModel with only method and bits.`,
  '',
  '| run | test error % | epochs | wall s | img/s |',
  '| --- | --- | --- | --- | --- |',
  ...rows.map((r) => `| ${label[r.id]} | ${r.test_error.toFixed(2)} | ${r.epochs} | ${r.wall_s.toFixed(0)} | ${Math.round(r.img_per_s)} |`),
  '',
];
const tmp = join(out, 'results.md.tmp');
writeFileSync(tmp, md.join('\n'));
renameSync(tmp, join(out, 'results.md'));
writeFileSync(join(out, 'results.json.tmp'), `${JSON.stringify({ command, runs: rows.map(({ id, test_error, epochs, wall_s, img_per_s, bits }) => ({ id, test_error, epochs, wall_s, img_per_s, bits })) }, null, 2)}\n`);
renameSync(join(out, 'results.json.tmp'), join(out, 'results.json'));
process.stdout.write(md.join('\n'));
