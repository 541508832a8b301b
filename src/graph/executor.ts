import { BackendFault, ShapeError, VireoError } from '../core/errors.js';
import type { Parameter } from '../core/parameter.js';
import { type Shape, shapeToString, sizeOf } from '../core/shape.js';
import { alignUp } from '../core/align.js';
import type { Backend, ParamHandle, PreparedKernel } from '../backends/backend.js';
import { registerMemoryOwner } from '../backends/host.js';
import { opDef } from '../ops/index.js';
import type { GraphNode, ValueId } from './ir.js';
import { type BufferRequest, planBuffers } from './planner.js';
import { layerLabel, opLabel } from './shapes.js';
import type { ExecutorSpec, KernelStep, LayerTiming, Mirror, Slot, Step } from './steps.js';
import { validateStep } from './validate.js';

export type { ExecutorSpec, LayerTiming, Placement } from './steps.js';

/**
 * One executor for every compiled graph: forward-only (Plan) or forward + backward (TrainPlan), on one
 * backend or placed across several. The graph becomes one list of steps — kernels, `copy a→b` steps
 * wherever a value crosses backends, and gradient accumulations into the parameters' device memory —
 * and each backend gets one region planned by value liveness. A warm run allocates nothing anywhere.
 */
export class Executor {
  readonly shapes: Shape[];
  readonly backends: Backend[];
  private readonly steps: Step[] = [];
  private readonly forwardEnd: number;
  private readonly slots: Slot[] = [];
  /** Slot of each value root on each backend that holds it (its home, and copies). */
  private readonly slotOf = new Map<number, Map<Backend, number>>();
  private readonly root: number[];
  private readonly homeOf = new Map<number, Backend>();
  private readonly regions = new Map<Backend, { ptr: number; scratch: number; bytes: number }>();
  private readonly mirrors: Mirror[] = [];
  private readonly paramHome = new Map<Parameter, Backend>();
  /** Parameters this executor bound to a memory (they had no home there before it compiled). */
  private readonly newlyBound: Parameter[] = [];
  private readonly validate: ExecutorSpec['validate'];
  private timings: LayerTiming[] | null = null;
  private disposed = false;

