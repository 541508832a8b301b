import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { datasets } from '../../src/index.js';

describe('embedded Fashion-MNIST subset', () => {
  it('ships 6,000 train and 1,000 test images, class-balanced, found from the package', async () => {
    const train = await datasets.FashionMNIST.embedded({ train: true });
    const test = await datasets.FashionMNIST.embedded({ train: false });
    expect([train.length, test.length]).toEqual([6000, 1000]);
    for (const [ds, per] of [
      [train, 600],
      [test, 100],
    ] as const) {
      const counts = new Array(10).fill(0);
      for (let i = 0; i < ds.length; i++) counts[(await ds.raw(i)).label]++;
      expect(counts).toEqual(new Array(10).fill(per));
    }
    expect((await test.raw(0)).label).toBe(9); // Fashion-MNIST's first test image, an ankle boot
    const { x } = await train.get(0);
    expect(x.shape).toEqual([1, 28, 28]);
  });

  const debian = '/usr/share/datasets/fashion-mnist';
  it.skipIf(!existsSync(join(debian, 'train-images-idx3-ubyte.gz')))(
    "matches Debian's files image for image (skipped when dataset-fashion-mnist is not installed)",
    async () => {
      const images = gunzipSync(readFileSync(join(debian, 'train-images-idx3-ubyte.gz')));
      const labels = gunzipSync(readFileSync(join(debian, 'train-labels-idx1-ubyte.gz')));
      const train = await datasets.FashionMNIST.embedded({ train: true });
      // The subset keeps file order: its k-th image of class c is Debian's k-th image of class c.
      const seen = new Array(10).fill(0);
      const want = new Map<string, number>();
      for (let i = 0; i < 3000; i++) want.set(`${labels[8 + i]}:${seen[labels[8 + i]]++}`, i);
      const seenSub = new Array(10).fill(0);
      for (let k = 0; k < 200; k++) {
        const s = await train.raw(k);
        const src = want.get(`${s.label}:${seenSub[s.label]++}`);
        expect(src).toBeDefined();
        const orig = images.subarray(16 + (src as number) * 784, 16 + ((src as number) + 1) * 784);
        expect(Buffer.compare(Buffer.from(s.image.data as Uint8Array), orig)).toBe(0);
      }
    },
  );
});
