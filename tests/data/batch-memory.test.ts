// How batch memory moves between the loader, its workers and the consumer: datasets offer their
// images as shared memory (workers read samples by index), batches can be released back to the
// loader (Tensor.dispose), and fit/evaluate release every batch they are done with.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CrossEntropyLoss,
  DataLoader,
  Random,
  Tensor,
  VireoError,
  datasets,
  evaluate,
  fit,
  nn,
  optim,
  transforms as T,
} from '../../src/index.js';
import { cifarBytes, idxBytes, mkdir, pattern, tempDir, writeFile } from '../helpers/data-files.js';

let dir: string;
let cleanup: () => void;
beforeAll(() => ({ dir, cleanup } = tempDir()));
afterAll(() => cleanup());

function rawPixels(ds: { length: number; raw(i: number): unknown }): number[][] {
  return Array.from({ length: ds.length }, (_, i) => {
    const { image } = ds.raw(i) as { image: { data: ArrayLike<number> } };
    return Array.from(image.data);
  });
}

describe('Tensor.dispose', () => {
  it('hands the values to its hook once; reading or reshaping afterwards throws a clear error', () => {
    const got: Float32Array[] = [];
    const values = new Float32Array([1, 2, 3, 4]);
    const t = new Tensor(values, [2, 2], { onDispose: (v) => got.push(v) });
    expect(t.isDisposed).toBe(false);
    t.dispose();
    t.dispose();
    expect(got).toEqual([values]);
    expect(t.isDisposed).toBe(true);
    expect(() => t.dataSync()).toThrow(VireoError);
    expect(() => t.dataSync()).toThrow(/tensor \[2, 2\] was disposed/);
    expect(() => t.reshape([4])).toThrow(/was disposed/);
    return expect(t.data()).rejects.toThrow(/was disposed/);
  });
});

describe('Dataset.sharedImages', () => {
  it('ArrayDataset (uint8 HWC and float32 CHW): the same pixels and labels in shared memory; raw() unchanged', () => {
    const r = new Random(3);
    const u8 = Uint8Array.from({ length: 5 * 4 * 3 * 2 }, () => r.int(256));
    const f32 = Float32Array.from({ length: 5 * 2 * 3 * 4 }, () => r.next());
    for (const ds of [
      new datasets.ArrayDataset(u8, [0, 1, 2, 1, 0], { shape: [5, 4, 3, 2] }),
      new datasets.ArrayDataset(f32, [2, 2, 1, 0, 1], { shape: [5, 2, 3, 4] }),
    ]) {
      const before = rawPixels(ds);
      const shared = ds.sharedImages();
      expect(shared).not.toBeNull();
      if (!shared) return;
      expect(shared.data.buffer).toBeInstanceOf(SharedArrayBuffer);
      expect(ds.sharedImages()).toBe(shared); // made once
      for (let i = 0; i < 5; i++) {
        const n = shared.meta.length;
        expect(Array.from(shared.data.subarray(i * n, (i + 1) * n))).toEqual(before[i]);
        expect(shared.labels[i]).toBe(ds.labels[i]);
      }
      expect(rawPixels(ds)).toEqual(before);
      // raw() reads the shared copy from now on (one copy of the pixels kept, not two)
      expect(ds.images.buffer).toBeInstanceOf(SharedArrayBuffer);
    }
  });

  it('IDX and CIFAR-100 (coarse labels): pixels and labels as raw() gives them', async () => {
    const d = mkdir(join(dir, 'shared'));
    const px = Uint8Array.from({ length: 3 * 4 * 5 }, (_, i) => pattern(Math.floor(i / 20), i % 20));
    writeFile(join(d, 'train-images-idx3-ubyte'), idxBytes([3, 4, 5], px));
    writeFile(join(d, 'train-labels-idx1-ubyte'), idxBytes([3], new Uint8Array([7, 0, 3])));
    const idx = await datasets.FashionMNIST.fromDirectory(d);
    writeFile(
      join(d, 'train.bin'),
      cifarBytes([
        [1, 11],
        [0, 5],
        [19, 99],
      ]),
    );
    const cifar = await datasets.CIFAR100.fromFiles([join(d, 'train.bin')], { labelType: 'coarse' });
    for (const ds of [idx, cifar]) {
      const before = rawPixels(ds);
      const labels = Array.from({ length: ds.length }, (_, i) => ds.raw(i).label);
      const shared = ds.sharedImages();
      if (!shared) throw new Error('no shared images');
      const n = shared.meta.length;
      for (let i = 0; i < ds.length; i++) {
        expect(Array.from(shared.data.subarray(i * n, (i + 1) * n))).toEqual(before[i]);
        expect(shared.labels[i]).toBe(labels[i]);
      }
      expect(rawPixels(ds)).toEqual(before);
      expect(Array.from({ length: ds.length }, (_, i) => ds.raw(i).label)).toEqual(labels);
    }
    expect(Array.from(cifar.sharedImages()?.labels ?? [])).toEqual([1, 0, 19]);
  });

  it('a loader with workers gives the same batches from a shared dataset as without workers', async () => {
    const d = mkdir(join(dir, 'cifar-workers'));
    writeFile(join(d, 'data_batch_1.bin'), cifarBytes(Array.from({ length: 13 }, (_, i) => [i % 10])));
    const transform = new T.Compose([new T.RandomHorizontalFlip(), new T.RandomRotation(15), new T.ToTensor()]);
    const ds = await datasets.CIFAR10.fromFiles([join(d, 'data_batch_1.bin')], { transform });
    const batches = async (numWorkers: number) => {
      const loader = new DataLoader(ds, { batchSize: 4, shuffle: true, seed: 5, numWorkers });
      const out = [];
      for await (const b of loader) out.push([Array.from(b.x.dataSync()), Array.from(b.y.dataSync())]);
      await loader.close();
      return out;
    };
    const main = await batches(0);
    expect(await batches(2)).toEqual(main);
    expect(ds.sharedImages()).not.toBeNull();
  });
});

