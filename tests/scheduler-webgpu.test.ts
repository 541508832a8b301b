import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { describeCandidate, fingerprint, getBackend, nn, optim, stopCalibrations, tensor } from '../src/index.js';
import type { Module } from '../src/nn/module.js';
import { timeNodesAsync } from '../src/scheduler/calibrate-async.js';
import { referenceCnn } from './helpers/models.js';
import { webgpuUnderTest } from './helpers/webgpu.js';
import { randomInput as input, twin } from './helpers/twin-models.js';

// `auto` with webgpu as a candidate, on SwiftShader: the GPU is calibrated asynchronously (its timings are
// measured, not skipped), loses every layer to wasm by orders of magnitude, and the model computes exactly
// what wasm alone computes. The assignment itself is tested on synthetic tables in scheduler-assign.test.ts.
const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'vireo-sched-gpu-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  delete process.env.VIREO_CALIBRATION_CACHE;
});
let cacheFile = '';
let n = 0;
beforeEach(() => {
  cacheFile = join(dir, `calibration-${n++}.json`);
  process.env.VIREO_CALIBRATION_CACHE = cacheFile;
});

describe.runIf(webgpuUnderTest)("to('auto') with webgpu (SwiftShader)", () => {
  it('the reference CNN: webgpu calibrated, every layer on wasm, the output equal to wasm alone', async () => {
    const [net, alone] = twin(referenceCnn);
    net.eval();
    alone.eval();
    await net.to('auto');
    const compiled = await net.compiledModel();
    expect(compiled.auto?.candidates.map((b) => b.name)).toEqual(['wasm', 'webgpu']);
    expect(compiled.auto?.skipped).toEqual([]);
    const x = input([1, 3, 32, 32], 1);
    const first = await net.forward(x); // at once, on wasm
    expect(compiled.scheduleFor(x.shape, false)).toBeNull();
    const during = await net.forward(x); // the GPU is still being timed: this call does not wait for it
    expect(compiled.scheduleFor(x.shape, false)).toBeNull();
    await compiled.calibration(x.shape, false);
    const s = compiled.scheduleFor(x.shape, false);
    expect(s).not.toBeNull();
    const after = await net.forward(x); // the decided placement, switched to between calls
    expect(compiled.switches).toEqual([{ shape: [1, 3, 32, 32], training: false, to: 'all on wasm' }]);

    // Measured, not skipped: every kernel the plan runs has a webgpu time of its own.
    expect(s?.timed.webgpu.kernels).toBeGreaterThan(0);
    expect(s?.timed.webgpu.kernels).toBe(s?.timed.wasm.kernels);
    expect(s?.timed.webgpu.extrapolated).toBe(0); // batch 1: nothing to screen, all timed in full
    expect(s?.measured).toBe(2 * (s?.timed.wasm.kernels ?? 0));
    // Each layer has a webgpu time of its own; a tiny one (pool3) can time as fast as wasm's within noise, so
    // the comparison is over the whole model, where SwiftShader is far slower.
    let gpuTotal = 0;
    let wasmTotal = 0;
    for (const line of s?.lines ?? []) {
      expect(line.backend, line.layer).toBe('wasm');
      expect(line.estimatedMs.webgpu, line.layer).toBeGreaterThan(0);
      gpuTotal += line.estimatedMs.webgpu;
      wasmTotal += line.estimatedMs.wasm;
    }
    expect(gpuTotal).toBeGreaterThan(wasmTotal);
    expect(s?.labels[0]).toMatch(/^wasm \((relaxed-simd|simd|scalar), \d+ threads?\)$/);
    expect(s?.labels[1]).toMatch(/^webgpu \(.+\)$/);
    const plan = await net.plan(x.shape);
    expect(new Set(plan.placement.map((p) => p.backend))).toEqual(new Set(['wasm']));
    expect(plan.report()).toMatch(/est webgpu ms/);

    await alone.to('wasm');
    const want = Array.from(await (await alone.forward(x)).data());
    for (const y of [first, during, after]) expect(Array.from(await y.data())).toEqual(want);

    // The cache holds both candidates under fingerprints naming the wasm threads and the adapter; a model
    // compiled again decides at once from it, measuring nothing.
    const cache = JSON.parse(readFileSync(cacheFile, 'utf8')) as { devices: Record<string, { kernels: object }> };
    const keys = Object.keys(cache.devices);
    expect(keys.some((k) => k.includes('|wasm|') && /\|threads=\d+\|/.test(k))).toBe(true);
    expect(keys.some((k) => k.includes('|webgpu|') && k.includes('|adapter='))).toBe(true);
    await net.to('auto');
    await net.forward(x);
    expect((await net.compiledModel()).scheduleFor(x.shape, false)?.measured).toBe(0);
    net.releasePlans();
    alone.releasePlans();
  });

  it('training: backward kernels, updates and copies calibrated on webgpu; the steps equal wasm alone', async () => {
    const build = () =>
      new nn.Sequential({
        conv: new nn.Conv2d(3, 8, 3, { padding: 1 }),
        bn: new nn.BatchNorm2d(8),
        relu: new nn.ReLU(),
        pool: new nn.MaxPool2d(2),
        flatten: new nn.Flatten(),
        fc: new nn.Linear(8 * 4 * 4, 5),
      });
    const [net, alone] = twin(build);
    await net.to('auto');
    await alone.to('wasm');
    const x = input([4, 3, 8, 8], 2);
    const labels = tensor([0, 1, 2, 3]);
    const step = async (m: Module, sgd: optim.SGD) => {
      sgd.zeroGrad();
      await new nn.CrossEntropyLoss().forward(await m.forward(x), labels).backward();
      sgd.step();
    };
    const sgdAuto = new optim.SGD(net.parameters(), { lr: 0.1, momentum: 0.9 });
    const sgdAlone = new optim.SGD(alone.parameters(), { lr: 0.1, momentum: 0.9 });
    net.train();
    alone.train();
    const compiled = await net.compiledModel();
    await step(net, sgdAuto);
    await step(alone, sgdAlone);
    await compiled.calibration(x.shape, true);
    for (let i = 0; i < 2; i++) {
      await step(net, sgdAuto);
      await step(alone, sgdAlone);
    }
    const s = compiled.scheduleFor(x.shape, true);
    expect(new Set([...(s?.layers.values() ?? [])].map((b) => b.name))).toEqual(new Set(['wasm']));
    expect(s?.timed.webgpu.kernels).toBe(s?.timed.wasm.kernels);
    const cache = JSON.parse(readFileSync(cacheFile, 'utf8')) as {
      devices: Record<string, { kernels: Record<string, number>; copies: object; updateMsPerFloat: number }>;
    };
    const gpu = Object.entries(cache.devices).find(([k]) => k.includes('|webgpu|'))?.[1];
    expect(Object.keys(gpu?.kernels ?? {}).some((k) => k.startsWith('conv2dGradWeight|'))).toBe(true);
    expect(Object.keys(gpu?.kernels ?? {}).some((k) => k.startsWith('batchNorm2dGradInput|'))).toBe(true);
    expect(gpu?.updateMsPerFloat).toBeGreaterThan(0);
    expect(Object.keys(gpu?.copies ?? {}).sort()).toEqual(['host→webgpu', 'wasm→webgpu', 'webgpu→host']);
    const wasm = Object.entries(cache.devices).find(([k]) => k.includes('|wasm|'))?.[1];
    expect(Object.keys(wasm?.copies ?? {}).sort()).toEqual(['host→wasm', 'wasm→host', 'webgpu→wasm']);
    const got = net.stateDict();
    const want = alone.stateDict();
    for (const [k, v] of Object.entries(want)) expect(Array.from(got[k].dataSync()), k).toEqual(Array.from(v.dataSync()));
    net.releasePlans();
    alone.releasePlans();
  });
});

