import type { ModelReport } from '@srq/models';

/** One quantized tensor's learned state, as `srq eval --json` and each `metrics.jsonl` line give it. */
export interface QuantizerState {
  /** `<layer>/weights` or `<layer>/activations`. */
  tensor: string;
  bits: number;
  /** The grid step α: one value, or one per channel. */
  alpha: number[];
  /** σ/α (layout of `alpha`); null for ste. */
  sigma_ratio: number[] | null;
}

/** The learned bits, step α and σ/α of every quantized tensor of a model, from its {@link ModelReport}. */
export function quantizerStates(report: ModelReport): QuantizerState[] {
  return report.quantized.map((q) => ({ tensor: `${q.layer}/${q.tensor}`, bits: q.learnedBits, alpha: q.alpha, sigma_ratio: q.sigmaRatio }));
}
