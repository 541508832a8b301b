// The web app (dist/app, built by `npm run build`) served by `vireo demo`'s own server, and pages on it that
// record every console error and uncaught exception (the tests expect none).
import { existsSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import { afterAll, beforeAll, expect } from 'vitest';
import { serveApp } from '../../src/cli/serve-app.js';
import { CHROMIUM, launchChromium } from './chromium.js';

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

/** What the tests of one describe block share: the served app, one chromium, one context, the pages' errors. */
export interface AppSession {
  readonly url: string;
  readonly browser: Browser;
  readonly context: BrowserContext;
  /** Every console error and uncaught exception of the pages made with appPage(…, errors). */
  readonly errors: string[];
}

/**
 * Call inside describe(): its beforeAll serves the app and opens chromium with one context of
 * `contextOptions`; its afterAll closes them, removes `tmp` and expects no page of the block, in any test,
 * to have logged an error. The fields are set once beforeAll has run (read them in tests and hooks).
 */
export function useAppSession(contextOptions: BrowserContextOptions, tmp: string): AppSession {
  let server: Server | undefined;
  let browser: Browser | undefined;
  const session = { errors: [] as string[] } as { -readonly [K in keyof AppSession]: AppSession[K] };
  beforeAll(async () => {
    let url: string;
    ({ server, url } = await startApp());
    browser = await launchChromium();
    Object.assign(session, { url, browser, context: await browser.newContext(contextOptions) });
  });
  afterAll(async () => {
    await browser?.close();
    await stop(server);
    rmSync(tmp, { recursive: true, force: true });
    expect(session.errors).toEqual([]);
  });
  return session;
}

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
