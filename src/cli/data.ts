// Dataset detection and opening for `vireo train` / `vireo eval`: the embedded Fashion-MNIST subset,
// CIFAR-10/100 binary folders, IDX folders (MNIST, Fashion-MNIST) and image folders.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FormatError } from '../core/errors.js';
import { Random } from '../core/random.js';
import { CIFAR10, CIFAR100 } from '../data/cifar.js';
import { Dataset } from '../data/dataset.js';
import { FashionMNIST } from '../data/fashion-mnist.js';
import { MNIST } from '../data/idx.js';
import { ImageFolder } from '../data/image-folder.js';
import type { RawSample } from '../data/sample.js';
import * as T from '../data/transforms.js';
import { UsageError } from './args.js';

export type DataKind = 'fashion-mnist-embedded' | 'fashion-mnist' | 'mnist' | 'cifar10' | 'cifar100' | 'image-folder';

export interface DataSource {
  kind: DataKind;
  /** Absolute path (none for the embedded subset). */
  path?: string;
  /** Image folders: the side images are resized to. */
  imageSize?: number;
}

export interface OpenedData {
  source: DataSource;
  train: Dataset;
  /** The dataset's own test split, or null (image folders without train/ and test/ subfolders). */
  test: Dataset | null;
  classes: string[];
  inputShape: [number, number, number];
  normalization: { mean: number[]; std: number[] };
  /** A human description for logs. */
  label: string;
}

const has = (dir: string, ...names: string[]) => names.some((n) => existsSync(join(dir, n)));

/** What `--data PATH` holds (or the embedded subset without one). */
export function detectData(path: string | undefined, imageSize = 32): DataSource {
  if (path === undefined || path === 'fashion-mnist-embedded') return { kind: 'fashion-mnist-embedded' };
  const dir = resolve(path);
  if (!existsSync(dir)) throw new UsageError(`--data ${path}: no such directory`);
  if (!statSync(dir).isDirectory())
    throw new UsageError(`--data ${path}: not a directory (give the folder that holds the dataset files)`);
  for (const sub of ['', 'cifar-10-batches-bin'])
    if (has(join(dir, sub), 'data_batch_1.bin', 'test_batch.bin')) return { kind: 'cifar10', path: dir };
  for (const sub of ['', 'cifar-100-binary'])
    if (has(join(dir, sub), 'train.bin', 'test.bin')) return { kind: 'cifar100', path: dir };
  const idx = [
    'train-images-idx3-ubyte',
    'train-images-idx3-ubyte.gz',
    'train-images.idx3-ubyte',
    't10k-images-idx3-ubyte',
    't10k-images-idx3-ubyte.gz',
  ];
  if (has(dir, ...idx)) return { kind: /fashion/i.test(dir) ? 'fashion-mnist' : 'mnist', path: dir };
  const subdirs = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory());
  if (subdirs.length > 0) return { kind: 'image-folder', path: dir, imageSize };
  throw new UsageError(
    `--data ${path}: not a dataset vireo recognizes; give a CIFAR-10/100 binary folder (data_batch_1.bin / train.bin), an IDX folder (train-images-idx3-ubyte[.gz]) or an image folder (one subfolder of PNG/JPEG per class)`,
  );
}

const fashionNorm = { mean: [0.286], std: [0.353] };

export function makeTransform(
  source: DataSource,
  normalization: { mean: number[]; std: number[] },
  augment: boolean,
  shape: [number, number, number],
): T.Transform {
  const list: T.Transform[] = [];
  if (source.kind === 'image-folder') list.push(new T.Resize([shape[1], shape[2]]));
  if (augment) {
    list.push(new T.RandomCrop([shape[1], shape[2]], { padding: Math.max(1, Math.round(shape[1] / 8)) }));
    if (source.kind !== 'mnist') list.push(new T.RandomHorizontalFlip());
  }
  list.push(new T.ToTensor(), new T.Normalize(normalization.mean, normalization.std));
  return new T.Compose(list);
}

