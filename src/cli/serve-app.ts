// The web app's local server (`vireo demo`): dist/app/ with the headers the app wants. COOP and COEP make
// the page cross-origin isolated (SharedArrayBuffer, so threaded kernels can run when vireo has them);
// no-cache makes the browser check the service worker and files on every visit while online.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';

export const appHeaders: Record<string, string> = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-cache',
};

const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.safetensors': 'application/octet-stream',
};

/** Serves `dir` on host:port (0: a free port); resolves once listening. */
export function serveApp(dir: string, host = '127.0.0.1', port = 0): Promise<Server> {
  const root = normalize(dir + sep);
  const server = createServer((req, res) => {
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      res.writeHead(400).end('bad request');
      return;
    }
    let file = normalize(join(root, path));
    if (file.endsWith(sep)) file = join(file, 'index.html');
    if (!file.startsWith(root) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { ...appHeaders, 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { ...appHeaders, 'content-type': types[extname(file)] ?? 'application/octet-stream' });
    res.end(req.method === 'HEAD' ? undefined : readFileSync(file));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

const newest = (path: string): number =>
  statSync(path).isDirectory() ? Math.max(0, ...readdirSync(path).map((f) => newest(join(path, f)))) : statSync(path).mtimeMs;

/**
 * dist/app/, built first when it is missing or older than demo/ (a source checkout; an installed package
 * ships it built). Returns the folder or throws with what to run.
 */
export function ensureAppBuilt(packageRoot: string, log: (line: string) => void): string {
  const app = join(packageRoot, 'dist', 'app');
  const demo = join(packageRoot, 'demo');
  const script = join(packageRoot, 'scripts', 'build-demo.mjs');
  const built = existsSync(join(app, 'sw.js'));
  if (!existsSync(script)) {
    if (built) return app;
    throw new Error(`${app} is missing and this install cannot build it (no scripts/); reinstall vireo`);
  }
  if (built && newest(app) >= newest(demo)) return app;
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  if (!existsSync(join(demo, 'vireo.browser.js')) || !existsSync(join(packageRoot, 'dist', 'index.js'))) {
    log('vireo demo: building the library and the browser bundle first (npm run build)…');
    execFileSync(npm, ['run', 'build'], { cwd: packageRoot, stdio: ['ignore', 'ignore', 'inherit'] });
  } else {
    log('vireo demo: building the app (npm run build:demo)…');
    execFileSync(process.execPath, [script], { cwd: packageRoot, stdio: ['ignore', 'ignore', 'inherit'] });
  }
  return app;
}
