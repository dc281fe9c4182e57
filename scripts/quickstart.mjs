#!/usr/bin/env node
// `npm start`: a short default training (2-bit LeNet-5, SRQ) on 6,000 MNIST images,
// into a fresh run directory under runs/, printing progress and the test error.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join('runs', `quickstart-${new Date().toISOString().replace(/[:.]/g, '-')}`);
const args = [join(root, 'packages/cli/dist/bin.js'), 'train', '--limit', '6000', '--epochs', '1', '--out', out, ...process.argv.slice(2)];
const { status } = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: root });
process.exit(status ?? 1);
