import { loadCifar10 } from './cifar10';
import type { ImageDataset } from './dataset';
import { DatasetError } from './errors';
import { loadFashionMnist } from './fashion-mnist';
import { loadMnist } from './mnist';
import { syntheticDataset } from './synthetic';

/** Dataset names {@link loadDataset} knows. */
export const DATASET_NAMES = ['mnist', 'fashion-mnist', 'cifar10', 'synthetic'] as const;
/** One of {@link DATASET_NAMES}. */
export type DatasetName = (typeof DATASET_NAMES)[number];

/**
 * Loads a dataset by name.
 * @param options - `dataDir` (MNIST IDX dir, CIFAR-10 dir), `cacheDir` (Fashion-MNIST cache), `seed` (synthetic)
 * @throws {@link DatasetError} for an unknown name or bad data
 */
export function loadDataset(name: string, options: { dataDir?: string; cacheDir?: string; seed?: number } = {}): ImageDataset {
  switch (name) {
    case 'mnist':
      return loadMnist(options);
    case 'fashion-mnist':
      return loadFashionMnist(options);
    case 'cifar10':
      return loadCifar10(options);
    case 'synthetic':
      return syntheticDataset({ seed: options.seed ?? 0 });
    default:
      throw new DatasetError(`Unknown dataset "${name}"; allowed: ${DATASET_NAMES.join(', ')}.`, { dataset: name });
  }
}
