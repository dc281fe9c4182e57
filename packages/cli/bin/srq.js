#!/usr/bin/env node
// The `srq` command. This file is committed (dist/ is not), so that npm links it into
// node_modules/.bin when a fresh clone is installed, before anything is built.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/bin.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('srq: @srq/cli is not built (dist/bin.js is missing): run `npm run build` first.\n');
  process.exit(1);
}
await import(entry.href);
