// The threaded wasm backend's workers: the kernel module instantiated in N − 1 workers over the one shared
// WebAssembly.Memory of the main instance; the calling thread is thread 0 and works too.
//
// A parallel step is a list of parts, each a list of kernel calls (export name + numeric arguments on byte
// offsets), written into a shared Float64Array; bumping a generation counter (Atomics.notify) starts the
// workers. Each part has an owner thread (t = 0 is the caller; `claimOrder`): with no more parts than
// threads part t is thread t's, with more (up to PARTS_PER_THREAD per thread) thread t owns a contiguous
// block of them. Each thread first claims its own parts in order, so a thread keeps reading what it wrote
// the step before (the glue splits by output panel, by image or by element range, the same way every step)
// from its own cache, then takes other threads' parts still unclaimed, from the far end of each block.
// On a busy device — or one whose cores differ in speed, a phone's big and little cores — a slow or late
// thread then costs only the parts it has not started: the others run them instead of waiting. A claim is
// one compare-and-swap on the part's word, from the round's tag to taken, so a worker that wakes late can
// never claim a part of a round it did not see published. Parts of one step must touch disjoint outputs,
// so which thread runs a part never changes how it is computed (results do not depend on the thread
// count, bit for bit). A call's argument may be a place in the running thread's scratch slice
// (`ThreadLocal`), resolved by whichever thread claims the part: scratch is per thread, not per part.
//
// Waiting: workers spin on the generation for flags.threadSpinMicros (a step follows the previous one within
// microseconds; the caller writes the current value into a control word each round), then block in
// Atomics.wait. The caller blocks in Atomics.wait where it may (Node's main thread, any
// worker); a browser page's main thread may not block, so there it spins on Atomics.load until the workers
// are done — the steps are short and the page's thread is busy with the model anyway.
import { VireoError } from '../../core/errors.js';
import { flags } from '../../core/flags.js';
import { computeThreads, isNode } from '../../core/platform.js';
import type { KernelExports } from './loader.js';

/** Control words (Int32 slots of the control buffer). */
const GEN = 0; // generation: bumped to start a step
const DONE = 1; // parts of the current round finished
const STOP = 2; // 1: workers leave their loop
const FAULT = 3; // 1 + index of a part whose call threw (0: none)
const PARTS = 4; // parts (non-empty lists) in the current round
const SLOTS = 5; // the job's part count (owners follow from it and the thread count)
const SPIN_US = 6; // µs a worker spins on the generation after its last part before it blocks
/** Part p's claim word: the round's tag while it waits, TAKEN once claimed (or when it has no calls). */
const CLAIMS = 8;
const TAKEN = -1;
/** The tag of round `gen`: never TAKEN. */
const TAG_MASK = 0x3fffffff;
/** Doubles per part for its call list; a longer list runs as several rounds. */
const LIST_DOUBLES = 1 << 13;
/** Doubles before a list's calls: the call count, then the job's thread-scratch base and slice bytes. */
const LIST_HEADER = 3;
/** At most this many parts per thread in one job (control words and list slots are sized by it). */
export const PARTS_PER_THREAD = 4;
/** Atomics.load spins between two looks at the clock while spinning. */
const SPIN_CHECK = 64;

/**
 * The order in which thread `index` of `threads` tries the parts of a job of `parts`: its own first, in
 * order, then each other thread's from the far end of its block (so a thief and the owner meet in the
 * middle instead of colliding on every part). Part p is thread p's while parts ≤ threads; beyond that
 * thread t owns the block [⌊t·parts/threads⌋, ⌊(t+1)·parts/threads⌋). Plain JavaScript: the worker source
 * embeds this very function.
 */
export function claimOrder(index: number, threads: number, parts: number): number[] {
  const block = (t: number): [number, number] =>
    parts <= threads
      ? [Math.min(t, parts), Math.min(t + 1, parts)]
      : [Math.floor((t * parts) / threads), Math.floor(((t + 1) * parts) / threads)];
  const order: number[] = [];
  const [lo, hi] = block(index);
  for (let p = lo; p < hi; p++) order.push(p);
  for (let k = 1; k < threads; k++) {
    const [a, b] = block((index + k) % threads);
    for (let p = b - 1; p >= a; p--) order.push(p);
  }
  return order;
}

