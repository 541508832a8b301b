// The threaded wasm backend's workers: the kernel module instantiated in N − 1 workers over the one shared
// WebAssembly.Memory of the main instance; the calling thread is thread 0 and works too.
//
// A parallel step is a list of kernel calls per thread (export name + numeric arguments on byte offsets),
// written into a shared Float64Array; bumping a generation counter (Atomics.notify) starts the workers,
// each runs its own list, and the last one to finish wakes the caller. No postMessage per step. Calls on
// different threads of one step must touch disjoint outputs: the kernels' glue splits by output panel or
// by image, so which thread computes a value never changes how it is computed (results do not depend on
// the thread count, bit for bit).
//
// Waiting: workers spin briefly on the generation (a step follows the previous one within microseconds),
// then block in Atomics.wait. The caller blocks in Atomics.wait where it may (Node's main thread, any
// worker); a browser page's main thread may not block, so there it spins on Atomics.load until the workers
// are done — the steps are short and the page's thread is busy with the model anyway.
import { VireoError } from '../../core/errors.js';
import { computeThreads, isNode } from '../../core/platform.js';
import type { KernelExports } from './loader.js';

/** Control words (Int32 slots of the control buffer). */
const GEN = 0; // generation: bumped to start a step
const PENDING = 1; // workers still running the current step
const STOP = 2; // 1: workers leave their loop
const FAULT = 3; // 1 + thread index of a worker whose call threw (0: none)
const CONTROL_INTS = 16;
/** Doubles per thread for its call list; a longer list runs as several rounds. */
const LIST_DOUBLES = 1 << 14;
/** Spins on the generation before a worker blocks (Atomics.wait costs tens of microseconds to wake). */
const SPIN = 4000;

/**
 * The worker's whole program, as source: it needs no module loader, so Node (eval'd worker) and browsers
 * (a Blob URL worker, which inherits the page's cross-origin isolation) run the same text.
 */
const workerSource = `
const start = (msg, post) => {
  const { module, memory, control, lists, index, spin } = msg;
  WebAssembly.instantiate(module, { env: { memory, abort: () => { throw new Error('wasm kernel aborted'); } } }).then((instance) => {
    const ex = instance.exports;
    const names = Object.keys(ex).filter((k) => typeof ex[k] === 'function').sort();
    const fns = names.map((n) => ex[n]);
    const ctl = new Int32Array(control);
    const list = new Float64Array(lists, index * ${LIST_DOUBLES} * 8, ${LIST_DOUBLES});
    // The generation is read before saying ready: the first step may start the moment the caller hears it.
    let seen = Atomics.load(ctl, ${GEN});
    post('ready');
    for (;;) {
      let g = seen;
      for (let i = 0; i < spin && g === seen; i++) g = Atomics.load(ctl, ${GEN});
      while (g === seen) { Atomics.wait(ctl, ${GEN}, seen); g = Atomics.load(ctl, ${GEN}); }
      seen = g;
      if (Atomics.load(ctl, ${STOP})) break;
      try {
        const count = list[0];
        let at = 1;
        for (let c = 0; c < count; c++) {
          const fn = fns[list[at]];
          const n = list[at + 1];
          const args = [];
          for (let a = 0; a < n; a++) args.push(list[at + 2 + a]);
          fn(...args);
          at += 2 + n;
        }
      } catch (e) {
        Atomics.store(ctl, ${FAULT}, index + 1);
      }
      if (Atomics.sub(ctl, ${PENDING}, 1) === 1) Atomics.notify(ctl, ${PENDING});
    }
  });
};
if (typeof self !== 'undefined' && typeof self.postMessage === 'function' && typeof require === 'undefined') {
  self.onmessage = (e) => start(e.data, (m) => self.postMessage(m));
} else {
  const { parentPort } = require('node:worker_threads');
  parentPort.once('message', (msg) => start(msg, (m) => parentPort.postMessage(m)));
}
`;

interface WorkerHandle {
  terminate(): void;
  unref?(): void;
}

/** One recorded call: export index, then its arguments. */
type Call = number[];

/**
 * A step's calls, per thread. `call(t, name, ...args)` appends to thread t's list (t = 0 is the caller);
 * the pool runs every list at once and returns when all are done.
 */
export class ThreadJob {
  readonly lists: Call[][];
  constructor(
    threads: number,
    private readonly ids: Map<string, number>,
  ) {
    this.lists = Array.from({ length: threads }, () => []);
  }
  call(thread: number, name: string, ...args: number[]): void {
    const id = this.ids.get(name);
    if (id === undefined) throw new VireoError(`wasm threads: no kernel export '${name}'`);
    this.lists[thread].push([id, ...args]);
  }
}

export class ThreadPool {
  private readonly control: Int32Array;
  private readonly lists: Float64Array;
  private readonly names: string[];
  private readonly fns: ((...a: number[]) => number)[];
  private readonly ids = new Map<string, number>();
  private closed = false;

  private constructor(
    readonly threads: number,
    private readonly exports: KernelExports,
    private readonly workers: WorkerHandle[],
    controlBuffer: SharedArrayBuffer,
    listBuffer: SharedArrayBuffer,
  ) {
    this.control = new Int32Array(controlBuffer);
    this.lists = new Float64Array(listBuffer);
    this.names = Object.keys(exports)
      .filter((k) => typeof exports[k] === 'function')
      .sort();
    this.fns = this.names.map((n) => exports[n]);
    this.names.forEach((n, i) => this.ids.set(n, i));
  }

