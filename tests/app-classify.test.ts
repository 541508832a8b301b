// The web app's Classify and Benchmark views, offline use and failure paths, in Debian's chromium: pictures
// from files, drag-and-drop, paste and a fake camera (a Y4M video made here) must get the class the shipped
// model gives in Node for the same pixels; a refused camera and a file that is not a model give plain messages
// and the app keeps working; after one visit the app classifies with the server gone and the network off;
// the benchmark table lists every backend; no view scrolls sideways at 360×740 or 1080×1920.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeModel, importOnnx, tensor } from '../src/index.js';
import { fashionTest, greyPng, y4m } from './helpers/app-images.js';
import {
  appDir,
  appPage,
  appSkipReason,
  horizontalOverflow,
  nextClassification,
  openApp,
  shippedDir,
  startApp,
  stop,
  useAppSession,
} from './helpers/app-page.js';
import { launchChromium, serveStatic } from './helpers/chromium.js';

if (appSkipReason) console.warn(`web app tests skipped: ${appSkipReason}`);

const root = fileURLToPath(new URL('..', import.meta.url));
const shipped = decodeModel(
  readFileSync(join(shippedDir, 'model.json'), 'utf8'),
  new Uint8Array(readFileSync(join(shippedDir, 'weights.safetensors'))),
);
const classes = shipped.meta.classes;
const { mean, std } = shipped.meta.normalization;
const data = fashionTest();
const tmp = mkdtempSync(join(tmpdir(), 'vireo-app-classify-'));

/** What the library gives for an input in Node: logits and the top class. */
async function nodeClassify(input: ArrayLike<number>) {
  const logits = Array.from(await (await shipped.model.forward(tensor(Float32Array.from(input), [1, 1, 28, 28]))).data());
  return { logits, top: classes[logits.indexOf(Math.max(...logits))] };
}

const normalized = (pixels: Uint8Array) => Array.from(pixels, (v) => (v / 255 - mean[0]) / std[0]);

function expectSameLogits(app: number[], node: number[]) {
  expect(app).toHaveLength(node.length);
  for (let i = 0; i < node.length; i++) expect(Math.abs(app[i] - node[i])).toBeLessThan(1e-4 * (1 + Math.abs(node[i])));
}