describe.runIf(webgpuUnderTest)('asynchronous calibration on webgpu', () => {
  it('a stopped calibration keeps what it measured; the next one times only the rest', async () => {
    const build = () =>
      new nn.Sequential({
        conv: new nn.Conv2d(3, 4, 3),
        relu: new nn.ReLU(),
        flatten: new nn.Flatten(),
        fc: new nn.Linear(4 * 4 * 4, 3),
      });
    const net = build();
    net.eval();
    // Stopped at its first progress tick: the host candidate's timings run first, before any GPU plan is built.
    await net.to('auto', { onCalibration: (done) => done === 1 && stopCalibrations() });
    const x = input([2, 3, 6, 6], 4);
    await net.forward(x);
    let compiled = await net.compiledModel();
    await compiled.calibration(x.shape, false);
    expect(compiled.scheduleFor(x.shape, false)).toBeNull();
    const cache = JSON.parse(readFileSync(cacheFile, 'utf8')) as { devices: Record<string, { kernels: object }> };
    const count = (name: string) =>
      Object.keys(Object.entries(cache.devices).find(([k]) => k.includes(`|${name}|`))?.[1].kernels ?? {}).length;
    expect(count('wasm')).toBeGreaterThan(0);
    expect(count('webgpu')).toBe(0);
    await net.to('auto');
    await net.forward(x);
    compiled = await net.compiledModel();
    await compiled.calibration(x.shape, false);
    const s = compiled.scheduleFor(x.shape, false);
    expect(s?.measured).toBe(s?.timed.webgpu.kernels);
    expect(s?.timed.wasm.kernels).toBe(count('wasm'));
    net.releasePlans();
  });

  const linear = (batch: number) => ({ node: new nn.Linear(64, 32).toGraph().nodes[0], inputShapes: [[batch, 64]] });

  it('screens at batch 1: past the bound the time is scaled by the batch, under it the full batch is timed', async () => {
    const gpu = await getBackend('webgpu');
    const item = { ...linear(16), screen: { inputShapes: [[1, 64]], batch: 16 } };
    const counted: number[] = [];
    const pruned = await timeNodesAsync(
      [item],
      gpu,
      () => -1,
      () => false,
      () => counted.push(1),
    );
    expect(pruned.extrapolated).toEqual([true]);
    expect(pruned.ms[0]).toBeGreaterThanOrEqual(0); // a kernel this small may time at 0 past the baseline
    const full = await timeNodesAsync(
      [item],
      gpu,
      () => Number.POSITIVE_INFINITY,
      () => false,
      () => counted.push(1),
    );
    expect(full.extrapolated).toEqual([false]);
    expect(full.ms[0]).toBeGreaterThanOrEqual(0);
    expect(counted).toEqual([1, 1]); // one tick per kernel
  });

  it('candidates are named with their engine: wasm with its build and threads, webgpu with its adapter', async () => {
    const one = await getBackend('wasm', { threads: 1 });
    const two = await getBackend('wasm', { threads: 2 });
    expect(describeCandidate(one)).toMatch(/^wasm \((relaxed-simd|simd|scalar), 1 thread\)$/);
    expect(describeCandidate(two)).toMatch(/^wasm \((relaxed-simd|simd|scalar), 2 threads\)$/);
    expect(fingerprint(one)).not.toBe(fingerprint(two));
    const gpu = await getBackend('webgpu');
    const a = gpu.info().adapter;
    expect(describeCandidate(gpu)).toBe(
      `webgpu (${a?.description || [a?.vendor, a?.architecture, a?.device].filter(Boolean).join(' ')})`,
    );
    expect(fingerprint(gpu)).toContain(`adapter=${a?.vendor}/${a?.architecture}/${a?.device}/${a?.description}`);
  });

  it('without an adapter, auto leaves webgpu out and says why; naming it as a candidate fails', async () => {
    const env = { ...process.env, VK_ICD_FILENAMES: '/nonexistent/icd.json', VK_DRIVER_FILES: '/nonexistent/icd.json' };
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'tests/helpers/auto-no-adapter-child.ts'], {
      env,
      timeout: 60_000,
      killSignal: 'SIGKILL',
    });
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toBe('candidates: wasm');
    expect(lines[1]).toMatch(/^skipped: webgpu: webgpu: no adapter/);
    expect(lines[2]).toBe('forward: 2 values');
    expect(lines[3]).toMatch(/^explicit: VireoError: webgpu: no adapter/);
  });
});
