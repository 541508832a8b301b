// The web app's Classify view on WebGPU, in Debian's chromium: headless chromium gives a page on
// http://127.0.0.1 (a secure context) a SwiftShader adapter with --enable-unsafe-webgpu alone (the flags
// tried are in docs/webgpu.md). A picture classified on WebGPU gets the class and, within float32
// tolerance, the logits it gets on wasm; a browser without WebGPU falls back to wasm and says so.
import type { Server } from 'node:http';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { greyPng, fashionTest } from './helpers/app-images.js';
import { appPage, appSkipReason, nextClassification, openApp, startApp, stop } from './helpers/app-page.js';
import { launchChromium } from './helpers/chromium.js';

if (appSkipReason) console.warn(`web app tests skipped: ${appSkipReason}`);

const data = fashionTest();

describe.skipIf(appSkipReason !== null)('web app: Classify on WebGPU', () => {
  let server: Server;
  let url: string;
  let browser: Browser;
  const errors: string[] = [];

  beforeAll(async () => {
    ({ server, url } = await startApp());
    browser = await launchChromium(['--enable-unsafe-webgpu']);
  });

  afterAll(async () => {
    await browser?.close();
    await stop(server);
    expect(errors).toEqual([]);
  });

  it('classifies on WebGPU with the class and logits wasm gives', async () => {
    const context = await browser.newContext({ viewport: { width: 360, height: 740 } });
    const page = await appPage(context, errors);
    await openApp(page, url);
    expect(await page.evaluate(async () => !!(await navigator.gpu?.requestAdapter()))).toBe(true);
    for (const i of [3, 150, 777]) {
      const png = await greyPng(data.at(i));
      const pick = () => page.setInputFiles('#classify-file', { name: `${i}.png`, mimeType: 'image/png', buffer: png });
      await page.selectOption('#classify-backend', 'wasm');
      const onWasm = await nextClassification(page, pick);
      await page.selectOption('#classify-backend', 'webgpu');
      const onGpu = await nextClassification(page, pick);
      expect(onWasm.backend).toMatch(/^wasm/);
      expect(onGpu.backend).toMatch(/^webgpu/);
      expect(onGpu.top).toBe(onWasm.top);
      for (let k = 0; k < onWasm.logits.length; k++) {
        expect(Math.abs(onGpu.logits[k] - onWasm.logits[k])).toBeLessThan(1e-3 * (1 + Math.abs(onWasm.logits[k])));
      }
    }
    expect(await page.locator('#notices .notice.error').count()).toBe(0);
    await context.close();
  });

  it('a browser without WebGPU classifies on wasm and says why', async () => {
    const context = await browser.newContext({ viewport: { width: 360, height: 740 } });
    // What a browser without WebGPU looks like to the page: no navigator.gpu.
    await context.addInitScript(() => {
      delete (Navigator.prototype as { gpu?: unknown }).gpu;
    });
    const page = await appPage(context, errors);
    await openApp(page, url);
    await page.selectOption('#classify-backend', 'webgpu');
    const png = await greyPng(data.at(5));
    const result = await nextClassification(page, () =>
      page.setInputFiles('#classify-file', { name: '5.png', mimeType: 'image/png', buffer: png }),
    );
    expect(result.backend).toMatch(/^wasm/);
    expect(await page.inputValue('#classify-backend')).toBe('wasm');
    const notice = page.locator('#notices .notice.error');
    await expect.poll(() => notice.count()).toBe(1);
    expect(await notice.isVisible()).toBe(true);
    expect(await notice.textContent()).toMatch(/WebGPU is not available in this browser.*wasm/);
    await context.close();
  });
});
