import type { ImageDataset, ImageSplit } from './dataset';
import { mulberry32 } from '@srq/quantizers';

/**
 * A small synthetic image dataset for fast tests: class c is a bright square at a position that
 * depends on c, on uniform noise. Learnable in a few hundred steps; reproducible from `seed`.
 */
export function syntheticDataset(options: { trainCount?: number; testCount?: number; side?: number; channels?: number; numClasses?: number; seed?: number } = {}): ImageDataset {
  const { trainCount = 1000, testCount = 200, side = 28, channels = 1, numClasses = 10, seed = 0 } = options;
  const rand = mulberry32(seed);
  const square = Math.max(2, Math.floor(side / 4));
  const grid = Math.ceil(Math.sqrt(numClasses));
  const step = Math.max(1, Math.floor((side - square) / Math.max(1, grid - 1)));
  const make = (count: number): ImageSplit => {
    const size = side * side * channels;
    const images = new Uint8Array(count * size);
    const labels = new Uint8Array(count);
    for (let n = 0; n < count; n++) {
      const c = Math.floor(rand() * numClasses);
      labels[n] = c;
      const top = Math.min(side - square, Math.floor(c / grid) * step);
      const left = Math.min(side - square, (c % grid) * step);
      for (let y = 0; y < side; y++) {
        for (let x = 0; x < side; x++) {
          const inside = y >= top && y < top + square && x >= left && x < left + square;
          for (let ch = 0; ch < channels; ch++) images[n * size + (y * side + x) * channels + ch] = inside ? 200 + Math.floor(rand() * 55) : Math.floor(rand() * 80);
        }
      }
    }
    return { images, labels, count };
  };
  return {
    name: 'synthetic',
    shape: [side, side, channels],
    numClasses,
    classNames: Array.from({ length: numClasses }, (_, c) => `class ${c}`),
    train: make(trainCount),
    test: make(testCount),
    mean: new Array(channels).fill(0.25),
    std: new Array(channels).fill(0.3),
    source: `synthetic squares (seed ${seed})`,
  };
}