describe.skipIf(appSkipReason !== null)('web app: Classify, Benchmark, offline, failures', () => {
  const session = useAppSession({ viewport: { width: 360, height: 740 } }, tmp);

  it('classifies picked, dropped and pasted files as the library does in Node, pixel for pixel', async () => {
    const page = await appPage(session.context, session.errors);
    await openApp(page, session.url);
    const picks = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((k) => 100 + k * 37);
    let agreeWithLabels = 0;
    for (const i of picks) {
      const png = await greyPng(data.at(i));
      const app = await nextClassification(page, () =>
        page.setInputFiles('#classify-file', { name: `${i}.png`, mimeType: 'image/png', buffer: png }),
      );
      expect(app.origin).toBe('file');
      expect(app.invert).toBe(false);
      expect(app.backend).toMatch(/^wasm \((relaxed|simd|scalar) build\)$/);
      // The app's input is exactly the file's pixels, normalized: nothing lost in decoding or scaling.
      const want = normalized(data.at(i));
      for (let p = 0; p < 784; p++) expect(Math.abs(app.input[p] - want[p])).toBeLessThan(1e-6);
      const node = await nodeClassify(want);
      expect(app.top).toBe(node.top);
      expectSameLogits(app.logits, node.logits);
      if (app.top === classes[data.labels[i]]) agreeWithLabels++;
    }
    // The model is 91.9% accurate: of ten pictures, most are right (the check above is the exact one).
    expect(agreeWithLabels).toBeGreaterThanOrEqual(7);
    await expect.poll(() => page.locator('#classify-results li').count()).toBe(5);
    // The top bar is as long, relative to its track, as the top probability.
    const [fill, track, shown] = await page
      .locator('#classify-results li')
      .first()
      .evaluate((li) => [
        (li.querySelector('.bar-fill') as HTMLElement).getBoundingClientRect().width,
        (li.querySelector('.bar-track') as HTMLElement).getBoundingClientRect().width,
        Number.parseFloat(li.querySelector('.p')?.textContent ?? ''),
      ]);
    expect(track).toBeGreaterThan(0);
    expect(Math.abs(fill / track - shown / 100)).toBeLessThan(0.01);
    expect(await page.locator('#classify-timing').textContent()).toMatch(/ms per picture · wasm/);
    expect(await page.locator('#classify-spoken').textContent()).toMatch(/percent$/);

    // Drag-and-drop and paste hand the same kind of file over.
    const i = 777;
    const b64 = (await greyPng(data.at(i))).toString('base64');
    for (const how of ['drop', 'paste'] as const) {
      const app = await nextClassification(page, () =>
        page.evaluate(
          ([how, b64]) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], 'x.png', { type: 'image/png' }));
            if (how === 'drop')
              document
                .querySelector('#view-classify .stage')
                ?.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
            else document.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true }));
          },
          [how, b64] as const,
        ),
      );
      expect(app.origin).toBe(how);
      expect(app.top).toBe((await nodeClassify(normalized(data.at(i)))).top);
    }
    await page.close();
  });

  it('a fake camera (a Y4M video of a test picture) gets the class Node gives for the pixels the app took; a refused camera says so', async () => {
    const i = 42;
    const video = join(tmp, 'camera.y4m');
    writeFileSync(video, y4m(data.at(i)));
    const camBrowser = await launchChromium(['--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${video}`]);
    try {
      const ctx = await camBrowser.newContext({ viewport: { width: 360, height: 740 }, permissions: ['camera'] });
      const page = await appPage(ctx, session.errors);
      await openApp(page, session.url);
      await page.click('#classify-camera');
      await page.waitForFunction(
        () =>
          (window as unknown as { vireoApp: { classify: { last?: { origin: string } } } }).vireoApp.classify.last?.origin ===
          'camera',
        null,
        {
          timeout: 30_000,
        },
      );
      const app = (await page.evaluate(
        () => (window as unknown as { vireoApp: { classify: { last: unknown } } }).vireoApp.classify.last,
      )) as {
        input: number[];
        logits: number[];
        top: string;
      };
      const node = await nodeClassify(app.input);
      expect(app.top).toBe(node.top);
      expectSameLogits(app.logits, node.logits);
      // Through the camera's YUV and the app's scaling (the frame's centred square is the picture, 8× up then
      // 8× down) the pixels stay close to the file's, and the class is the one the file's pixels get.
      const want = normalized(data.at(i));
      const worst = Math.max(...want.map((v, p) => Math.abs(v - app.input[p])));
      console.log(`fake camera: largest pixel difference ${(worst * std[0] * 255).toFixed(1)} of 255`);
      expect(app.top).toBe((await nodeClassify(want)).top);
      await page.click('#classify-switch'); // front/back: the one fake camera serves both
      await page.click('#classify-camera'); // stop

      // Teach: pressing and holding the record button takes a burst of camera frames; letting go stops it.
      await page.click('.tab[data-view="teach"]');
      await page.click('#teach-camera');
      await page.waitForFunction(
        () => (document.querySelector('#view-teach video') as HTMLVideoElement | null)?.readyState === 4,
      );
      const hold = page.locator('.hold').first();
      await hold.hover();
      await page.mouse.down();
      type Teach = { vireoApp: { teach: { samples?: number[] } } };
      await page.waitForFunction(() => ((window as unknown as Teach).vireoApp.teach.samples?.[0] ?? 0) >= 3);
      await page.mouse.up();
      const taken = await page.evaluate(() => (window as unknown as Teach).vireoApp.teach.samples ?? []);
      await page.waitForTimeout(400);
      expect(await page.evaluate(() => (window as unknown as Teach).vireoApp.teach.samples)).toEqual(taken);
      expect(taken[1]).toBe(0);
      expect(await page.locator('.class-card .count').first().textContent()).toBe(`${taken[0]} pictures`);
      expect(await page.locator('#notices .error').allTextContents()).toEqual([]);

      // The same camera, permission refused (no grant in this context): the message says so.
      const refused = await camBrowser.newContext({ viewport: { width: 360, height: 740 } });
      const denied = await appPage(refused, session.errors);
      await openApp(denied, session.url);
      await denied.click('#classify-camera');
      await expect
        .poll(() => denied.locator('#notices [data-id="camera"] p').textContent(), { timeout: 20_000 })
        .toMatch(/^Camera permission was denied\. Allow the camera/);
      expect(await denied.locator('#classify-camera').textContent()).toBe('Start camera');
      await refused.close();
    } finally {
      await camBrowser.close();
    }
  });

  it('no camera, files that are not models or images: plain messages, and classifying still works', async () => {
    const denied = await session.browser.newContext({ viewport: { width: 360, height: 740 } });
    const page = await appPage(denied, session.errors);
    await openApp(page, session.url);
    await page.click('#classify-camera');
    // This browser has no camera device (the fake-camera test covers a refused permission).
    await expect
      .poll(() => page.locator('#notices [data-id="camera"] p').textContent(), { timeout: 20_000 })
      .toMatch(/^No camera was found on this device\. You can still pick, drop or paste/);
    for (const [name, buffer, message] of [
      ['model.tar', Buffer.from('this is not an archive, just text'.repeat(20)), /model.tar is not a model archive/],
      ['net.onnx', Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]), /net.onnx is not an ONNX model vireo can run/],
      ['notes.txt', Buffer.from('hello'), /Pick a model/],
    ] as const) {
      await page.setInputFiles('#classify-import', { name, mimeType: 'application/octet-stream', buffer });
      await expect.poll(() => page.locator('#notices [data-id="import"]').textContent()).toMatch(message);
    }
    const weights = Buffer.from(readFileSync(join(shippedDir, 'weights.safetensors')).subarray(0, 1000));
    await page.setInputFiles('#classify-import', [
      { name: 'model.json', mimeType: 'application/json', buffer: readFileSync(join(shippedDir, 'model.json')) },
      { name: 'weights.safetensors', mimeType: 'application/octet-stream', buffer: weights },
    ]);
    await expect.poll(() => page.locator('#notices [data-id="import"]').textContent()).toMatch(/not a vireo model.*truncated/);
    expect(await page.locator('#classify-model').inputValue()).toBe('shipped');

    // A real ONNX classifier imports and classifies as the library does in Node.
    const onnxPath = join(root, 'tests', 'fixtures', 'onnx', 'mobilenet_mini.onnx');
    await page.setInputFiles('#classify-import', onnxPath);
    await expect.poll(() => page.locator('#classify-model').inputValue()).toBe('imported');
    expect(await page.locator('#classify-about').textContent()).toMatch(/mobilenet_mini.onnx: \d+ classes, 32×32 colour input/);
    const viaOnnx = await nextClassification(page, async () =>
      page.setInputFiles('#classify-file', { name: 'x.png', mimeType: 'image/png', buffer: await greyPng(data.at(9)) }),
    );
    const onnx = await importOnnx(new Uint8Array(readFileSync(onnxPath)));
    const want = Array.from(await (await onnx.forward(tensor(Float32Array.from(viaOnnx.input), [1, 3, 32, 32]))).data());
    expectSameLogits(viaOnnx.logits, want);
    expect(viaOnnx.top).toBe(`class ${want.indexOf(Math.max(...want))}`);
    await page.selectOption('#classify-model', 'shipped');
    const app = await nextClassification(page, async () =>
      page.setInputFiles('#classify-file', { name: 'x.png', mimeType: 'image/png', buffer: await greyPng(data.at(5)) }),
    );
    expect(app.top).toBe((await nodeClassify(normalized(data.at(5)))).top);
    const notImage = page.setInputFiles('#classify-file', { name: 'x.png', mimeType: 'image/png', buffer: Buffer.from('no') });
    await notImage;
    await expect
      .poll(() => page.locator('#notices [data-id="image"]').textContent())
      .toMatch(/not an image this browser can read/);
    await denied.close();
  });

  it('runs the benchmark: every wasm build, threads, the reference backend and auto (with its placement) on both models, per-layer chart, JSON export', async () => {
    const page = await appPage(session.context, session.errors);
    await openApp(page, session.url, '?view=bench');
    await page.click('#bench-run');
    await page.waitForFunction(
      () => (window as unknown as { vireoApp: { bench: { state: string } } }).vireoApp.bench.state !== 'running',
      null,
      {
        timeout: 240_000,
      },
    );
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#bench-export')]);
    const result = JSON.parse(readFileSync((await download.path()) as string, 'utf8'));
    const ok = result.rows.filter((r: { status: string }) => r.status === 'ok');
    // `vireo demo` serves COOP/COEP: the page is cross-origin isolated, so relaxed also runs on every core.
    // This headless chromium gives pages no WebGPU adapter (no --enable-unsafe-webgpu): WebGPU is a row that says so.
    expect(result.crossOriginIsolated).toBe(true);
    const threads = Math.min(await page.evaluate(() => navigator.hardwareConcurrency), 8);
    expect(threads).toBeGreaterThan(1);
    const backends = [
      'wasm (relaxed)',
      'wasm (simd)',
      'wasm (scalar)',
      `wasm (relaxed, ${threads} threads)`,
      'reference',
      'auto',
    ];
    expect(ok.map((r: { model: string; backend: string }) => `${r.model} / ${r.backend}`)).toEqual(
      ['reference CNN', 'shipped model'].flatMap((m) => backends.map((b) => `${m} / ${b}`)),
    );
    for (const r of ok) expect(r.imagesPerSecond).toBeCloseTo(1000 / r.ms, 6);
    expect(ok[0].flops).toBe(88_598_528);
    const missing = result.rows.filter((r: { status: string }) => r.status !== 'ok');
    expect(missing.map((r: { backend: string; status: string }) => `${r.backend}: ${r.status}`)).toEqual([
      expect.stringMatching(/^WebGPU: unavailable: (this browser has no WebGPU|WebGPU without an adapter)/),
    ]);
    // Each row says where its layers ran; auto's placement covers every layer of the model once.
    for (const r of ok) expect(r.placement.copies).toBeGreaterThanOrEqual(0);
    const single = ok.find(
      (r: { model: string; backend: string }) => r.model === 'shipped model' && r.backend === 'wasm (relaxed)',
    );
    const auto = ok.find((r: { model: string; backend: string }) => r.model === 'shipped model' && r.backend === 'auto');
    const count = (p: { layers: Record<string, number> }) => Object.values(p.layers).reduce((a, b) => a + b, 0);
    expect(single.placement.layers).toEqual({ wasm: count(single.placement) });
    expect(single.placement.copies).toBe(0);
    expect(count(auto.placement)).toBe(count(single.placement));
    expect(await page.locator('#bench-table').textContent()).toMatch(/auto\s*placement: /);
    expect(Object.keys(result.layers)).toEqual(['reference CNN', 'shipped model']);
    expect(result.layers['reference CNN'].rows.map((l: { name: string }) => l.name)).toContain('conv1+relu1');
    expect(await page.locator('#bench-table tbody tr').count()).toBe(result.rows.length);
    if (process.env.VIREO_APP_SCREENSHOTS)
      await page.screenshot({ path: join(process.env.VIREO_APP_SCREENSHOTS, 'bench-results-360.png'), fullPage: true });
    await page.close();
  });

  it('no view scrolls sideways on a 360×740 phone or a 1080×1920 kiosk', async () => {
    for (const viewport of [
      { width: 360, height: 740 },
      { width: 1080, height: 1920 },
    ]) {
      const ctx = await session.browser.newContext({ viewport });
      const page = await appPage(ctx, session.errors);
      await openApp(page, session.url);
      for (const view of ['classify', 'teach', 'bench']) {
        await page.click(`.tab[data-view="${view}"]`);
        await expect.poll(() => page.evaluate(() => document.body.dataset.view)).toBe(view);
        expect(await horizontalOverflow(page), `${view} at ${viewport.width}×${viewport.height}`).toBeLessThanOrEqual(0);
        if (process.env.VIREO_APP_SCREENSHOTS)
          await page.screenshot({
            path: join(process.env.VIREO_APP_SCREENSHOTS, `${view}-${viewport.width}.png`),
            fullPage: true,
          });
      }
      // Large touch targets: every button and select is at least 44 px tall.
      const small = await page.evaluate(() =>
        [...document.querySelectorAll('button, select, label.button')]
          .filter((el) => (el as HTMLElement).offsetParent !== null && el.getBoundingClientRect().height < 44)
          .map((el) => el.textContent),
      );
      expect(small).toEqual([]);
      await ctx.close();
    }
  });

  it('says plainly when the page is not cross-origin isolated and has no WebGPU, and works; the kiosk idle reset returns to Classify', async () => {
    // A server without COOP/COEP (as a plain static host would be).
    const plain = await serveStatic({ mounts: { '/': appDir } });
    const ctx = await session.browser.newContext({ viewport: { width: 360, height: 740 } });
    const page = await appPage(ctx, session.errors);
    await openApp(page, `http://127.0.0.1:${(plain.address() as AddressInfo).port}/`, '?view=teach&kiosk&idle=1');
    const env = await page.locator('#env').textContent();
    expect(env).toMatch(/not cross-origin isolated: no shared memory/);
    expect(env).toMatch(/no WebGPU/); // chromium runs with --disable-gpu here
    expect(await page.locator('#idle-reset').isChecked()).toBe(true);
    await expect.poll(() => page.evaluate(() => document.body.dataset.view), { timeout: 15_000 }).toBe('classify');
    const app = await nextClassification(page, () => page.click('.examples button >> nth=7'));
    expect(app.top).toBe((await nodeClassify(app.input)).top);
    await ctx.close();
    await stop(plain);
  });

  it('after one visit the app starts and classifies with the network off and the server gone', async () => {
    const own = await startApp(); // its own server, stopped below
    const ctx = await session.browser.newContext({ viewport: { width: 360, height: 740 } });
    const page = await appPage(ctx, session.errors);
    await openApp(page, own.url);
    await page.waitForFunction(
      () => (window as unknown as { vireoApp: { offlineReady?: boolean } }).vireoApp.offlineReady === true,
      null,
      {
        timeout: 30_000,
      },
    );
    await stop(own.server);
    await ctx.setOffline(true);
    await page.reload();
    await page.waitForFunction(() => (window as unknown as { vireoApp: { ready?: boolean } }).vireoApp.ready === true, null, {
      timeout: 60_000,
    });
    expect(await page.locator('#notices .error').count()).toBe(0);
    const app = await nextClassification(page, () => page.click('.examples button >> nth=1'));
    expect(app.model).toBe('shipped');
    expect(app.top).toBe('Trouser');
    // The Teach view's files (loaded on demand) were precached too.
    await page.click('.tab[data-view="teach"]');
    await expect.poll(() => page.locator('#teach-train').count()).toBe(1);
    await ctx.close();
  });
});
