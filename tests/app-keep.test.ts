// The web app in Debian's chromium, what it keeps and how it changes: Teach's classes and pictures come back
// after a reload (and train again), a full store is a plain message; the full-screen button (its state, and a
// refusal); a new build served while a page is open is noticed, offered, and loaded without losing the
// taught model.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveApp } from '../src/cli/serve-app.js';
import { writeTar } from '../src/index.js';
import { ofClass, rgbPng32 } from './helpers/app-images.js';
import { appDir, appPage, appSkipReason, openApp, shippedDir, startApp, stop } from './helpers/app-page.js';
import { data, trained } from './helpers/app-teach.js';
import { launchChromium } from './helpers/chromium.js';

type Teach = { vireoApp: { teach: { samples?: number[]; samplesChanged: number; samplesKept: number } } };
const tmp = mkdtempSync(join(tmpdir(), 'vireo-app-keep-'));

/** Five pictures each of two classes, named; waits until the view counts them. */
async function addPictures(page: Page) {
  for (const [k, [name, label]] of [
    ['trouser', 1],
    ['bag', 8],
  ].entries()) {
    await page
      .locator('.class-name')
      .nth(k)
      .fill(name as string);
    const files = await Promise.all(
      ofClass(data.labels, label as number, 5).map(async (i) => ({
        name: `${name}-${i}.png`,
        mimeType: 'image/png',
        buffer: await rgbPng32(data.at(i)),
      })),
    );
    await page.setInputFiles(`#teach-files-${k}`, files);
  }
  await page.waitForFunction(() => (window as unknown as Teach).vireoApp.teach.samples?.join() === '5,5');
}

/** Each class card: its name and its thumbnails as PNG data URLs (what the user sees). */
const cards = (page: Page) =>
  page.evaluate(() =>
    [...document.querySelectorAll('#teach-classes .class-card')].map((card) => ({
      name: (card.querySelector('.class-name') as HTMLInputElement).value,
      thumbs: [...card.querySelectorAll('.samples canvas')].map((c) => (c as HTMLCanvasElement).toDataURL()),
    })),
  );

