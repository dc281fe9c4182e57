/** Golden-ratio increment that spreads successive seeds. */
const SEED_STEP = 0x9e3779b1;

/** A reproducible stream of seeds: `seed`, then a new well-spread seed on every call. */
export class SeedStream {
  private calls = 0;
  constructor(private readonly seed: number) {}

  /** The next seed of the stream. */
  next(): number {
    return (this.seed + this.calls++ * SEED_STEP) >>> 0;
  }

  /** Draws taken so far: where the stream is. */
  get position(): number {
    return this.calls;
  }

  /** Moves the stream so that the next seed is the one after `position` draws (exact resume). */
  seek(position: number): void {
    this.calls = position;
  }
}