  /**
   * Starts `threads − 1` workers on `module` over `memory` (shared) and waits until each has instantiated.
   * `exports` are the caller's own instance of the same module.
   */
  static async start(
    threads: number,
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    exports: KernelExports,
  ): Promise<ThreadPool> {
    const controlBuffer = new SharedArrayBuffer(4 * CONTROL_INTS);
    const listBuffer = new SharedArrayBuffer(8 * LIST_DOUBLES * threads);
    const workers: WorkerHandle[] = [];
    const ready: Promise<void>[] = [];
    for (let index = 1; index < threads; index++) {
      const msg = { module, memory, control: controlBuffer, lists: listBuffer, index, spin: SPIN };
      if (isNode) {
        const { Worker } = await import('node:worker_threads');
        // The source is CommonJS: a parent started with --input-type=module must not pass that on.
        const execArgv = process.execArgv.filter((a) => !a.startsWith('--input-type'));
        const worker = new Worker(workerSource, { eval: true, execArgv });
        ready.push(
          new Promise((resolve, reject) => {
            worker.once('message', () => resolve());
            worker.once('error', reject);
            worker.once('exit', (code) => reject(new VireoError(`wasm thread ${index} exited with code ${code}`)));
          }),
        );
        worker.postMessage(msg);
        workers.push({ terminate: () => void worker.terminate(), unref: () => worker.unref() });
      } else {
        const url = URL.createObjectURL(new Blob([workerSource], { type: 'text/javascript' }));
        const worker = new Worker(url);
        URL.revokeObjectURL(url);
        ready.push(
          new Promise((resolve, reject) => {
            worker.onmessage = () => resolve();
            worker.onerror = (e) => reject(new VireoError(`wasm thread ${index} failed: ${e.message}`));
          }),
        );
        worker.postMessage(msg);
        workers.push({ terminate: () => worker.terminate() });
      }
    }
    try {
      await Promise.all(ready);
    } catch (e) {
      for (const w of workers) w.terminate();
      throw e;
    }
    // A pool never keeps a Node process alive: ready workers idle in Atomics.wait, unref'd.
    for (const w of workers) w.unref?.();
    computeThreads.inUse = Math.max(computeThreads.inUse, threads);
    return new ThreadPool(threads, exports, workers, controlBuffer, listBuffer);
  }

  /** A new step with an empty call list per thread. */
  job(): ThreadJob {
    return new ThreadJob(this.threads, this.ids);
  }

  /**
   * Runs every thread's list (thread 0's on the caller) and returns when all have finished. Lists longer
   * than a thread's slot run as several rounds, each list's order kept.
   */
  run(job: ThreadJob): void {
    if (this.closed) throw new VireoError('wasm threads: the pool was closed');
    const cursors = job.lists.map(() => 0);
    for (;;) {
      let anyWorker = false;
      for (let t = 1; t < this.threads; t++) {
        cursors[t] = this.encode(t, job.lists[t], cursors[t]);
        if (this.lists[t * LIST_DOUBLES] > 0) anyWorker = true;
      }
      // The caller's own list runs whole in the first round (calls of different threads are independent).
      const mine = job.lists[0].slice(cursors[0]);
      cursors[0] = job.lists[0].length;
      if (anyWorker) {
        Atomics.store(this.control, PENDING, this.threads - 1);
        Atomics.add(this.control, GEN, 1);
        Atomics.notify(this.control, GEN);
      }
      for (const c of mine) this.fns[c[0]](...c.slice(1));
      if (anyWorker) this.wait();
      const fault = Atomics.exchange(this.control, FAULT, 0);
      if (fault) throw new VireoError(`wasm threads: a kernel call on thread ${fault - 1} failed`);
      if (cursors.every((c, t) => c >= job.lists[t].length)) return;
    }
  }

  /** Writes calls from `from` on into thread t's slot, as many as fit; returns where it stopped. */
  private encode(t: number, calls: Call[], from: number): number {
    const base = t * LIST_DOUBLES;
    let at = base + 1;
    let count = 0;
    let i = from;
    for (; i < calls.length; i++) {
      const c = calls[i];
      if (at + 1 + c.length > base + LIST_DOUBLES) break;
      this.lists[at] = c[0];
      this.lists[at + 1] = c.length - 1;
      for (let a = 1; a < c.length; a++) this.lists[at + 1 + a] = c[a];
      at += 1 + c.length;
      count++;
    }
    if (count === 0 && i < calls.length) throw new VireoError('wasm threads: a call does not fit a thread list');
    this.lists[base] = count;
    return i;
  }

  private wait(): void {
    const ctl = this.control;
    if (canBlock()) {
      for (let i = 0; i < SPIN; i++) if (Atomics.load(ctl, PENDING) === 0) return;
      for (let p = Atomics.load(ctl, PENDING); p !== 0; p = Atomics.load(ctl, PENDING)) Atomics.wait(ctl, PENDING, p);
    } else {
      while (Atomics.load(ctl, PENDING) !== 0) {
        // A browser page's main thread may not block: spin.
      }
    }
  }

  /** Stops and terminates the workers (they also never keep a Node process alive). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    Atomics.store(this.control, STOP, 1);
    Atomics.add(this.control, GEN, 1);
    Atomics.notify(this.control, GEN);
    for (const w of this.workers) w.terminate();
  }

  get exportNames(): readonly string[] {
    return this.names;
  }

  get kernelExports(): KernelExports {
    return this.exports;
  }
}

/** Atomics.wait is allowed: Node (any thread) or a worker; a browser window's main thread may not block. */
function canBlock(): boolean {
  if (isNode) return true;
  const g = globalThis as { document?: unknown };
  return g.document === undefined;
}