/**
 * The worker's whole program, as source: it needs no module loader, so Node (eval'd worker) and browsers
 * (a Blob URL worker, which inherits the page's cross-origin isolation) run the same text.
 */
const workerSource = `
const claimOrder = ${claimOrder.toString()};
const start = (msg, post) => {
  const { module, memory, control, lists, index, threads } = msg;
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
      const until = performance.now() + Atomics.load(ctl, ${SPIN_US}) / 1000;
      for (let i = 1; g === seen; i++) {
        g = Atomics.load(ctl, ${GEN});
        if (i % ${SPIN_CHECK} === 0 && performance.now() > until) break;
      }
      while (g === seen) { Atomics.wait(ctl, ${GEN}, seen); g = Atomics.load(ctl, ${GEN}); }
      seen = g;
      if (Atomics.load(ctl, ${STOP})) break;
      // Its own parts first, then any other still waiting (claimOrder). A claim succeeds only while the
      // part holds this round's tag: a worker that saw an older round takes nothing.
      const tag = g & ${TAG_MASK};
      for (const part of claimOrder(index, threads, Atomics.load(ctl, ${SLOTS}))) {
        if (Atomics.compareExchange(ctl, ${CLAIMS} + part, tag, ${TAKEN}) !== tag) continue;
        try {
          const list = new Float64Array(lists, part * ${LIST_DOUBLES} * 8, ${LIST_DOUBLES});
          const calls = list[0];
          const local = list[1] + index * list[2];
          let at = ${LIST_HEADER};
          for (let c = 0; c < calls; c++) {
            const fn = fns[list[at]];
            const n = list[at + 1];
            const mask = list[at + 2];
            const args = [];
            for (let a = 0; a < n; a++) args.push(mask & (1 << a) ? local + list[at + 3 + a] : list[at + 3 + a]);
            fn(...args);
            at += 3 + n;
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

/** A byte offset in the scratch slice of whichever thread runs the call (see ThreadJob.scratch). */
export class ThreadLocal {
  constructor(readonly offset: number) {}
}

/** A kernel call's argument: a number, or a place in the running thread's scratch slice. */
export type CallArg = number | ThreadLocal;

/** One recorded call: export index, the mask of thread-local arguments, then the arguments. */
type Call = number[];

/**
 * A step's calls, per part. `call(p, name, ...args)` appends to part p's list; the pool runs every list
 * at once (each on the thread that claims it) and returns when all are done. An argument given as
 * `ThreadLocal(offset)` becomes `scratch.base + thread · scratch.slice + offset` on the thread that runs it.
 */
export class ThreadJob {
  readonly lists: Call[][];
  readonly scratch = { base: 0, slice: 0 };
  constructor(
    parts: number,
    private readonly ids: Map<string, number>,
  ) {
    this.lists = Array.from({ length: parts }, () => []);
  }
  call(part: number, name: string, ...args: CallArg[]): void {
    const id = this.ids.get(name);
    if (id === undefined) throw new VireoError(`wasm threads: no kernel export '${name}'`);
    let mask = 0;
    const values = args.map((a, i) => {
      if (typeof a === 'number') return a;
      mask |= 1 << i;
      return a.offset;
    });
    this.lists[part].push([id, mask, ...values]);
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
    const controlBuffer = new SharedArrayBuffer(4 * (CLAIMS + threads * PARTS_PER_THREAD));
    const listBuffer = new SharedArrayBuffer(8 * LIST_DOUBLES * threads * PARTS_PER_THREAD);
    const workers: WorkerHandle[] = [];
    const ready: Promise<void>[] = [];
    for (let index = 1; index < threads; index++) {
      const msg = { module, memory, control: controlBuffer, lists: listBuffer, index, threads };
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

  /** Most parts one job may have. */
  get maxParts(): number {
    return this.threads * PARTS_PER_THREAD;
  }

  /** A new step with `parts` empty call lists (default: one per thread). */
  job(parts = this.threads): ThreadJob {
    if (!Number.isInteger(parts) || parts < 1 || parts > this.maxParts) {
      throw new VireoError(`wasm threads: a job of ${parts} parts (1 to ${this.maxParts} on ${this.threads} threads)`);
    }
    return new ThreadJob(parts, this.ids);
  }

  /**
   * Runs every part's list and returns when all have finished. The caller claims parts like the workers
   * (running its claims straight from the job's arrays); a round with one part runs on the caller without
   * waking anyone. Lists longer than a slot run as several rounds, each list's order kept.
   */
  run(job: ThreadJob): void {
    if (this.closed) throw new VireoError('wasm threads: the pool was closed');
    const lists = job.lists;
    const slots = lists.length;
    const cursors = lists.map(() => 0);
    const order = claimOrder(0, this.threads, slots);
    for (;;) {
      // This round: the next slice of every unfinished list, list p in slot p.
      const from: number[] = [];
      const to: number[] = [];
      const busy: number[] = [];
      for (let p = 0; p < slots; p++) {
        from.push(cursors[p]);
        if (cursors[p] >= lists[p].length) {
          to.push(cursors[p]);
          continue;
        }
        const end = this.encode(p, lists[p], cursors[p], job.scratch);
        to.push(end);
        cursors[p] = end;
        busy.push(p);
      }
      const parts = busy.length;
      if (parts === 0) return;
      if (parts === 1) {
        this.runHere(lists[busy[0]], from[busy[0]], to[busy[0]], job.scratch.base);
      } else {
        const ctl = this.control;
        const gen = (Atomics.load(ctl, GEN) + 1) | 0;
        const tag = gen & TAG_MASK;
        Atomics.store(ctl, DONE, 0);
        Atomics.store(ctl, PARTS, parts);
        Atomics.store(ctl, SLOTS, slots);
        Atomics.store(ctl, SPIN_US, Math.max(0, Math.round(flags.threadSpinMicros)));
        for (let p = 0; p < slots; p++) Atomics.store(ctl, CLAIMS + p, from[p] < to[p] ? tag : TAKEN);
        Atomics.store(ctl, GEN, gen);
        Atomics.notify(ctl, GEN);
        let faulted: unknown = null;
        // Its own parts first, then whatever no worker has claimed yet.
        for (const p of order) {
          if (Atomics.compareExchange(ctl, CLAIMS + p, tag, TAKEN) !== tag) continue;
          try {
            this.runHere(lists[p], from[p], to[p], job.scratch.base);
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

  /** Runs calls [from, to) of a list on this thread (thread 0: its scratch slice starts at `local`). */
  private runHere(calls: Call[], from: number, to: number, local: number): void {
    for (let i = from; i < to; i++) {
      const c = calls[i];
      const mask = c[1];
      if (mask === 0) this.fns[c[0]](...c.slice(2));
      else this.fns[c[0]](...c.slice(2).map((v, a) => (mask & (1 << a) ? local + v : v)));
    }
  }

  /** Writes calls from `from` on into slot p, as many as fit; returns where it stopped. */
  private encode(p: number, calls: Call[], from: number, scratch: { base: number; slice: number }): number {
    const base = p * LIST_DOUBLES;
    let at = base + LIST_HEADER;
    let count = 0;
    let i = from;
    for (; i < calls.length; i++) {
      const c = calls[i];
      if (at + 1 + c.length > base + LIST_DOUBLES) break;
      this.lists[at] = c[0];
      this.lists[at + 1] = c.length - 2;
      for (let a = 1; a < c.length; a++) this.lists[at + 1 + a] = c[a];
      at += 1 + c.length;
      count++;
    }
    if (count === 0 && i < calls.length) throw new VireoError('wasm threads: a call does not fit a thread list');
    this.lists[base] = count;
    this.lists[base + 1] = scratch.base;
    this.lists[base + 2] = scratch.slice;
    return i;
  }

  /** Returns once `parts` parts of the round are done (the workers' claims finishing). */
  private wait(parts: number): void {
    const ctl = this.control;
    if (canBlock()) {
      const until = performance.now() + Atomics.load(ctl, SPIN_US) / 1000;
      for (let i = 1; Atomics.load(ctl, DONE) < parts; i++) {
        if (i % SPIN_CHECK === 0 && performance.now() > until) break;
      }
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
