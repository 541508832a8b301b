import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { defaultWorkerCount } from '../src/data/pool.js';
import { describe, expect, it } from 'vitest';
import { getBackend, manualSeed, nn, optim, tensor } from '../src/index.js';
import type { Backend } from '../src/backends/backend.js';
import { flags } from '../src/core/flags.js';
import { chooseThreads, DEFAULT_MAX_THREADS } from '../src/backends/wasm/thread-count.js';
import { splitRange } from '../src/backends/wasm/kernels/parallel.js';
import { loadWasm } from '../src/backends/wasm/loader.js';
import { claimOrder, ThreadLocal, ThreadPool } from '../src/backends/wasm/threads.js';
import { WasmArena } from '../src/backends/arena.js';
import { type OpCase, Random, caseInputs, caseParams, runCase } from './helpers/single-op.js';
import { opCases } from './cases/ops.js';
import { backwardCases } from './cases/grad.js';
import { expectSameBits } from './helpers/random.js';

/**
 * The threaded wasm backend computes what one thread computes, bit for bit. The op suites
 * (ops.test.ts, ops-grad.test.ts) check every op case that way on relaxed×2, relaxed×4 and simd×2; this
 * file drives every way a step is split: fewer images than threads (the GEMM shared by output panels),
 * more (whole images per thread, uneven), the weight gradient's chunks, grouped and pointwise
 * convolutions, a one-row GEMM whose weights take the four-stream GEMV (split at multiples of 4 panels),
 * with forward logits and whole training runs (SGD, then Adam) compared across 1, 2, 3 and 4 threads.
 */

/** Conv (3×3, padded) → grouped strided conv with one output channel per group → pointwise → two linears. */
function net(): nn.Sequential {
  return new nn.Sequential({
    conv1: new nn.Conv2d(3, 8, 3, { padding: 1 }),
    relu1: new nn.ReLU(),
    conv2: new nn.Conv2d(8, 2, 3, { stride: 2, padding: 1, groups: 2 }),
    relu2: new nn.ReLU(),
    conv3: new nn.Conv2d(2, 6, 1),
    flat: new nn.Flatten(),
    // 384 × 2800 weights: past the GEMV's four-stream threshold at batch 1 (assembly/gemm.ts).
    fc1: new nn.Linear(384, 2800),
    relu3: new nn.ReLU(),
    fc2: new nn.Linear(2800, 10),
  });
}

function input(batch: number, seed: number): Float32Array {
  const r = new Random(seed);
  return Float32Array.from({ length: batch * 3 * 16 * 16 }, () => r.uniform(-1, 1));
}

