import type { Shape } from '../core/shape.js';
import type { Backend, DeviceMemory } from '../backends/backend.js';
import type { GraphNode } from '../graph/ir.js';
import { type CopyCost, fitCopyLine, singleNodePlan } from './calibrate.js';

/**
 * Calibration for memories the host cannot map (WebGPU). A GPU finishes its work after `run` returns, so
 * timing `run` would measure only the recording. Instead a batch of K repetitions is recorded back to back,
 * completion is awaited through the memory contract itself (a one-float download: the queue is in order, so
 * it resolves after every earlier dispatch), and the same wait on an empty queue — the fixed cost of a
 * submit and a map — is measured and subtracted. K grows until a batch is long enough to dwarf that baseline.
 * This works on any adapter, SwiftShader included; timestamp queries would be finer but are an optional
 * feature that CPU adapters lack, and a per-kernel figure is all the assignment needs.
 */

/** How long one timed batch should run, so the baseline (a submit and a map) is a small part of it. */
const BATCH_TARGET_MS = 8;
/** Most repetitions in a batch (tiny kernels on a fast GPU): bounds calibration time. */
const MAX_BATCH = 64;

/** Waits for everything queued on `memory` to finish, through a one-float download of `probe`. */
async function drain(memory: DeviceMemory, probe: number): Promise<void> {
  await memory.download(probe, 1);
}