describe.skipIf(appSkipReason !== null)('web app: what it keeps, full screen, updates', () => {
  let server: Server;
  let url: string;
  let browser: Browser;
  const errors: string[] = [];

  beforeAll(async () => {
    ({ server, url } = await startApp());
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await stop(server);
    rmSync(tmp, { recursive: true, force: true });
    expect(errors).toEqual([]);
  });

  it("Teach's classes and pictures come back after a reload, and training again works", async () => {
    const ctx = await browser.newContext({ viewport: { width: 360, height: 740 } });
    const page = await appPage(ctx, errors);
    await openApp(page, url, '?view=teach');
    await addPictures(page);
    await page.locator('.class-name').nth(1).fill('handbag'); // a rename is kept too
    await page.waitForFunction(() => {
      const t = (window as unknown as Teach).vireoApp.teach;
      return t.samplesKept === t.samplesChanged;
    });
    const before = await cards(page);
    expect(before.map((c) => [c.name, c.thumbs.length])).toEqual([
      ['trouser', 5],
      ['handbag', 5],
    ]);

    await page.reload();
    await page.waitForFunction(() => (window as unknown as Teach).vireoApp.teach.samples?.join() === '5,5');
    expect(await cards(page)).toEqual(before);
    await page.selectOption('#teach-size', '32');
    await page.fill('#teach-epochs', '1');
    await page.click('#teach-train');
    await trained(page);
    expect(await page.locator('#teach-model-note').textContent()).toBe('Your model: trouser, handbag (32×32 input).');
    await ctx.close();
  });

  it('storage full: the pictures stay for this visit and a plain message says they could not be kept', async () => {
    const ctx = await browser.newContext({ viewport: { width: 360, height: 740 } });
    await ctx.addInitScript(() => {
      IDBObjectStore.prototype.put = () => {
        throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      };
    });
    const page = await appPage(ctx, errors);
    await openApp(page, url, '?view=teach');
    await addPictures(page);
    await expect
      .poll(() => page.locator('#notices [data-id="teach-samples"]').textContent())
      .toMatch(/could not be kept on this device: This device is out of storage space/);
    expect(await page.locator('#notices [data-id="teach-samples"]').isVisible()).toBe(true);
    expect((await cards(page)).map((c) => c.thumbs.length)).toEqual([5, 5]);
    await ctx.close();
  });

  it('the full-screen button enters and leaves full screen and says so; a refusal is a plain message', async () => {
    const ctx = await browser.newContext({ viewport: { width: 360, height: 740 } });
    const page = await appPage(ctx, errors);
    await openApp(page, url);
    const button = page.locator('#fullscreen');
    expect(await button.isVisible()).toBe(true);
    expect(await button.getAttribute('aria-pressed')).toBe('false');
    await button.click();
    await expect.poll(() => page.evaluate(() => document.fullscreenElement?.tagName ?? null)).toBe('HTML');
    await expect.poll(() => button.getAttribute('aria-pressed')).toBe('true');
    await button.click();
    await expect.poll(() => page.evaluate(() => document.fullscreenElement)).toBeNull();
    await expect.poll(() => button.getAttribute('aria-pressed')).toBe('false');
    expect(await page.locator('#notices [data-id="fullscreen"]').count()).toBe(0);
    await ctx.close();

    // A browser or kiosk policy that refuses.
    const refusing = await browser.newContext({ viewport: { width: 360, height: 740 } });
    await refusing.addInitScript(() => {
      Element.prototype.requestFullscreen = () => Promise.reject(new TypeError('Permissions check failed'));
    });
    const denied = await appPage(refusing, errors);
    await openApp(denied, url);
    await denied.click('#fullscreen');
    await expect
      .poll(() => denied.locator('#notices [data-id="fullscreen"]').textContent())
      .toMatch(/Full screen is not available here: Permissions check failed/);
    expect(await denied.locator('#fullscreen').getAttribute('aria-pressed')).toBe('false');
    await refusing.close();
  });

  it('a new build is noticed on the next visit, offered, and loaded; the taught model stays', async () => {
    // Its own copy of the app, so the test can publish a new build of it.
    const dir = join(tmp, 'app');
    cpSync(appDir, dir, { recursive: true });
    const own = await serveApp(dir);
    const ownUrl = `http://127.0.0.1:${(own.address() as AddressInfo).port}/`;
    const tar = join(tmp, 'model.tar');
    writeFileSync(
      tar,
      writeTar([
        { name: 'model.json', data: readFileSync(join(shippedDir, 'model.json')) },
        { name: 'weights.safetensors', data: readFileSync(join(shippedDir, 'weights.safetensors')) },
      ]),
    );

    const ctx = await browser.newContext({ viewport: { width: 360, height: 740 } });
    const page = await appPage(ctx, errors);
    await openApp(page, ownUrl, '?view=teach');
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 30_000 });
    await page.setInputFiles('#teach-import', tar);
    await expect.poll(() => page.locator('#teach-model-note').textContent()).toMatch(/^Your model: T-shirt\/top, Trouser/);
    const title = await page.title();

    // The new build: a changed page and a service worker with a new version (what build:demo writes).
    const index = join(dir, 'index.html');
    writeFileSync(index, readFileSync(index, 'utf8').replace('<title>', '<title>(new build) '));
    const sw = join(dir, 'sw.js');
    writeFileSync(sw, readFileSync(sw, 'utf8').replace(/"version":"([0-9a-f]+)"/, '"version":"$1-new"'));

    // The next visit runs the old build from the cache while the new one installs, then offers a reload.
    await page.reload();
    await page.waitForFunction(() => (window as unknown as { vireoApp: { ready?: boolean } }).vireoApp.ready === true);
    expect(await page.title()).toBe(title);
    await page.locator('#update-reload').waitFor({ state: 'visible', timeout: 60_000 });
    expect(await page.locator('#notices [data-id="update"]').textContent()).toMatch(/A new version of the app is installed/);
    await Promise.all([page.waitForEvent('load'), page.click('#update-reload')]);
    await page.waitForFunction(() => (window as unknown as { vireoApp: { ready?: boolean } }).vireoApp.ready === true);
    expect(await page.title()).toBe(`(new build) ${title}`);
    expect(await page.locator('#notices [data-id="update"]').count()).toBe(0);
    await page.click('.tab[data-view="teach"]');
    await expect.poll(() => page.locator('#teach-model-note').textContent()).toMatch(/^Your model: T-shirt\/top, Trouser/);
    await ctx.close();
    await stop(own);
  });
});