  constructor(spec: ExecutorSpec) {
    const { graph, shapes, placement } = spec;
    this.shapes = shapes;
    this.validate = spec.validate ?? null;
    const forwardNodes = spec.forwardNodes ?? graph.nodes.length;

    // Alias ops (flatten, eval dropout) reuse their input's memory: map each value to its root.
    this.root = Array.from({ length: graph.numValues }, (_, i) => i);
    const computed: GraphNode[] = [];
    const backendOf = new Map<GraphNode, Backend>();
    for (const node of graph.nodes) {
      if (opDef(node.op).alias?.(node.attrs as never)) this.root[node.output] = this.root[node.inputs[0]];
      else {
        computed.push(node);
        backendOf.set(node, placement(node));
      }
    }
    // A value lives where it is computed; a graph input where it is first read.
    for (const node of computed) {
      const b = backendOf.get(node) as Backend;
      this.homeOf.set(node.output, b);
      for (const v of node.inputs) {
        const r = this.root[v];
        if (!this.homeOf.has(r)) this.homeOf.set(r, b);
      }
      for (const p of Object.values(node.params)) if (!this.paramHome.has(p)) this.paramHome.set(p, b);
    }
    const fallback = computed.length ? (backendOf.get(computed[0]) as Backend) : placement(graph.nodes[0] ?? ({} as GraphNode));
    for (const v of graph.inputs) if (!this.homeOf.has(this.root[v])) this.homeOf.set(this.root[v], fallback);
    const gradsOf = new Map<ValueId, Parameter[]>();
    // Keyed by root: a gradient may be an alias (a reshape of a reduction, as a broadcast operand's is).
    for (const pg of spec.paramGrads ?? []) {
      const r = this.root[pg.value];
      gradsOf.set(r, [...(gradsOf.get(r) ?? []), pg.param]);
    }
    const uses = graph.useCounts();
    const keep = new Set(spec.keep ?? []);

    // Graph inputs and late inputs get their slots first: they are written before any step.
    const late = new Set((spec.backwardInputs ?? []).map((v) => this.root[v]));
    for (const v of graph.inputs) this.slotFor(this.root[v], this.homeOf.get(this.root[v]) as Backend, -1);

    let forwardEnd = -1;
    try {
      computed.forEach((node) => {
        const isBackward = graph.nodes.indexOf(node) >= forwardNodes;
        if (isBackward && forwardEnd < 0) forwardEnd = this.steps.length;
        const backend = backendOf.get(node) as Backend;
        const inputSlots = node.inputs.map((v) => this.readOn(this.root[v], backend));
        // Copies made for later inputs were pushed after the earlier inputs were read: every input is read
        // by the kernel's own step, past those copies (else a copy's destination could reuse an earlier
        // input's memory before the kernel reads it).
        for (const s of inputSlots) this.touch(s);
        const outputSlot = this.slotFor(this.root[node.output], backend, this.steps.length);
        const step = this.prepareKernel(node, backend, inputSlots, outputSlot);
        this.steps.push(step);
        const grads = gradsOf.get(node.output) ?? [];
        if (grads.length === 1 && uses[node.output] === 0 && !keep.has(node.output) && this.paramHome.get(grads[0]) === backend) {
          step.gradOf = grads[0];
        }
        for (const param of grads) {
          const home = this.paramHome.get(param) as Backend;
          param.reserveGrad(home.memory);
          const srcSlot = this.readOn(this.root[node.output], home);
          this.touch(srcSlot);
          this.steps.push({
            kind: 'grad',
            backend: home,
            param,
            producer: step,
            srcSlot,
            src: 0,
            name: node.name,
            shape: shapes[node.output],
          });
        }
      });
    } catch (e) {
      // Kernels prepared before the failing one hold packed weights in device memory, and parameters were
      // bound for them: give everything back, so a failed compile leaves every memory as it was.
      this.disposeKernels();
      for (const p of this.newlyBound) p.unbind();
      throw e;
    }
    this.forwardEnd = forwardEnd < 0 ? this.steps.length : forwardEnd;
    // Late inputs are written when the backward phase starts; values read after the forward or kept.
    for (const r of late) {
      for (const s of this.slotsOfRoot(r)) this.slots[s].first = this.forwardEnd;
    }
    for (const v of spec.readAfterForward ?? []) {
      for (const s of this.slotsOfRoot(this.root[v])) this.slots[s].last = Math.max(this.slots[s].last, this.forwardEnd - 1);
    }
    for (const v of [...graph.outputs, ...(spec.keep ?? [])]) {
      for (const s of this.slotsOfRoot(this.root[v])) this.slots[s].last = Number.POSITIVE_INFINITY;
    }
    this.backends = [...new Set([...this.slots.map((s) => s.backend), ...backendOf.values()])];
    for (const b of this.backends) registerMemoryOwner(b);
    this.planMemory();
  }

  /** The slot of `root` on `backend`, created (written at `step`) if new. */
  private slotFor(root: number, backend: Backend, step: number): number {
    let byBackend = this.slotOf.get(root);
    if (!byBackend) {
      byBackend = new Map();
      this.slotOf.set(root, byBackend);
    }
    let s = byBackend.get(backend);
    if (s === undefined) {
      s = this.slots.length;
      this.slots.push({ backend, floats: sizeOf(this.shapes[root]), first: step, last: step, offset: 0 });
      byBackend.set(backend, s);
    }
    return s;
  }

  private slotsOfRoot(root: number): number[] {
    return [...(this.slotOf.get(root)?.values() ?? [])];
  }

  /** Marks a slot read by the step about to be pushed. */
  private touch(slot: number): void {
    this.slots[slot].last = Math.max(this.slots[slot].last, this.steps.length);
  }

  /**
   * The slot a step on `backend` reads `root` from: its home slot, or a copy on `backend` made by a
   * copy step inserted before the first reader there (one copy per value and backend).
   */
  private readOn(root: number, backend: Backend): number {
    const home = this.homeOf.get(root) as Backend;
    const homeSlot = this.slotFor(root, home, -1);
    if (home === backend) {
      this.touch(homeSlot);
      return homeSlot;
    }
    const existing = this.slotOf.get(root)?.get(backend);
    if (existing !== undefined) {
      this.touch(existing);
      return existing;
    }
    this.touch(homeSlot);
    const dstSlot = this.slotFor(root, backend, this.steps.length);
    const floats = sizeOf(this.shapes[root]);
    this.steps.push({
      kind: 'copy',
      from: home,
      to: backend,
      floats,
      srcSlot: homeSlot,
      dstSlot,
      src: 0,
      dst: 0,
      label: `copy ${home.name}→${backend.name}`,
      shape: this.shapes[root],
    });
    this.touch(dstSlot);
    return dstSlot;
  }

