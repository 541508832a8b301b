// `npm run build:demo`: the web app as a static folder, dist/app/, that any host can serve (with the headers
// in the README's "The web app" section). Copies demo/'s app files and the browser bundle, writes the service
// worker's precache list and version (a hash of every file), and prints each view's size (raw and gzip).
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'demo');
const out = join(root, 'dist', 'app');

/** What the app is made of; demo/reference.* (the bundle check page of the browser tests) stays out. */
const ENTRIES = ['index.html', 'app.css', 'manifest.webmanifest', 'icon.svg', 'app', 'models', 'examples', 'vireo.browser.js'];

/** Each view's own files (the shell loads first; Teach and Benchmark load when opened). */
const VIEWS = {
  shell: [
    'index.html',
    'app.css',
    'app/main.js',
    'app/ui.js',
    'app/state.js',
    'app/models.js',
    'app/teach-store.js',
    'app/store.js',
  ],
  classify: ['app/classify.js', 'app/input-panel.js', 'app/camera.js', 'app/image.js', 'examples'],
  teach: ['app/teach.js', 'app/teach-worker.js', 'app/teach-model.js', 'app/chart.js'],
  benchmark: ['app/bench.js', 'app/chart.js'],
  'vireo (shared)': ['vireo.browser.js'],
  'shipped model': ['models'],
};

if (!existsSync(join(src, 'vireo.browser.js'))) {
  console.error('demo/vireo.browser.js is missing: run `npm run build` (it builds the browser bundle, then this).');
  process.exit(1);
}

const files = (path) =>
  statSync(path).isDirectory()
    ? readdirSync(path)
        .sort()
        .flatMap((f) => files(join(path, f)))
    : [path];

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
for (const entry of ENTRIES) cpSync(join(src, entry), join(out, entry), { recursive: true });

const precache = ['./', ...files(out).map((f) => `./${relative(out, f)}`)];
const hash = createHash('sha256');
for (const f of files(out)) hash.update(relative(out, f)).update(readFileSync(f));
const version = hash.digest('hex').slice(0, 12);
const sw = readFileSync(join(src, 'sw.js'), 'utf8').replace(
  /\/\* precache \*\/[\s\S]*?\/\* end \*\//,
  JSON.stringify({ version, files: precache }),
);
if (!sw.includes(version)) throw new Error('demo/sw.js: the /* precache */ … /* end */ marker is missing');
writeFileSync(join(out, 'sw.js'), sw);

const sizes = {};
for (const [view, parts] of Object.entries(VIEWS)) {
  const paths = parts.flatMap((p) => files(join(out, p)));
  const bytes = paths.map((p) => readFileSync(p));
  sizes[view] = {
    bytes: bytes.reduce((a, b) => a + b.length, 0),
    gzip: bytes.reduce((a, b) => a + gzipSync(b, { level: 9 }).length, 0),
  };
}
writeFileSync(join(out, 'sizes.json'), `${JSON.stringify({ version, sizes }, null, 2)}\n`);
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
console.log(`dist/app/ (version ${version}, ${precache.length} precached files)`);
for (const [view, s] of Object.entries(sizes))
  console.log(`  ${view.padEnd(16)} ${kb(s.bytes).padStart(9)}  gzip ${kb(s.gzip).padStart(9)}`);
