#!/usr/bin/env bash
# The converged comparison after step 3(a) (scripts/converged-grid.sh), in its priority order, each
# step resumable (run the script again: `srq compare` skips finished runs and resumes the
# interrupted one from its checkpoint); commit each finished directory. LeNet-5, 3 seeds, 10 epochs,
# as 3(a). Everything of one dataset goes into one directory, results/converged/<dataset>/, so that
# its table and plot show every method at every bits, and learned bits meet uniform 2/2, 3/3 and
# 4/4 at the same BOPs: 3(a)'s runs are taken from results/converged/<dataset>-2bit (`--reuse`),
# not trained again. SRQ + DropBits is the DropBits study's variant (scripts/dropbits-stage-c.sh):
# gradient-only, p = 0.1 per element.
#   (a) 3(a)'s 2/2 grid, taken from <dataset>-2bit                 no training (run it once 3(a) has
#       finished there: a run missing there would be trained here)
#   (b) 4/4, then 3/3: STE, SRQ, SRQ with σ fixed (srq+fixed-sigma, see (sigma)) and SRQ + DropBits
#                                                                   24 runs per dataset, ≈ 5 h each
#   (c) RQ-ST 2/2 (its own tuning, scripts/rq-st-sweep.sh: σ/α 0.02,
#       temperature 8; soft RQ's is temperature 4)                  3 runs per dataset, ≈ 1.8 h each
#   (d) learned bit-widths from 4 bits at a model-wide budget of 2.5 average bits, the gates
#       annealed (the budget holds for the learned bits), with the lottery check (learned bits
#       retrained from scratch, beside uniform bits of the same average: the grid's run); SRQ with
#       σ fixed, as `srq train` trains it (learned σ drifts most at 4 bits, where the gates start),
#       set against the σ-fixed uniform runs of (b) and (sigma)
#                                                                   6 runs per dataset, ≈ 2.5 h each
#   (sigma) SRQ with σ/α kept at 1/3 (srq+fixed-sigma) at 2/2: SRQ 4/4 underfit STE with σ
#       learned on Fashion-MNIST (results/README.md, "SRQ's σ drifts"). Its 4/4 and 3/3 runs, which
#       this step ran first on Fashion-MNIST, are now in (b)       3 runs per dataset, ≈ 40 min each
# Hours from this machine's epochs (2 cores, quiet): SRQ ≈ 120–170 s, STE ≈ 75–90 s, RQ / RQ-ST
# ≈ 200 s (with the SIMD rq kernel of e4c9036), fp ≈ 60 s per epoch on MNIST.
# Needs a build from 675d868 on (a call over part of a directory keeps the rest; learned runs
# beside a grid) and, for (a), from df4cb17 on (`--reuse`).
# Usage: scripts/converged-grid-more.sh [path to the srq bin.js] [step: a, b, c, d or sigma; default all]
#        [dataset: mnist or fashion-mnist; default both]
set -euo pipefail
cd "$(dirname "$0")/.."
SRQ=${1:-packages/cli/dist/bin.js}
only=${2:-all}
datasets=${3:-}
common=(--seeds 0,1,2 --epochs 10 --quiet)
dropbits=(--dropbits 0.1 --dropbits-granularity element --dropbits-pick full) # the DropBits study's variant
step() { [[ $only == all || $only == "$1" ]]; }
# The datasets of a step, in its order, less those the third argument leaves out.
in_order() { for d in "$@"; do if [[ -z $datasets || $datasets == "$d" ]]; then echo "$d"; fi; done; }
for dataset in $(in_order mnist fashion-mnist); do
  out=(--out "results/converged/$dataset")
  if step a; then
    node "$SRQ" compare --dataset "$dataset" "${common[@]}" --bits 2 --methods fp,ste,rq,srq,srq+dropbits "${dropbits[@]}" --sigma-init 0.02 --temperature 4 --reuse "results/converged/$dataset-2bit" "${out[@]}"
  fi
done
for dataset in $(in_order fashion-mnist mnist); do # Fashion-MNIST first: it separates the methods (2/2's quantization gap 0.83 points, MNIST's 0.09)
  if step b; then
    for bits in 4 3; do
      node "$SRQ" compare --dataset "$dataset" "${common[@]}" --bits "$bits" --methods ste,srq,srq+fixed-sigma,srq+dropbits "${dropbits[@]}" --out "results/converged/$dataset"
    done
  fi
done
for dataset in $(in_order mnist fashion-mnist); do
  if step c; then
    node "$SRQ" compare --dataset "$dataset" "${common[@]}" --bits 2 --methods rq-st --sigma-init 0.02 --temperature 8 --out "results/converged/$dataset"
  fi
done
for dataset in $(in_order mnist fashion-mnist); do
  if step d; then
    node "$SRQ" compare --dataset "$dataset" "${common[@]}" --bits 2,3,4 --methods srq+fixed-sigma --learn-bits --target-bits 2.5 --lottery --out "results/converged/$dataset"
  fi
done
for dataset in $(in_order fashion-mnist mnist); do
  if step sigma; then # needs a build from the commit that added srq+fixed-sigma on
    node "$SRQ" compare --dataset "$dataset" "${common[@]}" --bits 2 --methods srq+fixed-sigma --out "results/converged/$dataset"
  fi
done