  private prepareKernel(node: GraphNode, backend: Backend, inputSlots: number[], outputSlot: number): KernelStep {
    const factory = backend.kernels[node.op] as ((ctx: unknown) => PreparedKernel) | undefined;
    if (!factory) throw new VireoError(`${layerLabel(node)}: backend '${backend.name}' has no ${opLabel(node.op)} kernel`);
    const handles: Record<string, ParamHandle> = {};
    for (const [key, p] of Object.entries(node.params)) handles[key] = this.handle(p, backend);
    const inputShapes = node.inputs.map((v) => this.shapes[v]);
    const outputShape = this.shapes[node.output];
    const kernel = factory({ op: node.op, name: node.name, attrs: node.attrs, params: handles, inputShapes, outputShape });
    const params = Object.values(node.params);
    return {
      kind: 'kernel',
      node,
      backend,
      kernel,
      inputs: [],
      output: 0,
      scratch: 0,
      params,
      packedVersions: params.map(() => -1),
      flops: opDef(node.op).flops(inputShapes, outputShape, node.attrs as never),
      inputSlots,
      outputSlot,
      handles,
      gradOf: null,
      wroteGrad: false,
    };
  }

  /** A parameter as a kernel on `backend` reads it: bound to that memory when it is the parameter's home, else a mirror. */
  private handle(p: Parameter, backend: Backend): ParamHandle {
    const memory = backend.memory;
    if (this.paramHome.get(p) === backend) {
      // Bound now, at plan time: binding allocates, and a run must never grow a memory under a kernel's views.
      if (p.memory !== memory) this.newlyBound.push(p);
      p.deviceValues(memory);
      return {
        get ptr() {
          return p.deviceValues(memory);
        },
        size: p.size,
        shape: p.shape,
        changed: () => p.markDeviceChanged(),
      };
    }
    const mirror: Mirror = { param: p, backend, ptr: memory.alloc(4 * p.size), version: -1 };
    this.mirrors.push(mirror);
    return {
      get ptr() {
        if (mirror.version !== p.version) {
          memory.upload(mirror.ptr, p.values);
          mirror.version = p.version;
        }
        return mirror.ptr;
      },
      size: p.size,
      shape: p.shape,
      // A kernel that writes a mirrored parameter (BatchNorm statistics) writes them home through the host.
      changed: () => {
        if (!memory.readSync) {
          throw new VireoError(
            `a kernel on '${backend.name}' wrote a parameter shared with a layer on another backend; place the layers that share it on one backend`,
          );
        }
        const values = memory.readSync(mirror.ptr, p.size);
        p.set(values);
        mirror.version = p.version;
      },
    };
  }

  /** One region per backend: the liveness plan of its slots, then scratch for its largest kernel. */
  private planMemory(): void {
    for (const backend of this.backends) {
      const mine = this.slots.map((s, i) => [s, i] as const).filter(([s]) => s.backend === backend);
      const align = Math.max(64, backend.memory.alignment);
      const requests: BufferRequest[] = mine.map(([s]) => ({
        bytes: 4 * s.floats,
        firstUse: s.first,
        lastUse: Math.max(s.last, s.first),
      }));
      const layout = planBuffers(requests, align);
      const scratchBytes = Math.max(
        0,
        ...this.steps.map((s) => (s.kind === 'kernel' && s.backend === backend ? s.kernel.scratchBytes : 0)),
      );
      const bytes = layout.totalBytes + alignUp(scratchBytes, align) + align;
      const ptr = backend.memory.alloc(bytes);
      this.regions.set(backend, { ptr, scratch: ptr + layout.totalBytes, bytes });
      mine.forEach(([s], k) => {
        s.offset = ptr + layout.offsets[k];
      });
    }
    for (const step of this.steps) {
      if (step.kind === 'kernel') {
        step.inputs = step.inputSlots.map((s) => this.slots[s].offset);
        step.output = this.slots[step.outputSlot].offset;
        step.scratch = (this.regions.get(step.backend) as { scratch: number }).scratch;
      } else if (step.kind === 'copy') {
        step.src = this.slots[step.srcSlot].offset;
        step.dst = this.slots[step.dstSlot].offset;
      } else step.src = this.slots[step.srcSlot].offset;
    }
  }

  /** Where value `v` lives (its home backend) and its byte offset there. */
  private location(v: ValueId): { backend: Backend; ptr: number } {
    const r = this.root[v];
    const backend = this.homeOf.get(r) as Backend;
    return { backend, ptr: this.slots[this.slotFor(r, backend, -1)].offset };
  }

