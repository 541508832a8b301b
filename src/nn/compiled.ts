import { ArgumentError, BackendFault, DeviceLostError, ShapeError, VireoError } from '../core/errors.js';
import { type Shape, shapesEqual } from '../core/shape.js';
import { Tensor } from '../core/tensor.js';
import { type Backend, hasKernel } from '../backends/backend.js';
import { hostBackend } from '../backends/host.js';
import type { GraphNode } from '../graph/ir.js';
import { Plan } from '../graph/plan.js';
import type { Placement } from '../graph/executor.js';
import { TrainPlan } from '../graph/train-plan.js';
import type { SkippedCandidate } from '../scheduler/candidates.js';
import { type Schedule, schedule } from '../scheduler/schedule.js';
import type { Module } from './module.js';

/** Validate mode's tolerances (relative to each value, and absolute relative to the layer output's largest value). */
export interface ValidateOptions {
  rtol?: number;
  atol?: number;
}

/** Reads VIREO_VALIDATE (any value but '' and '0' turns validate mode on for every compiled model). */
export function validateFromEnv(): boolean {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const v = env?.VIREO_VALIDATE;
  return v !== undefined && v !== '' && v !== '0';
}

/**
 * A module compiled for a placement: which backend runs each layer, the plans compiled per input shape
 * and layer modes, and (through the plans) the device memory they hold. The module keeps structure and
 * parameters only — like a torch module next to an ONNX Runtime session — so dropping this object and
 * compiling again is always safe.
 */
export class CompiledModel {
  private plans: { modes: string; plan: Plan; schedule: Schedule | null }[] = [];
  private trainPlans: { modes: string; plan: TrainPlan; schedule: Schedule | null }[] = [];
  readonly placement: Placement;
  private readonly validate: { reference: Backend; rtol: number; atol: number } | null;
  /** `auto`: the candidates, each shape's decided schedule, calibrations under way, and placement switches made. */
  private readonly decided = new Map<string, Schedule>();
  private readonly calibrating = new Map<string, Promise<void>>();
  readonly switches: { shape: Shape; training: boolean; to: string }[] = [];
  /** `auto`: calibrations that failed (the shape stays on the first candidate; the next compile tries again). */
  readonly calibrationFailures: { shape: Shape; training: boolean; message: string }[] = [];

  /**
   * @param backend runs every layer not named in `layers`.
   * @param layers layer path → backend; a path also places everything under it ('features' places 'features.0').
   */
  constructor(
    readonly module: Module,
    private main: Backend,
    public layers: ReadonlyMap<string, Backend> = new Map(),
    validate: boolean | ValidateOptions = false,
    readonly auto: {
      candidates: Backend[];
      onProgress?: (done: number, total: number) => void;
      /** Default candidates that could not start here (webgpu without an adapter), with the reason. */
      skipped?: SkippedCandidate[];
    } | null = null,
    /**
     * Where a node goes when its layer's backend is a GPU (no readSync) without a kernel for its op (webgpu has
     * one for every op today; this keeps a future op usable): wasm, with copy steps around it. Null: a missing
     * kernel stops the compile.
     */
    readonly fallback: Backend | null = null,
  ) {
    this.placement = (node: GraphNode) => {
      const b = this.backendOf(node.name);
      return this.fallback && !b.memory.readSync && !hasKernel(b, node.op) ? this.fallback : b;
    };
    const v = validate === true ? {} : validate || null;
    this.validate = v ? { reference: hostBackend(), rtol: v.rtol ?? 1e-3, atol: v.atol ?? 1e-4 } : null;
  }

  /** The backend of every layer not placed elsewhere (under auto: the first candidate left). */
  get backend(): Backend {
    return this.main;
  }

  /** Faults that removed a candidate: which backend, in which layer, and the message. */
  readonly faults: { backend: string; layer: string; message: string }[] = [];