async function elapsed(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/**
 * A timer for one GPU memory: `time(record)` is the device time of what `record` queues, per repetition,
 * with the empty-queue wait subtracted. Allocates a 16-byte probe; `dispose` frees it.
 */
export async function deviceTimer(memory: DeviceMemory): Promise<{
  /** ms of an empty queue's wait (what every batch pays once). */
  baselineMs: number;
  time(record: (reps: number) => Promise<void> | void): Promise<number>;
  dispose(): void;
}> {
  const probe = memory.alloc(16);
  const wait = () => drain(memory, probe);
  await wait();
  const base: number[] = [];
  for (let r = 0; r < 5; r++) base.push(await elapsed(wait));
  const baselineMs = median(base);
  return {
    baselineMs,
    async time(record) {
      // One repetition says how many fit the target; then the median of three batches of that many. A
      // repetition that alone dwarfs the baseline (a slow kernel, a CPU adapter) is its own answer: repeating
      // it would only spend the calibration's time on a candidate that has already lost by orders of magnitude.
      const batch = (reps: number) =>
        elapsed(async () => {
          await record(reps);
          await wait();
        });
      const one = Math.max(1e-3, (await batch(1)) - baselineMs);
      if (one > 4 * BATCH_TARGET_MS && one > 20 * baselineMs) return one;
      const reps = Math.max(1, Math.min(MAX_BATCH, Math.round(BATCH_TARGET_MS / one)));
      const batches: number[] = [];
      for (let r = 0; r < 3; r++) batches.push(await batch(reps));
      // Never free: noise can put a tiny kernel's batch under the baseline, and a zero would make a layer (or an
      // island) on this backend look costless. 1 µs, as a single repetition's floor above.
      return Math.max(1e-3, (median(batches) - baselineMs) / reps);
    },
    dispose() {
      memory.free(probe);
    },
  };
}

/** A GPU kernel to time, and optionally the same kernel at batch 1 to screen it first. */
export interface AsyncWork {
  node: GraphNode;
  inputShapes: readonly Shape[];
  /** The inputs with the batch reduced to 1, and the batch (the factor a screened time is scaled by). */
  screen?: { inputShapes: readonly Shape[]; batch: number };
}

/**
 * Kernels of a memory the host cannot map, timed as above. Plans are built before any is timed so the GPU
 * compiles their pipelines in parallel. (The host candidates are timed before this, not while it compiles:
 * compiling takes CPU cores from host kernels being timed.)
 *
 * Screening: a kernel with a batch is first timed at batch 1. A kernel's time does not fall as its batch
 * grows, so a batch-1 time above `boundMs(i)` (a multiple of the host's time for the same kernel at the full
 * batch) is a lower bound that already rules this candidate out for it: the full-batch run is skipped and the
 * batch-1 time scaled by the batch is kept as the estimate (`extrapolated`) — linear scaling being what a
 * device that slow behaves like (a CPU adapter). A real GPU never trips it: at batch 1 it is latency-bound and
 * far below the host's full-batch time. SwiftShader is measured this way in a small fraction of the time a
 * full-batch run of each of its kernels would take.
 */
export async function timeNodesAsync(
  items: readonly AsyncWork[],
  backend: Backend,
  boundMs: (item: number) => number,
  stopped: () => boolean,
  onEach: () => void,
): Promise<{ ms: number[]; extrapolated: boolean[] }> {
  const timer = await deviceTimer(backend.memory);
  const open: ReturnType<typeof singleNodePlan>[] = [];
  const build = (node: GraphNode, shapes: readonly Shape[]) => {
    const p = singleNodePlan(node, shapes, backend);
    open.push(p);
    return p;
  };
  const timeOne = async (p: ReturnType<typeof singleNodePlan>) => {
    await p.plan.runAsync(p.data); // warm-up, and the inputs the repetitions read
    return timer.time((reps) => p.plan.rerunForwardAsync(reps));
  };
  const release = async (p: ReturnType<typeof singleNodePlan>) => {
    open.splice(open.indexOf(p), 1);
    await p.disposeAsync();
  };
  try {
    // NaN: not timed (the calibration was stopped first).
    const ms: number[] = new Array(items.length).fill(Number.NaN);
    const extrapolated: boolean[] = new Array(items.length).fill(false);
    const screens = items.map((it) => {
      if (!it.screen) return null;
      try {
        return build(it.node, it.screen.inputShapes);
      } catch {
        return null; // an op whose attributes fix the batch: no screen, the full batch is timed
      }
    });
    const plans = new Map<number, ReturnType<typeof singleNodePlan>>();
    screens.forEach((screen, i) => {
      if (!screen) plans.set(i, build(items[i].node, items[i].inputShapes));
    });
    for (let i = 0; i < items.length && !stopped(); i++) {
      const screen = screens[i];
      if (!screen) continue;
      const t1 = await timeOne(screen);
      await release(screen);
      if (t1 > boundMs(i)) {
        ms[i] = t1 * (items[i].screen?.batch ?? 1);
        extrapolated[i] = true;
        onEach();
      } else plans.set(i, build(items[i].node, items[i].inputShapes));
    }
    for (const [i, plan] of plans) {
      if (stopped()) break;
      ms[i] = await timeOne(plan);
      await release(plan);
      onEach();
    }
    return { ms, extrapolated };
  } finally {
    for (const p of open) await p.disposeAsync().catch(() => {});
    timer.dispose();
  }
}

/** ms per parameter of an SGD update with momentum on a GPU memory (measured on 1M floats, as timeUpdate). */
export async function timeUpdateAsync(backend: Backend): Promise<number> {
  const n = 1 << 20;
  const m = backend.memory;
  const [p, g, buf] = [m.alloc(4 * n), m.alloc(4 * n), m.alloc(4 * n)];
  const timer = await deviceTimer(m);
  try {
    m.fill(p, n, 0.5);
    m.fill(g, n, 0.01);
    m.fill(buf, n, 0);
    let first = true;
    const record = (reps: number) => {
      for (let r = 0; r < reps; r++) {
        backend.updates.sgd(p, g, buf, n, 0.01, 0.9, 0, 5e-4, false, first);
        first = false;
      }
    };
    return (await timer.time(record)) / n;
  } finally {
    timer.dispose();
    m.free(p);
    m.free(g);
    m.free(buf);
  }
}

/**
 * Copy cost between places when either end is a GPU memory: readback out of it is a download the executor
 * awaits (its whole wait counts), an upload into it is queued, so its completion is awaited and the empty
 * wait subtracted. Fitted as latency + bytes / bandwidth from two sizes, like timeCopy.
 */
export async function timeCopyAsync(from: Backend | null, to: Backend | null): Promise<CopyCost> {
  const sizes = [1 << 12, 1 << 22];
  const timer = to && !to.memory.readSync ? await deviceTimer(to.memory) : null;
  const probe = to && timer ? to.memory.alloc(16) : -1;
  try {
    const ms: number[] = [];
    for (const bytes of sizes) {
      const n = bytes / 4;
      const src = from ? from.memory.alloc(bytes) : -1;
      const dst = to ? to.memory.alloc(bytes) : -1;
      const host = new Float32Array(n);
      try {
        const once = async () => {
          const read = from?.memory.readSync;
          const values = !from ? host : read ? read.call(from.memory, src, n) : await from.memory.download(src, n);
          if (to) to.memory.upload(dst, values);
          if (to && timer) await to.memory.download(probe, 1);
        };
        await once();
        const times: number[] = [];
        for (let r = 0; r < 5; r++) times.push(await elapsed(once));
        ms.push(Math.max(0, median(times) - (timer?.baselineMs ?? 0)));
      } finally {
        if (from) from.memory.free(src);
        if (to) to.memory.free(dst);
      }
    }
    return fitCopyLine(sizes, ms);
  } finally {
    if (to && timer) to.memory.free(probe);
    timer?.dispose();
  }
}