  /** Writes host values into graph input `v` (its home, and nothing else: copies are steps). */
  write(v: ValueId, values: Float32Array, what: string): void {
    if (this.disposed) throw new VireoError('plan was disposed');
    const n = sizeOf(this.shapes[v]);
    if (values.length !== n) {
      throw new ShapeError(`${what}: expected ${n} values for ${shapeToString(this.shapes[v])}, got ${values.length}`);
    }
    const { backend, ptr } = this.location(v);
    backend.memory.upload(ptr, values);
  }

  /** Reads value `v` to the host (a copy). */
  read(v: ValueId): Float32Array {
    const { backend, ptr } = this.location(v);
    const readSync = backend.memory.readSync;
    if (!readSync) throw new VireoError(`backend '${backend.name}' needs an asynchronous read: use readAsync`);
    return readSync.call(backend.memory, ptr, sizeOf(this.shapes[v]));
  }

  /** Reads value `v` to the host from any memory; a device failure surfacing here (a GPU's) is a BackendFault. */
  async readAsync(v: ValueId): Promise<Float32Array> {
    const { backend, ptr } = this.location(v);
    try {
      return await backend.memory.download(ptr, sizeOf(this.shapes[v]));
    } catch (e) {
      if (e instanceof VireoError) throw e;
      throw new BackendFault(backend.name, `reading value ${v}`, e);
    }
  }

  /** True when some memory this executor uses has no readSync: runs must go through the asynchronous path. */
  get needsAsync(): boolean {
    return this.backends.some((b) => !b.memory.readSync);
  }

  private prepared: Promise<void> | null = null;

  /** Waits once for every kernel's `ready` (GPU pipelines compiled at plan time, in parallel). */
  ready(): Promise<void> {
    this.prepared ??= Promise.all(this.steps.map((s) => (s.kind === 'kernel' ? s.kernel.ready : undefined))).then(() => {});
    return this.prepared;
  }

  /**
   * The forward phase for memories the host cannot map: kernels and uploads are recorded as in `runForward`,
   * and a copy out of such a memory awaits its download. Host-mappable memories take the same steps
   * synchronously, so the sync path (`runForward`) stays as it was for wasm and reference.
   */
  async runForwardAsync(): Promise<void> {
    await this.runRangeAsync(0, this.forwardEnd);
  }

  async runBackwardAsync(): Promise<void> {
    await this.runRangeAsync(this.forwardEnd, this.steps.length);
  }

  private async runRangeAsync(from: number, to: number): Promise<void> {
    await this.ready();
    if (this.disposed) throw new VireoError('plan was disposed');
    this.repack(from, to);
    for (let i = from; i < to; i++) {
      const step = this.steps[i];
      if (step.kind === 'copy' && !step.from.memory.readSync) {
        const t0 = this.timings ? performance.now() : 0;
        try {
          step.to.memory.upload(step.dst, await step.from.memory.download(step.src, step.floats));
        } catch (e) {
          throw asFault(e, step.from.name, step.label);
        }
        this.record(step, t0);
      } else this.exec(step);
    }
  }

  /** Runs the forward phase (every step before the first backward node). */
  runForward(): void {
    this.runRange(0, this.forwardEnd);
  }

  /** Runs the backward phase. */
  runBackward(): void {
    this.runRange(this.forwardEnd, this.steps.length);
  }

  private runRange(from: number, to: number): void {
    if (this.disposed) throw new VireoError('plan was disposed');
    this.repack(from, to);
    for (let i = from; i < to; i++) this.exec(this.steps[i]);
  }

  private repack(from: number, to: number): void {
    for (let i = from; i < to; i++) {
      const step = this.steps[i];
      if (step.kind !== 'kernel' || step.params.length === 0) continue;
      let changed = false;
      for (let k = 0; k < step.params.length; k++) {
        const v = step.params[k].version;
        if (step.packedVersions[k] !== v) {
          step.packedVersions[k] = v;
          changed = true;
        }
      }
      if (!changed || !step.kernel.pack) continue;
      const t0 = this.timings ? performance.now() : 0;
      step.kernel.pack();
      // Packing read the parameters: the versions it saw are the ones now (a pack may itself bind and upload).
      for (let k = 0; k < step.params.length; k++) step.packedVersions[k] = step.params[k].version;
      if (this.timings) {
        this.timings.push({
          name: step.node.name,
          op: 'pack',
          outputShape: this.shapes[step.node.output],
          ms: performance.now() - t0,
          flops: 0,
          backend: step.backend.name,
        });
      }
    }
  }

  private exec(step: Step): void {
    const t0 = this.timings ? performance.now() : 0;
    try {
      this.execStep(step);
    } catch (e) {
      const backend = step.kind === 'copy' ? step.to : step.backend;
      throw asFault(e, backend.name, step.kind === 'copy' ? step.label : step.kind === 'kernel' ? step.node.name : step.name);
    }
    this.record(step, t0);
  }

