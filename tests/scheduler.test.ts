import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { ArgumentError, autoCandidates, calibrationStore, getBackend, nn, schedule, tensor } from '../src/index.js';
import { smallNet } from './helpers/models.js';
import { randomArray } from './helpers/random.js';

// `auto` placement end to end on the CPU backends, and the calibration cache across processes. The
// assignment itself is tested on synthetic cost tables in scheduler-assign.test.ts.
const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'vireo-sched-'));
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

const tiny = () =>
  new nn.Sequential({
    conv: new nn.Conv2d(3, 8, 3, { padding: 1 }),
    relu: new nn.ReLU(),
    pool: new nn.MaxPool2d(2),
    flatten: new nn.Flatten(),
    fc: new nn.Linear(8 * 4 * 4, 5),
  });

describe("to('auto')", () => {
  it('VIREO_AUTO_CANDIDATES narrows the default candidates; a name that is no backend says so', async () => {
    const saved = process.env.VIREO_AUTO_CANDIDATES;
    try {
      delete process.env.VIREO_AUTO_CANDIDATES;
      expect(autoCandidates()).not.toContain('reference');
      expect(autoCandidates()).toContain('wasm');
      process.env.VIREO_AUTO_CANDIDATES = ' wasm ';
      expect(autoCandidates()).toEqual(['wasm']);
      const net = new nn.Sequential({ fc: new nn.Linear(3, 2) });
      await net.to('auto');
      expect((await net.compiledModel()).auto?.candidates.map((b) => b.name)).toEqual(['wasm']);
      process.env.VIREO_AUTO_CANDIDATES = 'wasm,gpu';
      expect(() => autoCandidates()).toThrow(ArgumentError);
      expect(() => autoCandidates()).toThrow(/VIREO_AUTO_CANDIDATES names 'gpu', not a backend/);
    } finally {
      if (saved === undefined) delete process.env.VIREO_AUTO_CANDIDATES;
      else process.env.VIREO_AUTO_CANDIDATES = saved;
    }
  });

  it('with wasm the only candidate runs everything on wasm, no calibration, same outputs as wasm', async () => {
    const net = smallNet();
    // webgpu joins the default candidates where an adapter exists (scheduler-webgpu.test.ts); here wasm alone.
    await net.to('auto', { candidates: ['wasm'] });
    const compiled = await net.compiledModel();
    expect(compiled.auto?.candidates.map((b) => b.name)).toEqual(['wasm']);
    net.eval();
    const x = tensor(randomArray(2 * 3 * 33 * 33, 1, 1), [2, 3, 33, 33]);
    const auto = await (await net.forward(x)).data();
    expect(existsSync(cacheFile)).toBe(false);
    const plan = await net.plan(x.shape);
    expect(new Set(plan.placement.map((s) => s.backend))).toEqual(new Set(['wasm']));
    await net.to('wasm');
    expect(Array.from(await (await net.forward(x)).data())).toEqual(Array.from(auto));
    net.releasePlans();
  });

  it('answers the first call at once on the first candidate, calibrates, then switches between calls', async () => {
    const net = tiny();
    net.eval();
    // One wasm thread: on layers this small, a thread pool's hand-off costs more than the reference's loop.
    await net.to('auto', { candidates: ['wasm', 'reference'], threads: 1 });
    const x = tensor(randomArray(2 * 3 * 8 * 8, 2, 1), [2, 3, 8, 8]);
    const first = await net.forward(x);
    const compiled = await net.compiledModel();
    expect(compiled.scheduleFor(x.shape, false)).toBeNull(); // not decided: the first call did not wait
    const second = await net.forward(x); // waits for the calibration started after the first call
    const s = compiled.scheduleFor(x.shape, false);
    expect(s).not.toBeNull();
    expect(s?.measured).toBeGreaterThan(0);
    // The reference backend (plain TypeScript) is slower at every layer: the answer is all wasm.
    expect(new Set([...(s?.layers.values() ?? [])].map((b) => b.name))).toEqual(new Set(['wasm']));
    for (const line of s?.lines ?? []) expect(line.estimatedMs.reference).toBeGreaterThan(line.estimatedMs.wasm);
    expect(compiled.switches).toEqual([{ shape: [2, 3, 8, 8], training: false, to: 'all on wasm' }]);
    expect(Array.from(await second.data())).toEqual(Array.from(await first.data()));
    const report = (await net.plan(x.shape)).report([x.dataSync()]);
    expect(report).toMatch(/est wasm ms/);
    expect(report).toMatch(/est reference ms/);
    expect(report).toMatch(/estimated total .* ms/);
    expect(report).toMatch(/measured total .* ms/);
    net.releasePlans();
  });

  it('training under auto: the step runs, calibrated with the backward kernels and the updates', async () => {
    const net = tiny();
    net.train();
    await net.to('auto', { candidates: ['wasm', 'reference'] });
    const x = tensor(randomArray(4 * 3 * 8 * 8, 3, 1), [4, 3, 8, 8]);
    const loss = new nn.CrossEntropyLoss();
    for (let i = 0; i < 3; i++)
      await (loss.forward(await net.forward(x), tensor([0, 1, 2, 3])) as { backward(): Promise<void> }).backward();
    const s = (await net.compiledModel()).scheduleFor(x.shape, true);
    expect(s?.lines.find((l) => l.layer.startsWith('conv'))?.estimatedMs.wasm).toBeGreaterThan(0);
    const cache = JSON.parse(readFileSync(cacheFile, 'utf8'));
    const wasm = Object.entries(cache.devices).find(([fp]) => fp.includes('|wasm|'))?.[1] as {
      kernels: object;
      updateMsPerFloat: number;
    };
    // Measured inside training steps: under training keys, apart from the forward plan's.
    expect(Object.keys(wasm.kernels).some((k) => k.startsWith('train|conv2dGradWeight|'))).toBe(true);
    expect(wasm.updateMsPerFloat).toBeGreaterThan(0);
    net.releasePlans();
  });
});