  /**
   * `auto` only: a candidate failed mid-run. It leaves the candidates, every plan and decision is dropped,
   * and the caller runs again on the rest. Returns false when there is nothing to fall back to.
   */
  private dropFailed(fault: BackendFault): boolean {
    if (!this.auto) return false;
    const rest = this.auto.candidates.filter((b) => b.name !== fault.backend);
    if (rest.length === 0 || rest.length === this.auto.candidates.length) return false;
    this.faults.push({ backend: fault.backend, layer: fault.layer, message: fault.message });
    for (const { plan } of this.plans) plan.dispose();
    for (const { plan } of this.trainPlans) plan.dispose();
    this.plans = [];
    this.trainPlans = [];
    this.decided.clear();
    this.auto.candidates = rest;
    this.main = rest[0];
    return true;
  }

  /** Told once when a GPU device of this model is lost (default: a console warning). */
  onDeviceLost: ((error: DeviceLostError) => void) | null = null;
  /** The loss this model recovered from (its layers moved to wasm), if any. */
  deviceLoss: DeviceLostError | null = null;

  /**
   * After a failure (fixed placements; `auto` drops a failed candidate instead): when a GPU device of this
   * model was lost, every layer on it moves to wasm (the fallback), its plans are dropped and parameters
   * forget their device copies — once; the user is told once. Returns the loss, or null when `error` was
   * something else (also after a recovery: later errors are what they are). Values trained on the device
   * since the last host sync are gone: the error names them.
   */
  async lostDevice(error: unknown): Promise<DeviceLostError | null> {
    if (error instanceof DeviceLostError) return error;
    // Input mistakes are never a loss: answer them at once, without waiting on the device.
    if (this.auto || !this.fallback || error instanceof ArgumentError || error instanceof ShapeError) return null;
    const lost: Backend[] = [];
    for (const b of this.backends) if (b.confirmDeviceLost && (await b.confirmDeviceLost())) lost.push(b);
    if (lost.length === 0) return null;
    const wasm = this.fallback;
    for (const { plan } of [...this.plans, ...this.trainPlans]) plan.dispose();
    this.plans = [];
    this.trainPlans = [];
    if (lost.includes(this.main)) this.main = wasm;
    this.layers = new Map([...this.layers].map(([path, b]) => [path, lost.includes(b) ? wasm : b]));
    const stale: string[] = [];
    for (const [name, p] of this.module.namedEntriesForDevice()) {
      for (const b of lost) if (!p.forgetDevice(b.memory)) stale.push(name);
    }
    const reason = lost[0].deviceLost ?? 'unknown';
    const message = `${lost[0].name}: the GPU device was lost (${reason}); the model continues on wasm${
      stale.length
        ? ` from the host copy of its parameters, which misses the updates since the last sync (${stale.slice(0, 4).join(', ')}${stale.length > 4 ? ', …' : ''})`
        : ''
    }`;
    this.deviceLoss = new DeviceLostError(lost[0].name, reason, message, stale);
    this.faults.push({ backend: lost[0].name, layer: '', message });
    if (this.onDeviceLost) this.onDeviceLost(this.deviceLoss);
    else console.warn(`vireo: ${message}`);
    return this.deviceLoss;
  }

  /** The backend of a layer (or of a backward node named after it: 'conv1', 'conv1.grad'). */
  backendOf(name: string, layers: ReadonlyMap<string, Backend> = this.layers): Backend {
    let best: Backend = this.backend;
    let bestLength = -1;
    for (const [path, b] of layers) {
      const under = name === path || name.startsWith(`${path}.`);
      if (under && path.length > bestLength) {
        best = b;
        bestLength = path.length;
      }
    }
    return best;
  }

  /** Every backend this model places a layer on. */
  get backends(): Backend[] {
    const all = [this.backend, ...this.layers.values(), ...(this.auto?.candidates ?? [])];
    return [...new Set(this.fallback ? [...all, this.fallback] : all)];
  }