  private execStep(step: Step): void {
    if (step.kind === 'kernel') {
      let output = step.output;
      step.wroteGrad = false;
      if (step.gradOf) {
        const target = step.gradOf.gradTarget(step.backend.memory);
        if (!target.add) {
          output = target.ptr;
          step.wroteGrad = true;
        }
      }
      step.kernel.run(step.inputs, output, step.scratch);
      if (step.wroteGrad) step.gradOf?.gradWritten();
      if (this.validate) validateStep(this.validate, step.node, step.backend, step.inputs, output, this.shapes);
    } else if (step.kind === 'copy') {
      const readSync = step.from.memory.readSync;
      if (!readSync) throw new VireoError(`${step.label}: the source memory needs an asynchronous read`);
      step.to.memory.upload(step.dst, readSync.call(step.from.memory, step.src, step.floats));
    } else {
      if (step.producer.wroteGrad) return;
      const memory = step.backend.memory;
      const { ptr, add } = step.param.gradTarget(memory);
      step.backend.updates.accumulate(step.src, ptr, step.param.size, add);
      step.param.gradWritten();
    }
  }

  /** Profiling: the step's time, with its backend (and bytes, for a copy). */
  private record(step: Step, t0: number): void {
    if (!this.timings) return;
    const ms = performance.now() - t0;
    if (step.kind === 'kernel') {
      const name = [step.node.name, ...(step.node.fused ?? [])].join('+');
      this.timings.push({
        name,
        op: step.node.op,
        outputShape: this.shapes[step.node.output],
        ms,
        flops: step.flops,
        backend: step.backend.name,
      });
    } else if (step.kind === 'copy') {
      this.timings.push({
        name: step.label,
        op: 'copy',
        outputShape: step.shape,
        ms,
        flops: 0,
        backend: `${step.from.name}→${step.to.name}`,
        bytes: 4 * step.floats,
      });
    } else {
      this.timings.push({
        name: step.name,
        op: 'gradAccumulate',
        outputShape: step.shape,
        ms,
        flops: 0,
        backend: step.backend.name,
      });
    }
  }

  /** `profile` for the asynchronous path (GPU steps are timed as recorded, not as executed). */
  async profileAsync<T>(fn: () => Promise<T>): Promise<{ result: T; layers: LayerTiming[] }> {
    this.timings = [];
    try {
      const result = await fn();
      return { result, layers: this.timings };
    } finally {
      this.timings = null;
    }
  }

  /** Runs `fn` recording every step's time (and packs, copies, gradient accumulations). */
  profile<T>(fn: () => T): { result: T; layers: LayerTiming[] } {
    this.timings = [];
    try {
      const result = fn();
      return { result, layers: this.timings };
    } finally {
      this.timings = null;
    }
  }

  /** FLOPs of every kernel step (multiply-adds count 2). */
  get totalFlops(): number {
    return this.steps.reduce((a, s) => a + (s.kind === 'kernel' ? s.flops : 0), 0);
  }

  /** The placed step list: each kernel with its backend, each copy with its bytes (for reports and tests). */
  describe(): { kind: Step['kind']; name: string; op: string; backend: string; bytes?: number }[] {
    return this.steps.map((s) =>
      s.kind === 'kernel'
        ? { kind: s.kind, name: s.node.name, op: s.node.op, backend: s.backend.name }
        : s.kind === 'copy'
          ? { kind: s.kind, name: s.label, op: 'copy', backend: `${s.from.name}→${s.to.name}`, bytes: 4 * s.floats }
          : { kind: s.kind, name: s.name, op: 'gradAccumulate', backend: s.backend.name },
    );
  }

  /** Bytes this executor holds in device memory for activations, saved values, gradients and scratch (all backends). */
  get activationBytes(): number {
    let n = 0;
    for (const r of this.regions.values()) n += r.bytes;
    return n;
  }

  private disposeKernels(): void {
    for (const s of this.steps) if (s.kind === 'kernel') s.kernel.dispose?.();
    for (const m of this.mirrors) m.backend.memory.free(m.ptr);
    this.mirrors.length = 0;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.disposeKernels();
    for (const [b, r] of this.regions) b.memory.free(r.ptr);
  }
}

/** Our own errors say what is wrong with the input and pass as they are; anything else is the backend failing. */
function asFault(e: unknown, backend: string, where: string): unknown {
  return e instanceof VireoError ? e : new BackendFault(backend, where, e);
}