/** Opens both splits with no transform yet (the caller sets train/eval transforms). */
export async function openData(source: DataSource): Promise<OpenedData> {
  const p = source.path as string;
  switch (source.kind) {
    case 'fashion-mnist-embedded': {
      const [train, test] = await Promise.all([FashionMNIST.embedded({ train: true }), FashionMNIST.embedded({ train: false })]);
      return {
        source,
        train,
        test,
        classes: FashionMNIST.classes,
        inputShape: [1, 28, 28],
        normalization: fashionNorm,
        label: 'Fashion-MNIST, embedded subset',
      };
    }
    case 'fashion-mnist':
    case 'mnist': {
      const ds = source.kind === 'mnist' ? MNIST : FashionMNIST;
      const train = await ds.fromDirectory(p, { train: true });
      const test = await ds.fromDirectory(p, { train: false }).catch(() => null);
      return {
        source,
        train,
        test,
        classes: ds.classes,
        inputShape: [1, train.height, train.width],
        normalization: source.kind === 'mnist' ? { mean: [0.1307], std: [0.3081] } : fashionNorm,
        label: `${source.kind === 'mnist' ? 'MNIST-style IDX' : 'Fashion-MNIST'} (${p})`,
      };
    }
    case 'cifar10': {
      const train = await CIFAR10.fromDirectory(p, { train: true });
      const test = await CIFAR10.fromDirectory(p, { train: false }).catch(() => null);
      return {
        source,
        train,
        test,
        classes: CIFAR10.classes,
        inputShape: [3, 32, 32],
        normalization: { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.243, 0.261] },
        label: `CIFAR-10 (${p})`,
      };
    }
    case 'cifar100': {
      const train = await CIFAR100.fromDirectory(p, { train: true });
      const test = await CIFAR100.fromDirectory(p, { train: false }).catch(() => null);
      const classes = Array.from({ length: 100 }, (_, i) => `class ${i}`);
      train.classes = classes;
      if (test) test.classes = classes;
      return {
        source,
        train,
        test,
        classes,
        inputShape: [3, 32, 32],
        normalization: { mean: [0.5071, 0.4865, 0.4409], std: [0.2673, 0.2564, 0.2762] },
        label: `CIFAR-100 (${p})`,
      };
    }
    case 'image-folder': {
      const size = source.imageSize ?? 32;
      const split = (name: string[]) => name.map((n) => join(p, n)).find((d) => existsSync(d) && statSync(d).isDirectory());
      const trainDir = split(['train']);
      const testDir = trainDir ? split(['test', 'val', 'valid', 'validation']) : undefined;
      const train = await ImageFolder.fromDirectory(trainDir ?? p);
      const test = testDir ? await ImageFolder.fromDirectory(testDir) : null;
      if (test && test.classes.join('\n') !== train.classes.join('\n'))
        throw new FormatError(
          `${testDir}: its class folders (${test.classes.join(', ')}) differ from ${trainDir}'s (${train.classes.join(', ')})`,
        );
      return {
        source,
        train,
        test,
        classes: train.classes,
        inputShape: [3, size, size],
        normalization: { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] },
        label: `image folder (${p}, resized to ${size}×${size})`,
      };
    }
  }
}

/** A view of some of a dataset's samples with its own transform (torch.utils.data.Subset). */
export class Subset extends Dataset {
  readonly length: number;
  constructor(
    readonly base: Dataset,
    readonly indices: ArrayLike<number>,
    transform: T.Transform | null,
  ) {
    super();
    this.length = indices.length;
    this.classes = base.classes;
    this.transform = transform;
  }
  raw(index: number): RawSample | Promise<RawSample> {
    this.checkIndex(index);
    return this.base.raw(this.indices[index]);
  }
}

/** A seeded split of 0..n-1: [train indices, validation indices], `fraction` of them for validation. */
export function splitIndices(n: number, fraction: number, seed: number): [number[], number[]] {
  const order = Array.from({ length: n }, (_, i) => i);
  const r = new Random((seed ^ 0x7a11d) >>> 0);
  for (let i = n - 1; i > 0; i--) {
    const j = r.int(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const nVal = Math.max(1, Math.round(n * fraction));
  return [order.slice(nVal).sort((a, b) => a - b), order.slice(0, nVal).sort((a, b) => a - b)];
}

export const range = (n: number) => Array.from({ length: n }, (_, i) => i);
