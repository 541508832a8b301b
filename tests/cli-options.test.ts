import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { Io } from '../src/cli/args.js';
import { run } from '../src/cli/main.js';
import { datasets } from '../src/index.js';

/** `vireo train --val-split` and `--workers`, and the bin/vireo.js launcher's first-run build of dist/. */
const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'vireo-cli-options-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function vireo(...argv: string[]) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const io: Io = { out: (l) => stdout.push(l), err: (l) => stderr.push(l) };
  const status = await run(argv, io);
  return { status, stdout: stdout.join('\n'), stderr: stderr.join('\n') };
}

describe('vireo train options', () => {
  it('--val-split F validates on a seeded fraction F of the training set, not on the test split', async () => {
    const n = (await datasets.FashionMNIST.embedded({ train: true })).length;
    const nVal = Math.round(n * 0.1);
    const r = await vireo(
      'train',
      '--epochs',
      '1',
      '--limit',
      '700',
      '--batch-size',
      '64',
      '--val-split',
      '0.1',
      '--out',
      join(dir, 'split'),
    );
    expect(r.status, r.stderr).toBe(0);
    expect(`${r.stdout}\n${r.stderr}`).toMatch(new RegExp(`: 700 training / ${Math.min(700, nVal)} validation images`));
    // Without it the embedded data validates on its test split, limited like the training set.
    const t = await vireo(
      'train',
      '--backend',
      'wasm',
      '--epochs',
      '1',
      '--limit',
      '700',
      '--batch-size',
      '64',
      '--out',
      join(dir, 'test'),
    );
    expect(`${t.stdout}\n${t.stderr}`).toMatch(/: 700 training \/ 700 validation images/);
    expect(nVal).toBeLessThan(700); // so the two counts above tell the splits apart
  });

  it('--workers 2 trains the same weights as loading on the main thread', async () => {
    // One backend for both runs (not --backend auto, whose placement could differ between them).
    const args = ['train', '--backend', 'wasm', '--epochs', '1', '--limit', '96', '--batch-size', '32', '--augment', '--json'];
    const a = await vireo(...args, '--workers', '0', '--out', join(dir, 'w0'));
    const b = await vireo(...args, '--workers', '2', '--out', join(dir, 'w2'));
    expect(a.status, a.stderr).toBe(0);
    expect(b.status, b.stderr).toBe(0);
    const w = (d: string) => readFileSync(join(dir, d, 'weights.safetensors'));
    expect(w('w2').equals(w('w0'))).toBe(true);
    expect(JSON.parse(b.stdout).loss).toBe(JSON.parse(a.stdout).loss);
  });
});

describe('bin/vireo.js launcher', () => {
  /** A checkout without dist/: the launcher, package.json whose build writes a stand-in dist/cli/main.js. */
  function checkout(name: string, { buildScript = true, buildWorks = true } = {}): string {
    const c = join(dir, name);
    mkdirSync(join(c, 'bin'), { recursive: true });
    mkdirSync(join(c, 'scripts'));
    copyFileSync(join(root, 'bin', 'vireo.js'), join(c, 'bin', 'vireo.js'));
    if (buildScript) writeFileSync(join(c, 'scripts', 'build-wasm.mjs'), '');
    const stub = 'export async function run(argv) { console.log("ran " + JSON.stringify(argv)); return 3; }';
    const make = `import { mkdirSync, writeFileSync } from 'node:fs';
mkdirSync('dist/cli', { recursive: true });
writeFileSync('dist/cli/main.js', ${JSON.stringify(stub)});`;
    writeFileSync(join(c, 'make-dist.mjs'), buildWorks ? make : 'process.exit(5);');
    const build = 'node make-dist.mjs';
    writeFileSync(join(c, 'package.json'), JSON.stringify({ type: 'module', scripts: { build } }));
    return c;
  }
  const launch = (c: string, ...argv: string[]) =>
    spawnSync(process.execPath, [join(c, 'bin', 'vireo.js'), ...argv], { cwd: c, encoding: 'utf8' });

  it('builds a missing dist/ once, then runs the command', () => {
    const c = checkout('fresh');
    const first = launch(c, 'info', '--json');
    expect(first.stderr).toMatch(/first run in this checkout, building dist\/ \(npm run build\)/);
    expect(first.stdout.trim()).toBe('ran ["info","--json"]');
    expect(first.status).toBe(3);
    const second = launch(c, 'demo');
    expect(second.stderr).not.toMatch(/building dist/);
    expect(second.stdout.trim()).toBe('ran ["demo"]');
  });

  it('says why when the build fails, or when an install lacks dist/ and cannot build it', () => {
    const failed = launch(checkout('broken', { buildWorks: false }), 'info');
    expect(failed.status).toBe(1);
    expect(failed.stderr).toMatch(/the build failed \(status 5\); run `npm run build` to see why/);
    const installed = launch(checkout('installed', { buildScript: false }), 'info');
    expect(installed.status).toBe(1);
    expect(installed.stderr).toMatch(/dist\/ is missing from this install; reinstall the package/);
  });
});
