// The demo page in a real browser: Debian's chromium driven by playwright-core, the page served from demo/
// by a tiny local server. Checks the browser bundle (npm run build:browser) loads, runs the reference CNN
// on the wasm backend and gives the same logits as Node for the same seed and input.
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type WasmBuild, manualSeed, tensor } from '../src/index.js';
import { CHROMIUM, launchChromium, serveStatic } from './helpers/chromium.js';
import { referenceCnn } from './helpers/models.js';

const demoDir = fileURLToPath(new URL('../demo/', import.meta.url));
const bundle = join(demoDir, 'vireo.browser.js');
const skipReason = !existsSync(CHROMIUM)
  ? `${CHROMIUM} is missing (Debian: apt-get install chromium)`
  : !existsSync(bundle)
    ? 'demo/vireo.browser.js is missing (run npm run build)'
    : null;
if (skipReason) console.warn(`browser tests skipped: ${skipReason}`);

interface DemoResult {
  state: 'done' | 'error';
  error?: string;
  seed: number;
  backend: string;
  build: string;
  shape: number[];
  logits: number[];
  input: number[];
  threads: number;
  threadsReason: string;
  crossOriginIsolated: boolean;
}

describe.skipIf(skipReason !== null)('demo page in chromium', () => {
  let server: Server;
  let isolatedServer: Server;
  let browser: Browser;
  let url: string;
  let isolatedUrl: string;

  beforeAll(async () => {
    server = await serveStatic({ mounts: { '/': demoDir } });
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    // What a static host must send for threads: the page becomes cross-origin isolated (SharedArrayBuffer).
    isolatedServer = await serveStatic({
      mounts: { '/': demoDir },
      headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
    });
    isolatedUrl = `http://127.0.0.1:${(isolatedServer.address() as AddressInfo).port}/`;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
    await new Promise((resolve) => isolatedServer?.close(resolve));
  });

  async function runPage(query: string, base = url): Promise<DemoResult> {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    try {
      await page.goto(`${base}reference.html${query}`);
      await page.waitForFunction(() => (window as { vireoDemo?: unknown }).vireoDemo !== undefined, null, { timeout: 60_000 });
      const result = (await page.evaluate(() => (window as unknown as { vireoDemo: unknown }).vireoDemo)) as DemoResult;
      expect(errors).toEqual([]);
      expect(result.error).toBeUndefined();
      expect(result.state).toBe('done');
      expect(result.shape).toEqual([1, 10]);
      expect(result.logits).toHaveLength(10);
      expect(result.logits.every(Number.isFinite)).toBe(true);
      expect(['relaxed', 'simd', 'scalar']).toContain(result.build);
      await expect.poll(() => page.locator('#backend').textContent()).toContain(`build '${result.build}'`);
      expect(await page.locator('#top tr').count()).toBe(5);
      return result;
    } finally {
      await page.close();
    }
  }

  /** Node, same seed, the input the page drew: the same logits (wasm: on one thread). */
  async function nodeLogits(result: DemoResult, backend: 'wasm' | 'reference'): Promise<Float32Array> {
    manualSeed(result.seed);
    const net = referenceCnn();
    net.eval();
    await net.to(backend, backend === 'wasm' ? { build: result.build as WasmBuild, threads: 1 } : {});
    const out = await (await net.forward(tensor(new Float32Array(result.input), [1, 3, 32, 32]))).data();
    net.releasePlans();
    return out;
  }

  it('runs the reference CNN on the wasm backend and matches Node for the same seed and input', async () => {
    const result = await runPage('?seed=5');
    expect(result.backend).toBe('wasm');
    const node = await nodeLogits(result, 'wasm');
    for (let i = 0; i < 10; i++) expect(Math.abs(result.logits[i] - node[i])).toBeLessThan(1e-4 * (1 + Math.abs(node[i])));
  });

  it('a page that is not cross-origin isolated runs one thread and says why', async () => {
    const result = await runPage('?seed=5');
    expect(result.crossOriginIsolated).toBe(false);
    expect(result.threads).toBe(1);
    expect(result.threadsReason).toMatch(/not cross-origin isolated/);
  });

  it('a cross-origin isolated page (COOP + COEP) runs wasm threads and gives the one-thread bits', async () => {
    const result = await runPage('?seed=5', isolatedUrl);
    expect(result.crossOriginIsolated).toBe(true);
    expect(result.threads).toBeGreaterThan(1);
    const node = await nodeLogits(result, 'wasm');
    expect(result.logits).toEqual(Array.from(node));
  });

  it("the bundle's reference backend in the page matches Node too", async () => {
    const result = await runPage('?seed=9&backend=reference');
    expect(result.backend).toBe('reference');
    const node = await nodeLogits(result, 'reference');
    for (let i = 0; i < 10; i++) expect(Math.abs(result.logits[i] - node[i])).toBeLessThan(1e-5 * (1 + Math.abs(node[i])));
  });
});
