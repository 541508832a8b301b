// The web app (dist/app, built by `npm run build`) served by `vireo demo`'s own server, and pages on it that
// record every console error and uncaught exception (the tests expect none).
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { serveApp } from '../../src/cli/serve-app.js';
import { CHROMIUM } from './chromium.js';

export const appDir = fileURLToPath(new URL('../../dist/app/', import.meta.url));
export const shippedDir = fileURLToPath(new URL('../../demo/models/fashion-mnist/', import.meta.url));

export const appSkipReason = !existsSync(CHROMIUM)
  ? `${CHROMIUM} is missing (Debian: apt-get install chromium)`
  : !existsSync(`${appDir}sw.js`)
    ? 'dist/app is missing (run npm run build)'
    : null;

export async function startApp(): Promise<{ server: Server; url: string }> {
  const server = await serveApp(appDir);
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}

export const stop = (server: Server | undefined) => new Promise((resolve) => (server ? server.close(resolve) : resolve(null)));

/** A page whose console errors and page errors land in `errors`. */
export async function appPage(context: BrowserContext, errors: string[]): Promise<Page> {
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`page: ${e.message}`));
  return page;
}

/** Opens the app (optionally a view) and waits until the shipped model is loaded. */
export async function openApp(page: Page, url: string, query = ''): Promise<void> {
  await page.goto(`${url}${query}`);
  await page.waitForFunction(() => (window as { vireoApp?: { ready?: boolean } }).vireoApp?.ready === true, null, {
    timeout: 60_000,
  });
}

export interface Classified {
  origin: string;
  model: string;
  input: number[];
  logits: number[];
  top: string;
  invert: boolean;
  backend: string;
}

/** Runs `act` and waits for the Classify view's next result. */
export async function nextClassification(page: Page, act: () => Promise<unknown>): Promise<Classified> {
  const before = await page.evaluate(
    () => (window as { vireoApp?: { classify: { count?: number } } }).vireoApp?.classify.count ?? 0,
  );
  await act();
  await page.waitForFunction(
    (n) => ((window as { vireoApp?: { classify: { count?: number } } }).vireoApp?.classify.count ?? 0) > n,
    before,
    {
      timeout: 30_000,
    },
  );
  return page.evaluate(() => (window as unknown as { vireoApp: { classify: { last: Classified } } }).vireoApp.classify.last);
}

/** No page wider than the window: nothing to scroll sideways. */
export function horizontalOverflow(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
}