describe('the calibration cache', () => {
  // A second process must find every timing in the file: it reports how many kernels it measured.
  const child = (file: string, build = 'relaxed') =>
    JSON.parse(
      execFileSync(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `
          const v = await import(${JSON.stringify(join(root, 'dist', 'index.js'))});
          const net = new v.nn.Sequential({ conv: new v.nn.Conv2d(3, 8, 3, { padding: 1 }), relu: new v.nn.ReLU(), flatten: new v.nn.Flatten(), fc: new v.nn.Linear(8 * 8 * 8, 5) });
          net.eval();
          const candidates = [await v.getBackend('wasm', { build: '${build}' }), await v.getBackend('reference')];
          const s = await v.schedule(net.toGraph([1, 3, 8, 8]), [1, 3, 8, 8], candidates);
          const store = await v.calibrationStore();
          console.log(JSON.stringify({ measured: s.measured, notes: store.notes.concat(s.notes) }));`,
        ],
        { env: { ...process.env, VIREO_CALIBRATION_CACHE: file } },
      ).toString(),
    );

  it('a second process reuses the calibration; another fingerprint recalibrates; a corrupt file is ignored and rewritten', () => {
    const file = join(dir, 'shared.json');
    const a = child(file);
    expect(a.measured).toBeGreaterThan(0);
    const b = child(file);
    expect(b.measured).toBe(0);
    // Another wasm build is another device fingerprint: its kernels are timed again (reference's are reused).
    const c = child(file, 'scalar');
    expect(c.measured).toBeGreaterThan(0);
    expect(c.measured).toBeLessThan(a.measured);
    writeFileSync(file, '{"devices": [1, 2');
    const d = child(file);
    expect(d.measured).toBe(a.measured);
    expect(d.notes.join('\n')).toMatch(/not a valid cache file: ignored, it will be rewritten/);
    expect(JSON.parse(readFileSync(file, 'utf8')).version).toBe(1);
  });

  it("a writer killed between write and rename leaves a temporary file the next save removes (a live writer's stays)", async () => {
    const file = join(dir, 'orphans.json');
    // A process that has exited: its pid names no writer any more.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid as number;
    writeFileSync(join(dir, `.orphans.json.${dead}.3.tmp`), '{"version": 1, "devi');
    writeFileSync(join(dir, `.orphans.json.${process.pid}.99.tmp`), 'a write in progress');
    // Earlier releases named their temporary files without the leading dot.
    writeFileSync(join(dir, `orphans.json.${dead}.6.tmp`), '{"version": 1');
    process.env.VIREO_CALIBRATION_CACHE = file;
    try {
      const store = await calibrationStore();
      await store.save('some device', { kernels: { k: 1 }, copies: {} } as never);
      expect(existsSync(join(dir, `.orphans.json.${dead}.3.tmp`))).toBe(false);
      expect(existsSync(join(dir, `orphans.json.${dead}.6.tmp`))).toBe(false);
      expect(existsSync(join(dir, `.orphans.json.${process.pid}.99.tmp`))).toBe(true);
      expect(JSON.parse(readFileSync(file, 'utf8')).devices['some device'].kernels.k).toBe(1);
    } finally {
      delete process.env.VIREO_CALIBRATION_CACHE;
    }
  });

  it('VIREO_CALIBRATION_CACHE=off keeps nothing', async () => {
    process.env.VIREO_CALIBRATION_CACHE = 'off';
    const net = tiny();
    net.eval();
    const candidates = [await getBackend('wasm'), await getBackend('reference')];
    const a = await schedule(net.toGraph([1, 3, 8, 8]), [1, 3, 8, 8], candidates);
    const b = await schedule(net.toGraph([1, 3, 8, 8]), [1, 3, 8, 8], candidates);
    expect(a?.measured).toBeGreaterThan(0);
    expect(b?.measured).toBe(a?.measured);
  });
});

