import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Io } from '../src/cli/args.js';
import { run } from '../src/cli/main.js';
import { pixelsToChw, sampleImageRgb, topK } from '../src/cli/sample.js';

const root = fileURLToPath(new URL('..', import.meta.url));

function capture(): Io & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (l) => stdout.push(l), err: (l) => stderr.push(l) };
}

describe('vireo command', () => {
  it('prints help with status 0, and status 2 for an unknown command or option', async () => {
    const io = capture();
    expect(await run(['--help'], io)).toBe(0);
    expect(io.stdout.join('\n')).toMatch(/vireo <command>/);
    for (const argv of [
      ['nope'],
      ['demo', '--bogus'],
      ['info', 'extra'],
      ['demo', '--runs', 'x'],
      ['demo', '--backend', 'gpu'],
      ['bench', '--bogus'],
    ]) {
      const bad = capture();
      expect(await run(argv, bad)).toBe(2);
      expect(bad.stderr.join('\n').length).toBeGreaterThan(0);
    }
    for (const cmd of ['demo', 'info', 'bench']) {
      const h = capture();
      expect(await run([cmd, '--help'], h)).toBe(0);
      expect(h.stdout.join('\n')).toMatch(new RegExp(`usage: vireo ${cmd}`));
    }
  });

  it('info reports the runtime and the wasm build that runs', async () => {
    const io = capture();
    expect(await run(['info', '--json'], io)).toBe(0);
    const info = JSON.parse(io.stdout[0]);
    expect(info.runtime).toMatch(/^Node\.js v/);
    expect(['relaxed', 'simd', 'scalar']).toContain(info.build);
    expect(typeof info.wasm.simd).toBe('boolean');
    // Node always has shared memory: the default thread count is the reported cores, capped, and says so.
    expect(info.threads).toBeGreaterThanOrEqual(1);
    expect(info.threadsReason).toMatch(/cores? reported/);
    // Node 20 has no navigator.gpu: vireo's own backend (Dawn) answers — SwiftShader where the tests set it
    // up, else a line that says why there is none rather than being left out.
    if (process.env.VIREO_TEST_WEBGPU) {
      expect(info.webgpu).toMatch(/swiftshader/i);
      expect(info.webgpuBackend.limits.minStorageBufferOffsetAlignment).toBeGreaterThan(0);
    } else expect(info.webgpu).toMatch(/^none \(no navigator\.gpu/);
  });

  it('info describes the WebGPU adapter a runtime offers', async () => {
    const g = globalThis as { navigator?: unknown };
    const saved = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
    Object.defineProperty(globalThis, 'navigator', {
      configurable: true,
      value: { gpu: { requestAdapter: async () => ({ info: { vendor: 'nvidia', architecture: 'hopper' } }) } },
    });
    try {
      const io = capture();
      expect(await run(['info', '--json'], io)).toBe(0);
      expect(JSON.parse(io.stdout[0]).webgpu).toBe('nvidia hopper');
    } finally {
      if (saved) Object.defineProperty(globalThis, 'navigator', saved);
      else delete g.navigator;
    }
  });

  it('demo prints finite logits and a top-5 in descending probability, the same for the same seed', async () => {
    const outputs = [];
    for (let i = 0; i < 2; i++) {
      const io = capture();
      expect(await run(['demo', '--terminal', '--json', '--runs', '1', '--seed', '3'], io)).toBe(0);
      outputs.push(JSON.parse(io.stdout[0]));
    }
    const [a, b] = outputs;
    expect(a.logits).toHaveLength(10);
    expect(a.logits.every(Number.isFinite)).toBe(true);
    expect(a.logits).toEqual(b.logits);
    expect(a.top5).toHaveLength(5);
    for (let i = 1; i < 5; i++) expect(a.top5[i - 1].probability).toBeGreaterThanOrEqual(a.top5[i].probability);
  });

  it('the launcher runs the compiled command (exit codes pass through)', () => {
    const ok = execFileSync(process.execPath, ['bin/vireo.js', 'info'], { cwd: root, encoding: 'utf8' });
    expect(ok).toMatch(/running build\s+(relaxed|simd|scalar)/);
    const bad = spawnSync(process.execPath, ['bin/vireo.js', 'demo', '--seed=-1'], { cwd: root, encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--seed must be an integer/);
  });
});

describe('demo input helpers', () => {
  it('the embedded picture is 32×32 RGB and normalizes to CHW', () => {
    const rgb = sampleImageRgb(32);
    expect(rgb).toHaveLength(32 * 32 * 3);
    const chw = pixelsToChw(rgb, 32, 32, 3);
    expect(chw).toHaveLength(3 * 32 * 32);
    // Pixel (0,0) red channel lands at index 0, its blue channel at plane 2.
    expect(chw[0]).toBeCloseTo((rgb[0] / 255 - 0.4914) / 0.247, 5);
    expect(chw[2 * 1024]).toBeCloseTo((rgb[2] / 255 - 0.4465) / 0.2616, 5);
  });

  it('topK is a softmax ranking', () => {
    const top = topK([0, Math.log(3), 0], ['a', 'b', 'c'], 2);
    expect(top.map((t) => t.label)).toEqual(['b', 'a']);
    expect(top[0].probability).toBeCloseTo(0.6, 10);
    expect(top[1].probability).toBeCloseTo(0.2, 10);
  });
});
