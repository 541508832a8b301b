// `vireo demo` serves the built web app with the headers it needs and prints the URL; the static folder that
// `npm run build:demo` writes precaches every file it has, under a version that changes with the content.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../src/cli/main.js';
import { appDir, appSkipReason } from './helpers/app-page.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const skip = appSkipReason?.startsWith('dist/app') ? appSkipReason : null;
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGTERM');
});

const capture = () => {
  const io = {
    stdout: [] as string[],
    stderr: [] as string[],
    out: (l: string) => io.stdout.push(l),
    err: (l: string) => io.stderr.push(l),
  };
  return io;
};

describe.skipIf(skip !== null)('vireo demo', () => {
  it('serves dist/app with COOP/COEP on the port it prints, and nothing outside it', async () => {
    const child = spawn(process.execPath, ['bin/vireo.js', 'demo', '--port', '0'], { cwd: root });
    children.push(child);
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        const m = /vireo app: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
        if (m) resolve(m[1]);
      });
      child.on('exit', (code) => reject(new Error(`vireo demo exited with ${code}: ${out}`)));
    });
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(page.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(page.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    expect(await page.text()).toContain('<script type="module" src="./app/main.js">');
    const weights = await fetch(`${url}models/fashion-mnist/weights.safetensors`);
    expect(weights.headers.get('content-type')).toBe('application/octet-stream');
    expect((await weights.arrayBuffer()).byteLength).toBe(
      statSync(join(appDir, 'models/fashion-mnist/weights.safetensors')).size,
    );
    expect((await fetch(`${url}manifest.webmanifest`)).headers.get('content-type')).toBe('application/manifest+json');
    for (const outside of ['..%2Fpackage.json', '%2E%2E/%2E%2E/package.json', 'nope.js'])
      expect((await fetch(`${url}${outside}`)).status).toBe(404);
    child.kill('SIGTERM');
    expect(await new Promise((r) => child.on('exit', r))).toBe(0);
  });

  it('options of the terminal run without --terminal are usage errors', async () => {
    for (const argv of [
      ['demo', '--json'],
      ['demo', '--seed', '3'],
      ['demo', '--terminal', '--port', '80'],
    ]) {
      const io = capture();
      expect(await run(argv, io)).toBe(2);
      expect(io.stderr.join('\n')).toMatch(/--terminal/);
    }
  });

  it('the service worker precaches every file of the app under a hash of their contents', () => {
    const sw = readFileSync(join(appDir, 'sw.js'), 'utf8');
    const m = /const PRECACHE = (\{.*?\});/.exec(sw);
    expect(m).not.toBeNull();
    const precache = JSON.parse(m?.[1] ?? '{}') as { version: string; files: string[] };
    expect(precache.version).toMatch(/^[0-9a-f]{12}$/);
    const files = (d: string): string[] =>
      readdirSync(d).flatMap((f) => (statSync(join(d, f)).isDirectory() ? files(join(d, f)) : [join(d, f)]));
    const all = files(appDir)
      .map((f) => `./${relative(appDir, f)}`)
      .filter((f) => f !== './sw.js' && f !== './sizes.json');
    expect(precache.files.sort()).toEqual(['./', ...all].sort());
    // Nothing from another origin: no CDN, no web font (the SVG namespace and a bundled licence notice are text).
    for (const f of all.filter((f) => /\.(html|js|css|webmanifest)$/.test(f)))
      expect(readFileSync(join(appDir, f), 'utf8'), f).not.toMatch(
        /https?:\/\/(?!www\.w3\.org\/2000\/svg|www\.apache\.org\/licenses\/)/,
      );
  });
});