describe('vireo bench --placement', () => {
  it('prints the placement report and auto against every single-backend plan, measured in the same run', async () => {
    const { run } = await import('../src/cli/main.js');
    const out: string[] = [];
    const status = await run(['bench', '--placement', '--batch', '2', '--rounds', '1'], {
      out: (l) => out.push(l),
      err: () => {},
    });
    expect(status).toBe(0);
    const text = out.join('\n');
    // The wasm candidate is named with its build and threads; webgpu joins where an adapter exists
    // (SwiftShader here): calibrated, not chosen, and too slow to be worth timing alone.
    expect(text).toMatch(/small-cnn, batch 2: auto placement \(candidates: wasm \((relaxed-simd|simd|scalar), \d+ threads?\)/);
    expect(text).toMatch(/^conv1 +conv2d +\[2, 32, 28, 28\] +wasm +[0-9.]+/m);
    expect(text).toMatch(/^auto +[0-9.]+ +[0-9.]+ /m);
    expect(text).toMatch(/^wasm +[0-9.]+ +[0-9.]+ +0\.0% +0\.0%$/m);
    expect(text).toMatch(/^chosen placement: forward all on wasm; training all on wasm$/m);
    // What a cold calibration costs is said too.
    expect(text).toMatch(/^calibration \(wall, .*\): forward [0-9.]+ s, training [0-9.]+ s$/m);
    // A second wasm-only model timed like the others: the run's noise floor, said next to auto's gap.
    expect(text).toMatch(/^wasm \(copy\) +[0-9.]+ +[0-9.]+ +-?[0-9.]+% +-?[0-9.]+%$/m);
    // The cost model's error is reported, not hidden: auto's estimate against its measured time.
    expect(text).toMatch(
      /^cost model: forward estimated [0-9.]+ ms, measured [0-9.]+ ms \(-?[0-9.]+%\); train step estimated [0-9.]+ ms, measured [0-9.]+ ms \(-?[0-9.]+%\)$/m,
    );
    expect(text).toMatch(
      /^noise floor \(a second wasm-only model vs the first\): forward -?[0-9.]+%, train step -?[0-9.]+% \(fastest rounds: forward -?[0-9.]+%, train step -?[0-9.]+%\)$/m,
    );
    if (process.env.VIREO_TEST_WEBGPU) {
      expect(text).toMatch(/^webgpu \(.+\) +41 +\d+ +[0-9.]+ +[0-9.]+$/m);
      expect(text).toMatch(/^auto vs wasm alone: forward -?[0-9.]+%, train step -?[0-9.]+% \(fastest rounds: /m);
      expect(text).toMatch(/^webgpu not timed alone: estimated [0-9.]+ ms forward/m);
    }
    const err: string[] = [];
    const bad = await run(['bench', '--placement', '--batch', 'x'], { out: () => {}, err: (l) => err.push(l) });
    expect(bad).toBe(2);
    expect(err.join('\n')).toMatch(/--batch must be a positive integer/);
  }, 60_000);
});
