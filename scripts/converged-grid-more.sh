#!/usr/bin/env bash
# The converged comparison after step 3(a) (scripts/converged-grid.sh), in its priority order, each
# step resumable (run the script again: `srq compare` skips finished runs and resumes the
# interrupted one from its checkpoint); commit each finished directory. LeNet-5, 3 seeds, 10 epochs,
# as 3(a). SRQ + DropBits joins each directory once the DropBits study (scripts/dropbits-stage-c.sh)
# has picked its variant.
#   (b) 3/3 and 4/4: STE and SRQ on MNIST and Fashion-MNIST      12 runs per dataset, ≈ 4 h each
#   (c) RQ-ST 2/2 (RQ's tuned σ/α 0.02, temperature 4), in 3(a)'s 2-bit directories
#                                                                 3 runs per dataset, ≈ 1.8 h each
#   (d) learned bit-widths from 4 bits at a model-wide budget of 2.5 average bits, the gates
#       annealed (the budget holds for the learned bits), with the lottery check (learned bits
#       retrained from scratch, beside uniform bits of the same average), in (b)'s directories
#                                                                 9 runs per dataset, ≈ 3.5 h each
# Hours from this machine's epochs (2 cores, quiet): SRQ ≈ 120–170 s, STE ≈ 75–90 s, RQ / RQ-ST
# ≈ 200 s (with the SIMD rq kernel of e4c9036), fp ≈ 60 s per epoch on MNIST.
# Usage: scripts/converged-grid-more.sh [path to the srq bin.js] [step: b, c or d; default all]
set -euo pipefail
cd "$(dirname "$0")/.."
SRQ=${1:-packages/cli/dist/bin.js}
only=${2:-all}
common=(--seeds 0,1,2 --epochs 10 --quiet)
for dataset in mnist fashion-mnist; do
  if [[ $only == all || $only == b ]]; then
    node "$SRQ" compare --dataset "$dataset" "${common[@]}" --bits 3,4 --methods ste,srq --out "results/converged/$dataset-3-4bit"
  fi
done
for dataset in mnist fashion-mnist; do
  if [[ $only == all || $only == c ]]; then
    node "$SRQ" compare --dataset "$dataset" "${common[@]}" --bits 2 --methods rq-st --sigma-init 0.02 --temperature 4 --out "results/converged/$dataset-2bit"
  fi
done
for dataset in mnist fashion-mnist; do
  if [[ $only == all || $only == d ]]; then
    node "$SRQ" compare --dataset "$dataset" "${common[@]}" --bits 3,4 --methods ste,srq --learn-bits --target-bits 2.5 --lottery --out "results/converged/$dataset-3-4bit"
  fi
done