describe('batches kept or released', () => {
  it('kept batches are plain arrays (the caller may keep or transfer them); released ones are recycled', async () => {
    const r = new Random(2);
    const ds = new datasets.ArrayDataset(
      Uint8Array.from({ length: 24 * 8 * 8 * 3 }, () => r.int(256)),
      Array(24).fill(1),
      {
        shape: [24, 8, 8, 3],
      },
    );
    const loader = new DataLoader(ds, { batchSize: 4, numWorkers: 2, seed: 1 });
    const kept = [];
    for await (const b of loader) kept.push(b);
    for (const b of kept) expect(b.x.dataSync().buffer).toBeInstanceOf(ArrayBuffer);
    const buffers = new Set<ArrayBufferLike>();
    for (let e = 0; e < 3; e++) {
      for await (const b of loader) {
        buffers.add(b.x.dataSync().buffer);
        b.release();
      }
    }
    await loader.close();
    // 18 batches, written into a handful of buffers once the first ones came back
    expect(buffers.size).toBeLessThan(12);
  });

  it('fit and evaluate release each batch after using it', async () => {
    const r = new Random(1);
    const released: number[] = [];
    const batches = Array.from({ length: 3 }, (_, k) => ({
      x: new Tensor(
        Float32Array.from({ length: 2 * 3 }, () => r.normal()),
        [2, 3],
      ),
      y: new Tensor(new Float32Array([k % 2, 1]), [2]),
      release: () => released.push(k),
    }));
    const model = new nn.Sequential({ fc: new nn.Linear(3, 2) });
    // biome-ignore lint/suspicious/noFocusedTests: fit is the training loop under test, not a focused test
    await fit(model, {
      train: batches,
      epochs: 2,
      optimizer: new optim.SGD(model.parameters(), { lr: 0.1 }),
      loss: new CrossEntropyLoss(),
    });
    expect(released).toEqual([0, 1, 2, 0, 1, 2]);
    released.length = 0;
    await evaluate(model, batches, { loss: new CrossEntropyLoss() });
    expect(released).toEqual([0, 1, 2]);
  });
});