/** Logits at batch 1 and 5, then the weights after two SGD steps and one Adam step, on `threads` threads. */
async function runAll(build: 'relaxed' | 'simd', threads: number): Promise<Float32Array[]> {
  const model = net();
  const init = model.stateDict();
  const out: Float32Array[] = [];
  const r = new Random(3);
  for (const t of Object.values(init)) {
    const v = t.dataSync().map(() => r.uniform(-0.2, 0.2));
    t.dataSync().set(v);
  }
  model.loadStateDict(init);
  await model.to('wasm', { build, threads });
  model.eval();
  for (const batch of [1, 5]) out.push(await (await model.forward(tensor(input(batch, batch), [batch, 3, 16, 16]))).data());
  model.train();
  const x = tensor(input(9, 9), [9, 3, 16, 16]);
  const y = tensor([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  const loss = new nn.CrossEntropyLoss();
  const sgd = new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
  const adam = new optim.Adam(model.parameters(), { lr: 1e-3 });
  for (let step = 0; step < 3; step++) {
    const opt = step < 2 ? sgd : adam;
    opt.zeroGrad();
    const l = loss.forward(await model.forward(x), y);
    await l.backward();
    opt.step();
    out.push(await l.data());
  }
  for (const t of Object.values(model.stateDict())) out.push(t.dataSync().slice());
  sgd.dispose();
  adam.dispose();
  model.releasePlans();
  return out;
}

describe('threaded wasm: the same bits for every thread count', () => {
  for (const build of ['relaxed', 'simd'] as const) {
    it(`${build}: logits at batch 1 and 5, losses and weights after SGD + Adam steps at batch 9, for 1-4 threads`, async () => {
      const one = await runAll(build, 1);
      for (const threads of build === 'relaxed' ? [2, 3, 4] : [2]) {
        const many = await runAll(build, threads);
        expect(many.length).toBe(one.length);
        many.forEach((v, i) => expectSameBits(v, one[i], `${build} ${threads} threads, result ${i}`));
      }
    });
  }
});

/**
 * The small-step splits (element-wise ops and their gradients, pooling forward and backward by planes, bias
 * gradients by channels, weight packing by panels, one image's im2col by input channels, optimizer updates
 * and gradient accumulation by element ranges) apply only above flags.threadSplitMinFloats per thread; with
 * it at 1 every op case (odd sizes: ranges that end in SIMD tails) and a small training run split on 2 and 3
 * threads and must give the one-thread bits.
 */
/** The conv weight gradient's threaded schemes: which one each small op case takes. */
const gradWeightSchemes = {
  'shared chunks': {
    convGradWeightOwnPanelsMinK: flags.convGradWeightOwnPanelsMinK,
    convGradWeightOwnRowsMin: Number.POSITIVE_INFINITY,
  },
  'own rows': { convGradWeightOwnPanelsMinK: flags.convGradWeightOwnPanelsMinK, convGradWeightOwnRowsMin: 1 },
  'own panels': { convGradWeightOwnPanelsMinK: 1, convGradWeightOwnRowsMin: 1 },
};
type GradWeightScheme = keyof typeof gradWeightSchemes;

async function withEverySplit<T>(fn: () => Promise<T>, scheme: GradWeightScheme = 'own panels'): Promise<T> {
  const saved = { ...flags };
  flags.threadSplitMinFloats = 1;
  Object.assign(flags, gradWeightSchemes[scheme]);
  try {
    return await fn();
  } finally {
    Object.assign(flags, saved);
  }
}

/** Pooling, standalone activations, dropout, an odd-sized image, two accumulated backward passes per step. */
function smallStepNet(): nn.Sequential {
  return new nn.Sequential({
    conv1: new nn.Conv2d(3, 5, 3, { padding: 1 }),
    pool1: new nn.MaxPool2d(2),
    act1: new nn.Sigmoid(),
    conv2: new nn.Conv2d(5, 7, 3, { padding: 1 }),
    pool2: new nn.AvgPool2d(2, { stride: 1 }),
    act2: new nn.Tanh(),
    pool3: new nn.AdaptiveAvgPool2d(3),
    flat: new nn.Flatten(),
    fc1: new nn.Linear(63, 37),
    relu: new nn.ReLU(),
    drop: new nn.Dropout(0.25),
    fc2: new nn.Linear(37, 10),
  });
}

async function trainSmallSteps(threads: number): Promise<Float32Array[]> {
  manualSeed(21);
  const model = smallStepNet();
  await model.to('wasm', { build: 'relaxed', threads });
  const out: Float32Array[] = [];
  model.eval();
  for (const batch of [1, 2]) out.push(await (await model.forward(tensor(input13(batch, batch), [batch, 3, 13, 13]))).data());
  model.train();
  const x = tensor(input13(7, 7), [7, 3, 13, 13]);
  const y = tensor([0, 1, 2, 3, 4, 5, 6]);
  const loss = new nn.CrossEntropyLoss();
  const sgd = new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-3 });
  const adam = new optim.Adam(model.parameters(), { lr: 1e-3, amsgrad: true });
  for (let step = 0; step < 3; step++) {
    const opt = step < 2 ? sgd : adam;
    opt.zeroGrad();
    // Two backward passes: the second adds into the gradients (the accumulate update).
    for (let k = 0; k < 2; k++) {
      const l = loss.forward(await model.forward(x), y);
      await l.backward();
      out.push(await l.data());
    }
    opt.step();
  }
  for (const t of Object.values(model.stateDict())) out.push(t.dataSync().slice());
  sgd.dispose();
  adam.dispose();
  model.releasePlans();
  return out;
}

function input13(batch: number, seed: number): Float32Array {
  const r = new Random(seed);
  return Float32Array.from({ length: batch * 3 * 13 * 13 }, () => r.uniform(-1, 1));
}