  private scheduleKey(inputShape: Shape, training: boolean): string {
    return `${training ? 'train' : 'eval'}|${this.module.modeSignature()}|${inputShape.join('x')}`;
  }

  /**
   * `auto` only: makes sure this shape has a placement decided when it can be without delaying a result.
   * Cached calibrations decide at once; otherwise the first call runs on the first candidate (wasm) and the
   * calibration runs right after it, so the call after that runs the chosen placement (a switch, recorded).
   * With a GPU candidate, calls keep running on the first candidate while its pipelines compile and its
   * kernels are timed, and the first call after the decision switches. `calibration(shape, training)` awaits it.
   */
  async prepare(inputShape: Shape, training: boolean): Promise<void> {
    if (!this.auto || this.auto.candidates.length < 2) return;
    const key = this.scheduleKey(inputShape, training);
    if (this.decided.has(key)) return;
    const pending = this.calibrating.get(key);
    // A host candidate's timings hold the thread anyway, so a call may as well wait for them; a GPU's
    // calibration waits on the device, and calls keep running on the first candidate until it is decided.
    if (pending) return this.auto.candidates.some((b) => !b.memory.readSync) ? undefined : pending;
    const graph = this.module.toGraph(inputShape);
    const cached = await schedule(graph, inputShape, this.auto.candidates, { training, measure: false });
    if (cached) {
      this.decided.set(key, cached);
      return;
    }
    const { candidates, onProgress } = this.auto;
    const exclusive = <T>(fn: () => Promise<T>) => this.exclusively(fn);
    const run = new Promise<void>((resolve) => {
      setTimeout(() => {
        schedule(graph, inputShape, candidates, { training, onProgress, exclusive }).then(
          (s) => {
            if (s) this.decided.set(key, s);
            this.calibrating.delete(key);
            resolve();
          },
          (e: unknown) => {
            // Nobody awaits a background calibration: a failure (a cache it cannot write, a GPU lost while
            // timing) leaves this shape on the first candidate, said here, instead of an unhandled rejection.
            this.calibrationFailures.push({ shape: inputShape, training, message: (e as Error)?.message ?? String(e) });
            this.calibrating.delete(key);
            resolve();
          },
        );
      }, 0);
    });
    this.calibrating.set(key, run);
  }

  private lock: Promise<unknown> = Promise.resolve();

