#!/usr/bin/env node
// The machine time a set of `srq compare` directories took: the sum of each run's wall time
// (`summary.wall_s` in results.json) over the runs trained there. A run taken from another
// directory (`--reuse`: `from` in results.json) is counted where it was trained, once.
// Usage: node scripts/wall-time.mjs [--json] [results dir ...]
//   (default: every directory under results/converged/, results/dropbits-screen/ and
//   results/rq-st-sweep-mnist/: the converged comparison's runs)
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const json = args.includes('--json');
const given = args.filter((a) => a !== '--json');
const under = (dir) => readdirSync(join(root, dir), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(root, dir, e.name));
const dirs = given.length ? given : ['converged', 'dropbits-screen', 'rq-st-sweep-mnist'].flatMap((d) => under(join('results', d)));

const rows = [];
for (const dir of dirs) {
  const file = join(dir, 'results.json');
  if (!existsSync(file)) {
    process.stderr.write(`wall-time: ${dir} holds no results.json (not an srq compare directory).\n`);
    process.exit(2);
  }
  const trained = JSON.parse(readFileSync(file, 'utf8')).runs.filter((r) => !r.from && r.summary?.status === 'completed');
  rows.push({ dir: relative(process.cwd(), dir) || '.', runs: trained.length, wall_s: trained.reduce((s, r) => s + r.summary.wall_s, 0) });
}
const total = { runs: rows.reduce((s, r) => s + r.runs, 0), wall_s: rows.reduce((s, r) => s + r.wall_s, 0) };
if (json) {
  process.stdout.write(`${JSON.stringify({ dirs: rows, total })}\n`);
} else {
  const h = (s) => (s / 3600).toFixed(1);
  for (const r of rows) process.stdout.write(`${r.dir}: ${r.runs} runs, ${h(r.wall_s)} h\n`);
  process.stdout.write(`total: ${total.runs} runs, ${h(total.wall_s)} h of wall time\n`);
}
