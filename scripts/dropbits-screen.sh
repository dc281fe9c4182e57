#!/usr/bin/env bash
# Stage (a) of the DropBits study: LeNet-5 on Fashion-MNIST at 2/2 bits, 3 epochs, seed 0:
# plain SRQ and STE, then SRQ + DropBits for p in {0.01, 0.03, 0.1, 0.3} x one draw per
# tensor / channel / element. One `srq compare` directory each, so that every grid is resumable
# (run the script again to continue) and committed as it finishes.
# Usage: scripts/dropbits-screen.sh [path to the srq bin.js] (default: this checkout's build)
set -euo pipefail
cd "$(dirname "$0")/.."
SRQ=${1:-packages/cli/dist/bin.js}
common=(--dataset fashion-mnist --bits 2 --seeds 0 --epochs 3 --quiet)
node "$SRQ" compare "${common[@]}" --methods srq,ste --out results/dropbits-screen/baselines
for p in 0.01 0.03 0.1 0.3; do
  for g in tensor channel element; do
    node "$SRQ" compare "${common[@]}" --methods srq+dropbits --dropbits "$p" --dropbits-granularity "$g" --out "results/dropbits-screen/p$p-$g"
  done
done