  /**
   * Runs `fn` alone among this model's asynchronous work: a GPU calibration's awaits must not let a run of a
   * placement across wasm and webgpu interleave with it (calibration allocates, and a wasm memory growing in
   * the middle of a run would detach the views its kernels hold), and its timings must not include our runs.
   */
  private exclusively<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.lock.then(fn, fn);
    this.lock = next.catch(() => {});
    return next;
  }

  /** Settles when the calibration under way for this shape (if any) has decided its placement. */
  async calibration(inputShape: Shape, training: boolean): Promise<void> {
    await this.calibrating.get(this.scheduleKey(inputShape, training));
  }

  /** The decided schedule for a shape (auto), or null (a fixed placement, or not decided yet). */
  scheduleFor(inputShape: Shape, training: boolean): Schedule | null {
    return this.decided.get(this.scheduleKey(inputShape, training)) ?? null;
  }

  private placementFor(s: Schedule | null): Placement {
    if (!s) return this.placement;
    return (node: GraphNode) => this.backendOf(node.name, s.layers);
  }

  /** The static plan for this input shape and the module's current layer modes, compiled on first use. */
  plan(inputShape: Shape): Plan {
    const modes = this.module.modeSignature();
    const s = this.auto ? this.scheduleFor(inputShape, false) : null;
    const found = this.plans.find((p) => p.modes === modes && p.plan.matches([inputShape]));
    if (found && found.schedule === s) return found.plan;
    if (found) {
      // The calibration finished since this plan compiled: switch to the chosen placement between calls.
      found.plan.dispose();
      this.plans = this.plans.filter((p) => p !== found);
      this.switches.push({ shape: inputShape, training: false, to: describe(s) });
    }
    const plan = new Plan(this.module.toGraph(inputShape), [inputShape], this.placementFor(s), { validate: this.validate });
    plan.schedule = s;
    this.plans.push({ modes, plan, schedule: s });
    return plan;
  }

  /**
   * The training plan (forward + backward, planned together) for this input shape, rebuilt when the set
   * of parameters with requiresGrad or any layer's train/eval mode changes.
   */
  trainPlan(inputShape: Shape): TrainPlan {
    const modes = this.module.modeSignature();
    const s = this.auto ? this.scheduleFor(inputShape, true) : null;
    const found = this.trainPlans.find((p) => p.plan.matches([inputShape]) && p.modes === modes);
    if (found && found.schedule === s) return found.plan;
    if (found) this.switches.push({ shape: inputShape, training: true, to: describe(s) });
    this.trainPlans = this.trainPlans.filter((p) => {
      const stale = shapesEqual(p.plan.inputShapes[0], inputShape);
      if (stale) p.plan.dispose();
      return !stale;
    });
    const plan = new TrainPlan(this.module.toGraph(inputShape), [inputShape], this.placementFor(s), {
      validate: this.validate,
    });
    this.trainPlans.push({ modes, plan, schedule: s });
    return plan;
  }

  /**
   * Runs the module (differentiable in training mode: `await out.backward(dOut)` runs the plan's backward
   * pass). Under `auto`, a candidate that fails mid-run is removed and the call (or the training step's
   * backward, which then re-runs its forward on the rebuilt plan) is answered by the rest.
   */
  forward(x: Tensor): Tensor {
    try {
      return this.forwardOnce(x);
    } catch (e) {
      if (e instanceof BackendFault && this.dropFailed(e)) return this.forward(x);
      throw e;
    }
  }

  /** True when a backend of this model cannot be read synchronously (WebGPU): forward goes through `forwardAsync`. */
  get needsAsync(): boolean {
    return this.backends.some((b) => !b.memory.readSync);
  }

  /**
   * `forward` for models with a GPU memory: the same plans, run through their asynchronous path (copies out of
   * GPU memory and the outputs are downloaded). Module.forward picks it when `needsAsync`.
   */
  async forwardAsync(x: Tensor): Promise<Tensor> {
    // Under auto a GPU candidate makes every call come here, but a placement on host memories alone runs
    // the synchronous path (with its backward retry on a fault) as a fixed wasm placement would.
    const host = this.module.training ? !this.trainPlan(x.shape).needsAsync : !this.plan(x.shape).needsAsync;
    if (host) return this.forward(x);
    try {
      return await this.exclusively(() => this.forwardOnceAsync(x));
    } catch (e) {
      // A lost device: inference answers from wasm; training (whose device values are gone) raises the
      // loss for fit to restore its host copy, as does inference on parameters trained since the last sync.
      const lost = await this.lostDevice(e);
      if (lost) {
        if (this.module.training || lost.staleParameters.length) throw lost;
        return this.forwardAsync(x);
      }
      if (e instanceof BackendFault && this.dropFailed(e)) return this.forwardAsync(x);
      throw e;
    }
  }

  /** Runs `work` and turns a lost device under it into the DeviceLostError (after moving to wasm). */
  private async raisingLoss<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (e) {
      throw (await this.lostDevice(e)) ?? e;
    }
  }

  private async forwardOnceAsync(x: Tensor): Promise<Tensor> {
    if (this.module.training) {
      const train = this.trainPlan(x.shape);
      const out = await train.runAsync([x.dataSync()]);
      const generation = train.generation;
      const backward = (g: Float32Array): Promise<void> =>
        this.raisingLoss(() => this.exclusively(() => train.backwardAsync(g, generation)));
      return new Tensor(out, train.outputShape, { gradFn: backward });
    }
    const plan = this.plan(x.shape);
    const [out] = await plan.runAsync([x.dataSync()]);
    return new Tensor(out, plan.outputShapes[0]);
  }

  /**
   * Brings every parameter (values, gradients) held in a memory the host cannot map to the host, so that
   * `p.values`, `p.grad`, `stateDict()` and checkpoints read current values. Device copies stay valid.
   */
  async syncToHost(): Promise<void> {
    await this.raisingLoss(async () => {
      for (const [, p] of this.module.namedEntriesForDevice()) await p.syncToHost();
    });
  }

  private forwardOnce(x: Tensor): Tensor {
    if (this.module.training) {
      const train = this.trainPlan(x.shape);
      const out = train.run([x.dataSync()]);
      const generation = train.generation;
      const backward = (g: Float32Array): void => {
        // A backward that fails half-way has written some gradients: a retry is exact only when every
        // gradient was empty before (the usual zeroGrad → forward → backward), so it can be emptied again.
        const params = this.module.parameters();
        const before = params.map((p) => p.gradStatus);
        try {
          train.backward(g, generation);
        } catch (e) {
          if (!(e instanceof BackendFault) || before.includes('set') || !this.dropFailed(e)) throw e;
          params.forEach((p, i) => {
            if (before[i] === 'none') p.grad = null;
            else p.zeroGrad();
          });
          const again = this.trainPlan(x.shape);
          again.run([x.dataSync()]);
          again.backward(g, again.generation);
        }
      };
      return new Tensor(out, train.outputShape, { gradFn: backward });
    }
    const plan = this.plan(x.shape);
    const [out] = plan.run([x.dataSync()]);
    return new Tensor(out, plan.outputShapes[0]);
  }

  /**
   * Frees every compiled plan's device memory and brings the module's parameters (values and gradients)
   * back to the host: after this the model holds nothing on any device. The next run binds them again.
   */
  release(): void {
    const gpu = this.backends.filter((b) => !b.memory.readSync).map((b) => b.memory);
    const stranded = this.module
      .namedEntriesForDevice()
      .filter(([, p]) => p.memory && gpu.includes(p.memory) && !p.hostCurrentNow);
    if (stranded.length) {
      throw new VireoError(
        `release: parameter '${stranded[0][0]}' has newer values on '${this.backends.find((b) => b.memory === stranded[0][1].memory)?.name}' than on the host; await model.syncToHost() first`,
      );
    }
    for (const { plan } of this.plans) plan.dispose();
    this.plans = [];
    for (const { plan } of this.trainPlans) plan.dispose();
    this.trainPlans = [];
    const mine = new Set(this.backends.map((b) => b.memory));
    for (const [, p] of this.module.namedEntriesForDevice()) if (p.memory && mine.has(p.memory)) p.unbind();
  }
}

/** A schedule in words: 'all on wasm' or 'wasm 12 layers, webgpu 3 layers'. */
function describe(s: Schedule | null): string {
  if (!s) return 'the first candidate';
  const count = new Map<string, number>();
  for (const b of s.layers.values()) count.set(b.name, (count.get(b.name) ?? 0) + 1);
  if (count.size === 1) return `all on ${[...count.keys()][0]}`;
  return [...count].map(([n, c]) => `${n} ${c} layer${c === 1 ? '' : 's'}`).join(', ');
}

/** Checks a placement map's layer names against the module's, so a typo fails instead of placing nothing. */
export function checkPlacementNames(module: Module, names: readonly string[]): void {
  const layers = module.layerPaths();
  for (const name of names) {
    if (!layers.some((l) => l === name || l.startsWith(`${name}.`))) {
      throw new ArgumentError(
        `placement: the model has no layer '${name}' (its layers: ${layers.slice(0, 12).join(', ')}${layers.length > 12 ? ', …' : ''})`,
      );
    }
  }
}
