// The data pipeline in a real browser (Debian's chromium via playwright-core), with Web Workers: PNG files
// fetched by an ImageFolder and decoded inside the workers with createImageBitmap + OffscreenCanvas, and an
// in-memory dataset; once on a plain page (no SharedArrayBuffer: buffers are transferred) and once on a
// cross-origin isolated one (COOP/COEP headers: shared memory). Every batch must equal what Node makes on
// its main thread (sharp decoding, same transforms, same seed).
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataLoader, Random, transforms as T, datasets } from '../src/index.js';
import { CHROMIUM, launchChromium, serveStatic } from './helpers/chromium.js';
import { mkdir, tempDir } from './helpers/data-files.js';

const demoDir = fileURLToPath(new URL('../demo/', import.meta.url));
const needed = ['vireo.browser.js', 'vireo.worker.js'].map((f) => join(demoDir, f));
const skipReason = !existsSync(CHROMIUM)
  ? `${CHROMIUM} is missing (Debian: apt-get install chromium)`
  : needed.some((f) => !existsSync(f))
    ? 'demo/vireo.browser.js or demo/vireo.worker.js is missing (run npm run build)'
    : null;
if (skipReason) console.warn(`browser data tests skipped: ${skipReason}`);

/** demo/ at /, the test images at /img/, an empty page at /page.html; COOP/COEP when `isolated`. */
function serve(imageRoot: string, isolated: boolean): Promise<Server> {
  return serveStatic({
    mounts: { '/': demoDir, '/img/': imageRoot },
    pages: { '/page.html': '<!doctype html><title>data</title>' },
    headers: isolated ? { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' } : {},
  });
}

interface PageResult {
  isolated: boolean;
  folder: { x: number[]; y: number[] }[];
  arrays: { x: number[]; y: number[] }[];
  error?: string;
}

/**
 * Runs in the page: both loaders with 2 Web Workers, every batch read back as plain arrays. A string, not
 * a function: vitest rewrites dynamic imports in this file's code.
 */
const inPage = `async (args) => {
  try {
    const v = await import('/vireo.browser.js');
    const T = v.transforms;
    const collect = async (loader) => {
      const out = [];
      for await (const b of loader) out.push({ x: Array.from(b.x.dataSync()), y: Array.from(b.y.dataSync()) });
      await loader.close();
      return out;
    };
    const folderTransform = new T.Compose([new T.Resize([16, 16]), new T.RandomRotation(30), new T.ToTensor()]);
    const folder = new v.datasets.ImageFolder(args.images, ['a', 'b'], 3, folderTransform);
    const arrayTransform = new T.Compose([new T.RandomHorizontalFlip(), new T.RandomRotation(20), new T.ToTensor(),
      new T.Normalize([0.5, 0.5, 0.5], [0.25, 0.25, 0.25])]);
    const arrays = new v.datasets.ArrayDataset(Uint8Array.from(args.pixels), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
      { shape: [10, 8, 8, 3], transform: arrayTransform });
    const options = { batchSize: 4, shuffle: true, seed: 9, numWorkers: 2, workerUrl: '/vireo.worker.js' };
    return {
      isolated: globalThis.crossOriginIsolated === true,
      folder: await collect(new v.DataLoader(folder, options)),
      arrays: await collect(new v.DataLoader(arrays, options)),
    };
  } catch (e) {
    return { isolated: false, folder: [], arrays: [], error: String(e && e.stack ? e.stack : e) };
  }
}`;

describe.skipIf(skipReason !== null)('data pipeline in chromium, Web Workers', () => {
  let browser: Browser;
  let dir: string;
  let cleanup: () => void;
  const images: { file: string; label: number }[] = [];
  const pixels: number[] = [];

  beforeAll(async () => {
    ({ dir, cleanup } = tempDir('vireo-browser-data-'));
    const r = new Random(4);
    for (const [label, cls] of ['a', 'b'].entries()) {
      mkdir(join(dir, cls));
      for (let k = 0; k < 3; k++) {
        const px = Buffer.from(Uint8Array.from({ length: 9 * 11 * 3 }, () => r.int(256)));
        const file = join(dir, cls, `${k}.png`);
        await sharp(px, { raw: { width: 11, height: 9, channels: 3 } })
          .png()
          .toFile(file);
        images.push({ file, label });
      }
    }
    for (let i = 0; i < 10 * 8 * 8 * 3; i++) pixels.push(r.int(256));
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    cleanup?.();
  });

  /** The same batches made in Node on the main thread. */
  async function nodeBatches(): Promise<Pick<PageResult, 'folder' | 'arrays'>> {
    const collect = async (loader: DataLoader) => {
      const out = [];
      for await (const b of loader) out.push({ x: Array.from(b.x.dataSync()), y: Array.from(b.y.dataSync()) });
      return out;
    };
    const folder = new datasets.ImageFolder(
      images.map(({ file, label }) => ({ path: file, label })),
      ['a', 'b'],
      3,
      new T.Compose([new T.Resize([16, 16]), new T.RandomRotation(30), new T.ToTensor()]),
    );
    const arrays = new datasets.ArrayDataset(Uint8Array.from(pixels), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], {
      shape: [10, 8, 8, 3],
      transform: new T.Compose([
        new T.RandomHorizontalFlip(),
        new T.RandomRotation(20),
        new T.ToTensor(),
        new T.Normalize([0.5, 0.5, 0.5], [0.25, 0.25, 0.25]),
      ]),
    });
    const options = { batchSize: 4, shuffle: true, seed: 9 };
    return { folder: await collect(new DataLoader(folder, options)), arrays: await collect(new DataLoader(arrays, options)) };
  }

  for (const isolated of [false, true]) {
    it(`${isolated ? 'cross-origin isolated page (shared memory)' : 'plain page (transferred buffers)'}: batches equal Node's`, async () => {
      const server = await serve(dir, isolated);
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      try {
        await page.goto(`${url}/page.html`);
        const paths = images.map(({ file, label }) => ({ path: `${url}/img/${file.slice(dir.length + 1)}`, label }));
        const result = (await page.evaluate(`(${inPage})(${JSON.stringify({ images: paths, pixels })})`)) as PageResult;
        expect(result.error).toBeUndefined();
        expect(errors).toEqual([]);
        expect(result.isolated).toBe(isolated);
        const node = await nodeBatches();
        expect(result.folder.length).toBe(2);
        expect(result.folder).toEqual(node.folder);
        expect(result.arrays.length).toBe(3);
        expect(result.arrays).toEqual(node.arrays);
      } finally {
        await page.close();
        await new Promise((resolve) => server.close(resolve));
      }
    });
  }
});
