#!/usr/bin/env bash
# Stage (b) of the DropBits study, continued: what DropBits' forward pass outputs (`--dropbits-pick`).
# Stages (a) and (b) measured only the default pick, the nearest kept code, which changes the
# forward pass (at 2 bits a dropped low bit moves a weight to the sub-grid {−2α, 0}), and every
# such variant cost accuracy. Gradient-only DropBits (`full`: the forward on the whole grid, only
# the straight-through gradient's categorical on the kept codes) keeps training's forward equal to
# inference's, so it is tried at stage (b)'s setting and at the per-element p's that broke the
# forward variants; `sample` (the unbiased stochastic pick the specification lists) at stage
# (b)'s setting. LeNet-5 2/2 on Fashion-MNIST, 3 epochs, seed 0, as stages (a) and (b). One
# `srq compare` directory each under results/dropbits-screen/ (resumable: run the script again).
# Estimated: 4 runs × 3 epochs × ≈ 130 s ≈ 26 min on the quiet 2-core machine.
# Usage: scripts/dropbits-stage-b-pick.sh [path to the srq bin.js] (default: this checkout's build)
set -euo pipefail
cd "$(dirname "$0")/.."
SRQ=${1:-packages/cli/dist/bin.js}
common=(--dataset fashion-mnist --seeds 0 --epochs 3 --quiet --bits 2 --methods srq+dropbits)
node "$SRQ" compare "${common[@]}" --dropbits 0.03 --dropbits-granularity channel --dropbits-pick full --out results/dropbits-screen/b-p0.03-channel-full
node "$SRQ" compare "${common[@]}" --dropbits 0.1 --dropbits-granularity element --dropbits-pick full --out results/dropbits-screen/b-p0.1-element-full
node "$SRQ" compare "${common[@]}" --dropbits 0.3 --dropbits-granularity element --dropbits-pick full --out results/dropbits-screen/b-p0.3-element-full
node "$SRQ" compare "${common[@]}" --dropbits 0.03 --dropbits-granularity channel --dropbits-pick sample --out results/dropbits-screen/b-p0.03-channel-sample
