// Browser tests: Debian's chromium through playwright-core, and a tiny static server for the pages.
import { existsSync, readFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** `extraArgs`: more command-line switches (a fake camera: --use-fake-device-for-media-stream …). */
export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', ...extraArgs],
  });
}

const types: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.png': 'image/png',
};

export interface StaticSite {
  /** URL prefix → directory served there (the longest matching prefix wins); '/' for the root. */
  mounts: Record<string, string>;
  /** Fixed pages by path (their HTML). */
  pages?: Record<string, string>;
  /** Extra headers on every response (COOP/COEP for a cross-origin isolated page). */
  headers?: Record<string, string>;
}

/** Serves files under the mounts on 127.0.0.1 (a free port); 404 outside them. */
export function serveStatic(site: StaticSite): Promise<Server> {
  const prefixes = Object.keys(site.mounts).sort((a, b) => b.length - a.length);
  const server = createServer((req, res) => {
    const headers = site.headers ?? {};
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    const page = site.pages?.[path];
    if (page !== undefined) {
      res.writeHead(200, { ...headers, 'content-type': 'text/html' }).end(page);
      return;
    }
    const prefix = prefixes.find((p) => path.startsWith(p));
    const root = prefix === undefined ? undefined : site.mounts[prefix];
    const rest = prefix === undefined ? '' : path.slice(prefix.length);
    const file = root === undefined ? '' : join(root, rest === '' ? 'index.html' : rest);
    if (root === undefined || !file.startsWith(root) || !existsSync(file)) {
      res.writeHead(404).end('not found');
      return;
    }
    res
      .writeHead(200, { ...headers, 'content-type': types[extname(file)] ?? 'application/octet-stream' })
      .end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}
