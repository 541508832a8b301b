// The threaded wasm backend's workers: the kernel module instantiated in N − 1 workers over the one shared
// WebAssembly.Memory of the main instance; the calling thread is thread 0 and works too.
//
// A parallel step is a list of parts, each a list of kernel calls (export name + numeric arguments on byte
// offsets), written into a shared Float64Array; bumping a generation counter (Atomics.notify) starts the
// workers. Part t is thread t's (t = 0 is the caller): each thread first claims its own part, so a thread
// keeps reading what it wrote the step before (the glue splits by output panel, by image or by element
// range, the same way every step) from its own cache, then claims any part still unclaimed. On a busy
// device a worker the OS has not scheduled yet costs nothing: the caller runs its part too instead of
// waiting for it. A claim is one compare-and-swap on the part's word, from the round's tag to taken, so a
// worker that wakes late can never claim a part of a round it did not see published. Parts of one step
// must touch disjoint outputs, so which thread runs a part never changes how it is computed (results do
// not depend on the thread count, bit for bit).
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
const DONE = 1; // parts of the current round finished
const STOP = 2; // 1: workers leave their loop
const FAULT = 3; // 1 + index of a part whose call threw (0: none)
const PARTS = 4; // parts (non-empty lists) in the current round
/** Part t's claim word: the round's tag while it waits, TAKEN once claimed (or when it has no calls). */
const CLAIMS = 8;
const TAKEN = -1;
/** The tag of round `gen`: never TAKEN. */
const TAG_MASK = 0x3fffffff;
/** Doubles per part for its call list; a longer list runs as several rounds. */
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
    // The generation is read before saying ready: the first step may start the moment the caller hears it.
    let seen = Atomics.load(ctl, ${GEN});
    post('ready');
    for (;;) {
      let g = seen;
      for (let i = 0; i < spin && g === seen; i++) g = Atomics.load(ctl, ${GEN});
      while (g === seen) { Atomics.wait(ctl, ${GEN}, seen); g = Atomics.load(ctl, ${GEN}); }
      seen = g;
      if (Atomics.load(ctl, ${STOP})) break;
      // Its own part first (thread index, the caller being 0), then any other still waiting. A claim
      // succeeds only while the part holds this round's tag: a worker that saw an older round takes nothing.
      const tag = g & ${TAG_MASK};
      const threads = ctl.length - ${CLAIMS};
      for (let k = 0; k < threads; k++) {
        const part = (index + k) % threads;
        if (Atomics.compareExchange(ctl, ${CLAIMS} + part, tag, ${TAKEN}) !== tag) continue;
        try {
          const list = new Float64Array(lists, part * ${LIST_DOUBLES} * 8, ${LIST_DOUBLES});
          const calls = list[0];
          let at = 1;
          for (let c = 0; c < calls; c++) {
            const fn = fns[list[at]];
            const n = list[at + 1];
            const args = [];
            for (let a = 0; a < n; a++) args.push(list[at + 2 + a]);
            fn(...args);
            at += 2 + n;
          }
        } catch (e) {
          Atomics.store(ctl, ${FAULT}, part + 1);
        }
        if (Atomics.add(ctl, ${DONE}, 1) + 1 === Atomics.load(ctl, ${PARTS})) Atomics.notify(ctl, ${DONE});
      }
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
    const controlBuffer = new SharedArrayBuffer(4 * (CLAIMS + threads));
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
   * Runs every part's list and returns when all have finished. The caller claims parts like the workers
   * (running its claims straight from the job's arrays); a round with one part runs on the caller without
   * waking anyone. Lists longer than a slot run as several rounds, each list's order kept.
   */
  run(job: ThreadJob): void {
    if (this.closed) throw new VireoError('wasm threads: the pool was closed');
    const lists = job.lists;
    const cursors = lists.map(() => 0);
    for (;;) {
      // This round: the next slice of every unfinished list, list t in slot t.
      const from: number[] = [];
      const to: number[] = [];
      const busy: number[] = [];
      for (let t = 0; t < lists.length; t++) {
        from.push(cursors[t]);
        if (cursors[t] >= lists[t].length) {
          to.push(cursors[t]);
          continue;
        }
        const end = this.encode(t, lists[t], cursors[t]);
        to.push(end);
        cursors[t] = end;
        busy.push(t);
      }
      const parts = busy.length;
      if (parts === 0) return;
      if (parts === 1) {
        this.runHere(lists[busy[0]], from[busy[0]], to[busy[0]]);
      } else {
        const ctl = this.control;
        const gen = (Atomics.load(ctl, GEN) + 1) | 0;
        const tag = gen & TAG_MASK;
        Atomics.store(ctl, DONE, 0);
        Atomics.store(ctl, PARTS, parts);
        for (let t = 0; t < lists.length; t++) Atomics.store(ctl, CLAIMS + t, from[t] < to[t] ? tag : TAKEN);
        Atomics.store(ctl, GEN, gen);
        Atomics.notify(ctl, GEN);
        let faulted: unknown = null;
        // Its own part (0) first, then whatever no worker has claimed yet.
        for (let t = 0; t < lists.length; t++) {
          if (Atomics.compareExchange(ctl, CLAIMS + t, tag, TAKEN) !== tag) continue;
          try {
            this.runHere(lists[t], from[t], to[t]);
          } catch (e) {
            faulted = e;
          }
          Atomics.add(ctl, DONE, 1);
        }
        this.wait(parts);
        if (faulted) throw faulted;
      }
      const fault = Atomics.exchange(this.control, FAULT, 0);
      if (fault) throw new VireoError(`wasm threads: a kernel call in part ${fault - 1} of a step failed`);
    }
  }

  /** Runs calls [from, to) of a list on this thread. */
  private runHere(calls: Call[], from: number, to: number): void {
    for (let i = from; i < to; i++) {
      const c = calls[i];
      this.fns[c[0]](...c.slice(1));
    }
  }

  /** Writes calls from `from` on into slot t, as many as fit; returns where it stopped. */
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

  /** Returns once `parts` parts of the round are done (the workers' claims finishing). */
  private wait(parts: number): void {
    const ctl = this.control;
    if (canBlock()) {
      for (let i = 0; i < SPIN; i++) if (Atomics.load(ctl, DONE) >= parts) return;
      for (let d = Atomics.load(ctl, DONE); d < parts; d = Atomics.load(ctl, DONE)) Atomics.wait(ctl, DONE, d);
    } else {
      while (Atomics.load(ctl, DONE) < parts) {
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