describe('threaded wasm: the small-step splits give the one-thread bits', () => {
  const cases: OpCase[] = [...opCases, ...backwardCases()];
  const data = new Map(cases.map((c) => [c.name, { params: caseParams(c), inputs: caseInputs(c) }]));

  it('every forward and backward op case, split across 2 and 3 threads (relaxed build)', async () => {
    const one = await getBackend('wasm', { build: 'relaxed', threads: 1 });
    const many: Backend[] = [
      await getBackend('wasm', { build: 'relaxed', threads: 2 }),
      await getBackend('wasm', { build: 'relaxed', threads: 3 }),
    ];
    // The weight gradient's three threaded schemes: shared chunks, own rows (short K) and own panels (any K).
    for (const scheme of Object.keys(gradWeightSchemes) as GradWeightScheme[]) {
      await withEverySplit(async () => {
        for (const c of cases) {
          if (c.skip?.includes('wasm:relaxed')) continue;
          const d = data.get(c.name);
          if (!d) throw new Error(`no data for ${c.name}`);
          const expected = runCase(c, one, d.params, d.inputs);
          for (const b of many) {
            const label = `${c.name} on ${b.info().threads} threads (weight gradient: ${scheme})`;
            expectSameBits(runCase(c, b, d.params, d.inputs), expected, label);
          }
        }
      }, scheme);
    }
  });

  it('a training run with pooling, standalone activations, dropout, accumulated gradients, SGD and Adam', async () => {
    const one = await withEverySplit(() => trainSmallSteps(1));
    for (const threads of [2, 3]) {
      for (const scheme of ['own panels', 'own rows'] as const) {
        const many = await withEverySplit(() => trainSmallSteps(threads), scheme);
        expect(many.length).toBe(one.length);
        many.forEach((v, i) => expectSameBits(v, one[i], `small steps, ${threads} threads (${scheme}), result ${i}`));
      }
    }
  });
});

describe('the thread pool', () => {
  // Each part is thread t's list; threads claim their own first and then any left, so under any timing
  // every part must run exactly once. f32_add(a, a, y, n) doubles a part's own slice: a part run twice (or
  // never) leaves a wrong value.
  it('runs every part exactly once, whoever claims it; a job with calls on one worker only; a fault names its part', async () => {
    const { exports: e, module } = await loadWasm('relaxed', { shared: true });
    const pool = await ThreadPool.start(3, module, e.memory, e);
    try {
      const arena = new WasmArena(e.memory, e.heap_base());
      const n = 4096;
      const src = arena.alloc(4 * 3 * n);
      const dst = arena.alloc(4 * 3 * n);
      const input = Float32Array.from({ length: 3 * n }, (_, i) => i % 97);
      for (let round = 0; round < 200; round++) {
        arena.f32(src, 3 * n).set(input);
        arena.f32(dst, 3 * n).fill(-1);
        const job = pool.job();
        // Round 0 mod 4: only worker 2 has calls (one part: the caller runs it); others: every thread.
        const threads = round % 4 === 0 ? [2] : [0, 1, 2];
        for (const t of threads) {
          // Several calls per part, in order: the second adds the first's result to itself.
          job.call(t, 'f32_add', src + 4 * t * n, src + 4 * t * n, dst + 4 * t * n, n);
          job.call(t, 'f32_add', dst + 4 * t * n, dst + 4 * t * n, dst + 4 * t * n, n);
        }
        pool.run(job);
        const out = arena.f32(dst, 3 * n);
        for (let t = 0; t < 3; t++) {
          const want = threads.includes(t) ? 4 : -1;
          for (let i = t * n; i < (t + 1) * n; i += 257) {
            const expected = want === -1 ? -1 : want * input[i];
            if (out[i] !== expected) throw new Error(`round ${round}, part ${t}, element ${i}: ${out[i]} ≠ ${expected}`);
          }
        }
      }
      // More parts than threads (stolen across blocks), each through a scratch place of the thread that
      // runs it: part p writes 2·src into the running thread's slice, then doubles that into its output.
      // Threads resolving `local` to one shared place would overwrite each other's halfway values.
      const parts = pool.maxParts;
      const many = arena.alloc(4 * parts * n);
      const out = arena.alloc(4 * parts * n);
      const slice = 4 * n + 64;
      const scratch = arena.alloc(slice * 3 + 64);
      const manyInput = Float32Array.from({ length: parts * n }, (_, i) => (i * 7) % 101);
      arena.f32(many, parts * n).set(manyInput);
      for (let round = 0; round < 100; round++) {
        arena.f32(out, parts * n).fill(-1);
        const job = pool.job(parts);
        job.scratch.base = scratch;
        job.scratch.slice = slice;
        for (let p = 0; p < parts; p++) {
          job.call(p, 'f32_add', many + 4 * p * n, many + 4 * p * n, new ThreadLocal(0), n);
          job.call(p, 'f32_add', new ThreadLocal(0), new ThreadLocal(0), out + 4 * p * n, n);
        }
        pool.run(job);
        const got = arena.f32(out, parts * n);
        for (let i = 0; i < parts * n; i += 61) {
          if (got[i] !== 4 * manyInput[i]) throw new Error(`round ${round}, element ${i}: ${got[i]} ≠ ${4 * manyInput[i]}`);
        }
      }
      expect(() => pool.job(parts + 1)).toThrow(/parts/);
      // A call that traps (an out-of-bounds pointer) in worker 1's part.
      const bad = pool.job();
      bad.call(0, 'f32_add', src, src, dst, 16);
      bad.call(1, 'f32_add', 0x7ffffff0, 0x7ffffff0, dst, 1 << 20);
      expect(() => pool.run(bad)).toThrow(/part 1 of a step failed|out of bounds/);
    } finally {
      pool.close();
    }
  });
});

