// The Teach view driven through chromium: classes of Fashion-MNIST pictures (trousers, sneakers, bags from the
// embedded subset, as 32×32 colour files), training, the held-out pictures through Classify, the export.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import { readTar } from '../../src/index.js';
import { fashionTest, ofClass, rgbPng32 } from './app-images.js';
import { type Classified, nextClassification } from './app-page.js';

/** Pictures per class Teach learns from, and pictures per class held out. */
export const TRAIN = 20;
export const HELD_OUT = 20;
/** Class names in alphabetical order, so an image folder of them (vireo eval) has the app's label order. */
export const CLASSES = [
  { name: 'bag', label: 8 },
  { name: 'sneaker', label: 7 },
  { name: 'trouser', label: 1 },
];

export const data = fashionTest();

export type Window = { vireoApp: { teach: { state: string; samples?: number[]; history?: { loss: number }[] } } };

export async function addClasses(page: Page) {
  await page.click('#teach-add-class');
  for (const [k, c] of CLASSES.entries()) {
    await page.locator('.class-name').nth(k).fill(c.name);
    const files = await Promise.all(
      ofClass(data.labels, c.label, TRAIN).map(async (i) => ({
        name: `${c.name}-${i}.png`,
        mimeType: 'image/png',
        buffer: await rgbPng32(data.at(i)),
      })),
    );
    await page.setInputFiles(`#teach-files-${k}`, files);
  }
  await page.waitForFunction(
    (n) => (window as unknown as Window).vireoApp.teach.samples?.join() === n,
    [TRAIN, TRAIN, TRAIN].join(),
  );
}

export async function trained(page: Page) {
  await page.waitForFunction(() => ['done', 'error'].includes((window as unknown as Window).vireoApp.teach.state), null, {
    timeout: 180_000,
  });
  expect(await page.evaluate(() => (window as unknown as Window).vireoApp.teach.state)).toBe('done');
}

/** The held-out pictures through the Classify view with the taught model: one result per picture. */
export async function classifyHeldOut(page: Page) {
  await page.click('.tab[data-view="classify"]');
  await page.selectOption('#classify-model', 'taught');
  const results: (Classified & { truth: string })[] = [];
  for (const c of CLASSES)
    for (const i of ofClass(data.labels, c.label, HELD_OUT, TRAIN)) {
      const buffer = await rgbPng32(data.at(i));
      const r = await nextClassification(page, () =>
        page.setInputFiles('#classify-file', { name: `${i}.png`, mimeType: 'image/png', buffer }),
      );
      expect(r.model).toBe('taught');
      results.push({ ...r, truth: c.name });
    }
  return results;
}

/** Downloads the taught model's .tar and unpacks it into `dir` with the system's tar; `names`: its entries. */
export async function exportTar(page: Page, dir: string, names = ['model.json', 'weights.safetensors']) {
  await page.click('.tab[data-view="teach"]');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#teach-export')]);
  expect(download.suggestedFilename()).toBe('vireo-taught-model.tar');
  const tar = readFileSync((await download.path()) as string);
  // The system's tar unpacks it: what a user does with the download.
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, '..', 'model.tar'), tar);
  execFileSync('tar', ['-xf', join(dir, '..', 'model.tar'), '-C', dir]);
  expect(readTar(new Uint8Array(tar)).map((e) => e.name)).toEqual(names);
}

/** The held-out pictures as an image folder (a subfolder per class) for `vireo eval`. */
export async function heldOutFolder(folder: string) {
  for (const c of CLASSES) {
    mkdirSync(join(folder, c.name), { recursive: true });
    for (const i of ofClass(data.labels, c.label, HELD_OUT, TRAIN))
      writeFileSync(join(folder, c.name, `${i}.png`), await rgbPng32(data.at(i)));
  }
}
