#!/usr/bin/env bash
# The converged comparison, step 3(a): LeNet-5 at 2/2 on MNIST and on Fashion-MNIST, 3 seeds,
# 10 epochs: fp, STE, RQ (tuned as in results/rq-sweep-mnist: σ/α 0.02, temperature 4), SRQ.
# SRQ + DropBits joins with the variant of the DropBits study (scripts/dropbits-stage-c.sh):
# gradient-only DropBits, p = 0.1 per element — trained here on MNIST, taken over from the study on
# Fashion-MNIST (its stage (c) ran exactly these runs). Estimated wall time on the 2-core machine
# (≈ 100 s per SRQ epoch, RQ ≈ 3×): per dataset fp 0.5 h, STE 0.8 h, SRQ and SRQ + DropBits 0.8 h
# each, RQ 2.5 h — about 11 h for both datasets.
# Resumable: run the script again and `srq compare` skips finished runs and resumes the
# interrupted one from its checkpoint; commit each finished directory.
# Usage: scripts/converged-grid.sh [path to the srq bin.js] (default: this checkout's build)
set -euo pipefail
cd "$(dirname "$0")/.."
SRQ=${1:-packages/cli/dist/bin.js}
dropbits=(--dropbits 0.1 --dropbits-granularity element --dropbits-pick full)
for dataset in mnist fashion-mnist; do
  node "$SRQ" compare --dataset "$dataset" --bits 2 --seeds 0,1,2 --epochs 10 --quiet \
    --methods srq,ste,fp,rq --sigma-init 0.02 --temperature 4 --out "results/converged/$dataset-2bit"
  node "$SRQ" compare --dataset "$dataset" --bits 2 --seeds 0,1,2 --epochs 10 --quiet \
    --methods srq+dropbits "${dropbits[@]}" --reuse results/dropbits-screen/c-p0.1-element-full --out "results/converged/$dataset-2bit"
done
