#!/usr/bin/env bash
# Stage (b) of the DropBits study, on stage (a)'s most robust granularity (per channel: within
# 0.1 point of the best at every p, where per element collapses at p = 0.1) and its middle p, 0.03:
# LeNet-5 on Fashion-MNIST, 3 epochs, seed 0, as stage (a). DropBits on weights only, on
# activations only, annealed to 0 over the run (both: stage (a)'s p0.03-channel), then the same at
# 3/3 beside plain SRQ and STE at 3/3. One `srq compare` directory each under
# results/dropbits-screen/ (resumable: run the script again to continue).
# Usage: scripts/dropbits-stage-b.sh [path to the srq bin.js] (default: this checkout's build)
set -euo pipefail
cd "$(dirname "$0")/.."
SRQ=${1:-packages/cli/dist/bin.js}
common=(--dataset fashion-mnist --seeds 0 --epochs 3 --quiet)
variant=(--methods srq+dropbits --dropbits 0.03 --dropbits-granularity channel)
node "$SRQ" compare "${common[@]}" --bits 2 "${variant[@]}" --dropbits-on weights --out results/dropbits-screen/b-p0.03-channel-weights
node "$SRQ" compare "${common[@]}" --bits 2 "${variant[@]}" --dropbits-on activations --out results/dropbits-screen/b-p0.03-channel-activations
node "$SRQ" compare "${common[@]}" --bits 2 "${variant[@]}" --dropbits-anneal --out results/dropbits-screen/b-p0.03-channel-anneal
node "$SRQ" compare "${common[@]}" --bits 3 --methods srq,ste --out results/dropbits-screen/b-3bit-baselines
node "$SRQ" compare "${common[@]}" --bits 3 "${variant[@]}" --out results/dropbits-screen/b-3bit-p0.03-channel
