#!/usr/bin/env bash
# Stage (c) of the DropBits study: the three variants closest to plain SRQ in stages (a) and (b)
# (3 epochs, seed 0) — per channel at p = 0.03 on activations only (+0.09 points) and annealed to 0
# over the run (+0.21), and gradient-only DropBits per element at p = 0.1 (+0.08,
# scripts/dropbits-stage-b-pick.sh) — with 3 seeds at the converged grid's length — LeNet-5 2/2 on
# Fashion-MNIST, 10 epochs — beside that grid's SRQ and STE runs
# (results/converged/fashion-mnist-2bit, the same settings). Estimated wall time on
# the 2-core machine: 9 runs × 10 epochs × ≈ 110 s ≈ 3 h when it is quiet (the converged grid's
# SRQ epochs took 108–310 s while development shared the machine: plan ≈ 3.5 h). One `srq compare` directory each under
# results/dropbits-screen/ (resumable: run the script again to continue; commit each finished one).
# Usage: scripts/dropbits-stage-c.sh [path to the srq bin.js] (default: this checkout's build)
set -euo pipefail
cd "$(dirname "$0")/.."
SRQ=${1:-packages/cli/dist/bin.js}
common=(--dataset fashion-mnist --bits 2 --seeds 0,1,2 --epochs 10 --quiet --methods srq+dropbits)
node "$SRQ" compare "${common[@]}" --dropbits 0.1 --dropbits-granularity element --dropbits-pick full --out results/dropbits-screen/c-p0.1-element-full
node "$SRQ" compare "${common[@]}" --dropbits 0.03 --dropbits-granularity channel --dropbits-on activations --out results/dropbits-screen/c-p0.03-channel-activations
node "$SRQ" compare "${common[@]}" --dropbits 0.03 --dropbits-granularity channel --dropbits-anneal --out results/dropbits-screen/c-p0.03-channel-anneal
# Plain SRQ and STE beside each variant, taken over from the converged grid (no training), so that
# each page sets the variant against plain SRQ seed by seed
for dir in c-p0.1-element-full c-p0.03-channel-activations c-p0.03-channel-anneal; do
  same=(); [[ $dir == *channel* ]] && same=(--dropbits-granularity channel) # the directory's own (plain runs ignore it)
  node "$SRQ" compare "${common[@]/srq+dropbits/srq,ste}" "${same[@]}" --reuse results/converged/fashion-mnist-2bit --out "results/dropbits-screen/$dir"
done
