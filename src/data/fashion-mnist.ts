import { FormatError } from '../core/errors.js';
import { type IdxDatasetOptions, IdxImageDataset, findIdxPair } from './idx.js';
import type { Transform } from './transforms.js';

const classes = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

/** Where Debian's dataset-fashion-mnist package installs the full set. */
export const debianFashionMnistDir = '/usr/share/datasets/fashion-mnist';

/**
 * The Fashion-MNIST subset shipped with vireo (data/fashion-mnist-subset: 6,000 train + 1,000 test,
 * class-balanced). src/data and dist/data sit at the same depth, so one relative URL serves both.
 * Built as a URL (no fs import here) so browser bundles can fetch it instead.
 */
export function embeddedFashionMnistUrl(): URL {
  return new URL('../../data/fashion-mnist-subset/', import.meta.url);
}

export const FashionMNIST = {
  classes,
  async fromDirectory(dir: string, options: IdxDatasetOptions = {}): Promise<IdxImageDataset> {
    const [images, labels] = await findIdxPair(dir, options.train ?? true);
    return IdxImageDataset.fromFiles(images, labels, classes, options.transform ?? null);
  },
  fromFiles(imagesFile: string, labelsFile: string, options: { transform?: Transform | null } = {}): Promise<IdxImageDataset> {
    return IdxImageDataset.fromFiles(imagesFile, labelsFile, classes, options.transform ?? null);
  },
  /** The embedded subset: nothing to download. `base` overrides where its files are (a directory or URL). */
  async embedded(options: IdxDatasetOptions & { base?: string | URL } = {}): Promise<IdxImageDataset> {
    const base = options.base ?? embeddedFashionMnistUrl();
    const prefix = (options.train ?? true) ? 'train' : 't10k';
    const at = (name: string) => {
      const u = new URL(name, base instanceof URL ? base : new URL(base.endsWith('/') ? base : `${base}/`, 'file:///'));
      return u.protocol === 'file:' ? decodeURIComponent(u.pathname) : u.toString();
    };
    try {
      return await IdxImageDataset.fromFiles(
        at(`${prefix}-images-idx3-ubyte.gz`),
        at(`${prefix}-labels-idx1-ubyte.gz`),
        classes,
        options.transform ?? null,
      );
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT')
        throw new FormatError(`the embedded Fashion-MNIST subset is missing (${(e as Error).message}); reinstall vireo`);
      throw e;
    }
  },
};
