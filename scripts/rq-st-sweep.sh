#!/usr/bin/env bash
# RQ-ST 2/2 (the straight-through Gumbel-softmax: a hard sample forward) over σ/α at init and
# temperature, on the harness of results/rq-sweep-mnist (RQ 2/2): MNIST, a fixed random
# 10,000-image subset, 1 epoch, seeds 0 and 1 (the RQ sweep had seed 0 only), Adam 1e-3. It chose
# the converged grid's RQ-ST setting (step 3(c), scripts/converged-grid-more.sh c): σ/α 0.02 and
# temperature 8, where soft RQ's is temperature 4 (results/README.md). One `srq compare` directory
# per setting, under results/rq-st-sweep-mnist/.
# Usage: scripts/rq-st-sweep.sh [path to the srq bin.js]
set -euo pipefail
cd "$(dirname "$0")/.."
SRQ=${1:-packages/cli/dist/bin.js}
for s in 0.3333 0.1 0.05 0.02; do
  for t in 1 4 8; do
    node "$SRQ" compare --dataset mnist --methods rq-st --bits 2 --seeds 0,1 --epochs 1 --limit 10000 --lr 0.001 --temperature "$t" --sigma-init "$s" --out "results/rq-st-sweep-mnist/lr0.001-s$s-t$t" --quiet
  done
done