describe('claim order', () => {
  it('each thread tries every part once: its own block first in order, then the others from their far ends', () => {
    for (const threads of [1, 2, 3, 4, 16]) {
      for (const parts of [1, 2, 3, threads, 2 * threads + 1, 4 * threads]) {
        const firsts = new Set<number>();
        for (let t = 0; t < threads; t++) {
          const order = claimOrder(t, threads, parts);
          expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: parts }, (_, i) => i));
          if (parts <= threads) {
            if (t < parts) expect(order[0]).toBe(t);
          } else {
            const lo = Math.floor((t * parts) / threads);
            const hi = Math.floor(((t + 1) * parts) / threads);
            expect(order.slice(0, hi - lo)).toEqual(Array.from({ length: hi - lo }, (_, i) => lo + i));
            firsts.add(order[0]);
          }
        }
        // Every thread starts on a different part when there are more parts than threads.
        if (parts > threads) expect(firsts.size).toBe(threads);
      }
    }
    // Two threads, eight parts: thread 0 takes 0…3, then steals 7, 6, 5, 4.
    expect(claimOrder(0, 2, 8)).toEqual([0, 1, 2, 3, 7, 6, 5, 4]);
    expect(claimOrder(1, 2, 8)).toEqual([4, 5, 6, 7, 3, 2, 1, 0]);
  });
});

describe('thread count and its reason', () => {
  it('default: the reported cores, capped; one thread without shared memory or on the scalar build', async () => {
    expect(await chooseThreads(undefined, 'relaxed', { shared: true, cores: 2 })).toEqual({
      threads: 2,
      reason: '2 cores reported',
    });
    expect((await chooseThreads(undefined, 'relaxed', { shared: true, cores: 64 })).threads).toBe(DEFAULT_MAX_THREADS);
    const isolated = await chooseThreads(4, 'relaxed', { shared: false, hasSharedArrayBuffer: false });
    expect(isolated.threads).toBe(1);
    expect(isolated.reason).toMatch(/cross-origin isolated.*COOP: same-origin and COEP: require-corp/);
    expect((await chooseThreads(4, 'scalar', { shared: true })).threads).toBe(1);
    expect(await chooseThreads(3, 'simd', { shared: true })).toEqual({ threads: 3, reason: '3 threads requested' });
    await expect(chooseThreads(0, 'simd')).rejects.toThrow(/positive integer/);
  });

  it("getBackend('wasm', { threads }) runs that many and info() says so", async () => {
    const b = await getBackend('wasm', { threads: 3 });
    expect(b.info()).toMatchObject({ threads: 3, threadsReason: '3 threads requested' });
    expect((await getBackend('wasm', { threads: 1 })).info().threads).toBe(1);
  });

  it("the data loader's 'auto' workers leave the compute threads their cores", async () => {
    await getBackend('wasm', { threads: 3 });
    expect(await defaultWorkerCount()).toBe(Math.max(1, availableParallelism() - 3));
  });

  it('splitRange: contiguous, aligned, covering ranges', () => {
    expect(splitRange(10, 3)).toEqual([
      [0, 3],
      [3, 6],
      [6, 10],
    ]);
    expect(splitRange(350, 2, 4)).toEqual([
      [0, 176],
      [176, 350],
    ]);
    expect(splitRange(1, 4)).toEqual([[0, 1]]);
  });
});

describe('processes end on their own', () => {
  it('a process that used a threaded backend exits without closing anything', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'tests/helpers/threads-exit-child.ts'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => {
        child.kill();
        resolve(null);
      }, 60_000);
      child.on('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    expect(code).toBe(0);
    expect(JSON.parse(out.trim())).toEqual({ threads: 2, logits: 8 });
  });
});
