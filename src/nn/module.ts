import { ArgumentError, type DeviceLostError, StateDictError } from '../core/errors.js';
import type { Parameter } from '../core/parameter.js';
import { type Shape, shapeToString, shapesEqual } from '../core/shape.js';
import { Tensor } from '../core/tensor.js';
import type { Backend } from '../backends/backend.js';
import { type BackendOptions, autoCandidates, getBackend } from '../backends/registry.js';
import { loadCandidates } from '../scheduler/candidates.js';
import { fuseActivations } from '../graph/fuse.js';
import { Graph, type ValueId } from '../graph/ir.js';
import type { Plan } from '../graph/plan.js';
import type { TrainPlan } from '../graph/train-plan.js';
import { CompiledModel, type ValidateOptions, checkPlacementNames, validateFromEnv } from './compiled.js';

/** Options of `module.to()`: the wasm build, layers placed on other backends, validate mode. */
export interface ToOptions extends BackendOptions {
  /** Layer path → backend for layers that run elsewhere than the first argument. */
  placement?: Record<string, string>;
  validate?: boolean | ValidateOptions;
  /** `auto` only: the backends to choose from (default: every registered backend but 'reference'). */
  candidates?: string[];
  /** `auto` only: hears the calibration's progress (kernel timings done, total). */
  onCalibration?: (done: number, total: number) => void;
  /** Told once when a GPU device is lost and the model moves to wasm (default: a console warning). */
  onDeviceLost?: (error: DeviceLostError) => void;
}
import type { DropoutGenerator } from '../ops/types.js';

export type StateDict = Map<string, Tensor> | Record<string, Tensor>;

/**
 * Where each random layer (nn.Dropout) of a module stands in its mask stream, keyed by its state-dict path:
 * vireo's `torch.get_rng_state()`, per layer. Not part of `stateDict()` (PyTorch's state_dict holds no
 * RNG state either); checkpoints carry it next to the weights and the optimizer state.
 */
export type RngState = Record<string, DropoutGenerator>;

/**
 * Base of every layer, shaped like torch.nn.Module: children and parameters registered in order
 * (which fixes state-dict names), train/eval modes, and a forward that compiles the module into a
 * graph and a static plan per input shape.
 */
export abstract class Module {
  training = true;
  private readonly childModules = new Map<string, Module>();
  private readonly ownParams = new Map<string, Parameter>();
  /** What `to()` asked for; compiled on first use. */
  private target: { backend: string; options: ToOptions } = { backend: 'wasm', options: {} };
  private compiled: CompiledModel | null = null;

  /** Adds this module's nodes to `graph`, reading `inputs`; `path` is its state-dict prefix. */
  abstract emit(graph: Graph, inputs: ValueId[], path: string): ValueId;

  protected registerParameter(name: string, parameter: Parameter): Parameter {
    this.ownParams.set(name, parameter);
    return parameter;
  }

  protected registerModule<M extends Module>(name: string, module: M): M {
    if (!(module instanceof Module)) throw new ArgumentError(`child '${name}' is not an nn.Module`);
    this.childModules.set(name, module);
    return module;
  }

  /** Direct children, in registration order. */
  namedChildren(): [string, Module][] {
    return [...this.childModules];
  }

  /** Parameters and buffers in PyTorch's state-dict order: own entries first, then each child's. */
  private namedEntries(prefix = ''): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    const own = [...this.ownParams];
    for (const [name, p] of own.filter(([, p]) => !p.isBuffer)) out.push([prefix + name, p]);
    for (const [name, p] of own.filter(([, p]) => p.isBuffer)) out.push([prefix + name, p]);
    for (const [name, child] of this.childModules) out.push(...child.namedEntries(`${prefix}${name}.`));
    return out;
  }

  /** Every parameter and buffer (what a compiled model binds to device memory). */
  namedEntriesForDevice(): [string, Parameter][] {
    return this.namedEntries();
  }

  namedParameters(): [string, Parameter][] {
    return this.namedEntries().filter(([, p]) => !p.isBuffer);
  }

  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  namedBuffers(): [string, Parameter][] {
    return this.namedEntries().filter(([, p]) => p.isBuffer);
  }

  /** Copies of every parameter and buffer, keyed by PyTorch's state-dict names. */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [name, p] of this.namedEntries()) out[name] = p.toTensor();
    return out;
  }

  /**
   * Loads parameters by name. Every entry is checked before any is written, so a bad state dict
   * leaves the model as it was. With `strict` (the default) missing and unexpected keys are errors.
   */
  loadStateDict(stateDict: StateDict, options: { strict?: boolean } = {}): void {
    const strict = options.strict ?? true;
    const entries = new Map(stateDict instanceof Map ? stateDict : Object.entries(stateDict));
    const own = new Map(this.namedEntries());
    // PyTorch's BatchNorm fills a missing num_batches_tracked with 0 when loading a plain dict (one without
    // its version metadata, as from a file): do the same, so such a state dict loads under strict too.
    for (const [name, p] of own) {
      if (!entries.has(name) && p.isBuffer && p.dtype === 'int64' && name.split('.').pop() === 'num_batches_tracked') {
        entries.set(name, new Tensor(new Float32Array(p.size), p.shape, { integer: true }));
      }
    }
    const missing = [...own.keys()].filter((k) => !entries.has(k));
    const unexpected = [...entries.keys()].filter((k) => !own.has(k));
    if (strict && (missing.length > 0 || unexpected.length > 0)) {
      const parts = [];
      if (missing.length) parts.push(`missing: ${missing.join(', ')}`);
      if (unexpected.length) parts.push(`unexpected: ${unexpected.join(', ')}`);
      throw new StateDictError(`loadStateDict: keys do not match the model (${parts.join('; ')})`);
    }
    for (const [name, t] of entries) {
      const p = own.get(name);
      if (!p) continue;
      if (!(t instanceof Tensor)) throw new StateDictError(`loadStateDict: '${name}' is not a Tensor`);
      const scalarAsOne = p.shape.length === 0 && t.size === 1;
      if (!scalarAsOne && !shapesEqual(p.shape, t.shape)) {
        throw new StateDictError(
          `loadStateDict: '${name}' has shape ${shapeToString(t.shape)}, the model expects ${shapeToString(p.shape)}`,
        );
      }
      const values = t.dataSync();
      for (let i = 0; i < values.length; i++) {
        if (!Number.isFinite(values[i]))
          throw new StateDictError(`loadStateDict: '${name}' holds a non-finite value at index ${i}`);
      }
    }
    for (const [name, t] of entries) own.get(name)?.set(t.dataSync(), name);
  }

  /** The generator this layer draws from itself (nn.Dropout's), or null: the hook behind `rngState()`. */
  protected ownGenerator(): DropoutGenerator | null {
    return null;
  }

  private namedGenerators(path = ''): [string, DropoutGenerator][] {
    const own = this.ownGenerator();
    const out: [string, DropoutGenerator][] = own ? [[path, own]] : [];
    for (const [name, child] of this.childModules) out.push(...child.namedGenerators(childPath(path, name)));
    return out;
  }

  /** A copy of every Dropout's generator state ({ seed, calls }), keyed by layer path ('drop', 'classifier.1'). */
  rngState(): RngState {
    const out: RngState = {};
    for (const [name, g] of this.namedGenerators()) out[name] = { seed: g.seed, calls: g.calls };
    return out;
  }

  /**
   * Restores `rngState()` (like `torch.set_rng_state`): the next masks are the ones the saved model would
   * have drawn. Checked before anything is written; with `strict` (the default) every random layer must
   * be in the state and nothing else. Compiled plans keep working (they read the generators at run time).
   */
  loadRngState(state: RngState, options: { strict?: boolean } = {}): void {
    const strict = options.strict ?? true;
    const own = new Map(this.namedGenerators());
    const keys = Object.keys(state);
    const missing = [...own.keys()].filter((k) => !(k in state));
    const unexpected = keys.filter((k) => !own.has(k));
    if (strict && (missing.length > 0 || unexpected.length > 0)) {
      const parts = [];
      if (missing.length) parts.push(`missing: ${missing.map((k) => k || '(root)').join(', ')}`);
      if (unexpected.length) parts.push(`unexpected: ${unexpected.map((k) => k || '(root)').join(', ')}`);
      throw new StateDictError(`loadRngState: layers do not match the model's Dropout layers (${parts.join('; ')})`);
    }
    const isCount = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
    for (const k of keys) {
      const g = state[k] as Partial<DropoutGenerator> | undefined;
      if (!own.has(k)) continue;
      if (!g || !isCount(g.seed) || (g.seed as number) > 0xffffffff || !isCount(g.calls))
        throw new StateDictError(
          `loadRngState: '${k || '(root)'}' must be { seed: an integer in [0, 2^32), calls: an integer ≥ 0 }, got ${JSON.stringify(g)}`,
        );
    }
    for (const [k, g] of own) {
      const saved = state[k];
      if (!saved) continue;
      g.seed = saved.seed;
      g.calls = saved.calls;
    }
  }

  train(mode = true): this {
    this.training = mode;
    for (const child of this.childModules.values()) child.train(mode);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /**
   * Chooses where this module runs: 'auto' (each layer on the candidate backend that runs it fastest on this
   * device, measured and counting copies: src/scheduler), or a backend for every layer ('wasm', the default,
   * or 'reference'), and
   * optionally `placement` — layer path → backend for the layers that run elsewhere (a path places the
   * layers under it too) — and `validate` (re-run every step on the reference backend, stop at the first
   * layer that differs; also VIREO_VALIDATE=1). Parameters move to their layer's backend when it compiles.
   */
  async to(backend: string, options: ToOptions = {}): Promise<this> {
    const next = await this.compile(backend, options);
    // Parameters trained on a GPU come home before the old placement lets them go.
    await this.compiled?.syncToHost();
    this.compiled?.release();
    this.compiled = next;
    this.target = { backend, options };
    return this;
  }

  private async compile(backend: string, options: ToOptions): Promise<CompiledModel> {
    const { placement = {}, validate, candidates, onCalibration, onDeviceLost, ...backendOptions } = options;
    checkPlacementNames(this, Object.keys(placement));
    const v = validate ?? validateFromEnv();
    if (backend === 'auto') {
      // Every registered backend but the oracle, unless the caller names them (experts, tests). A GPU that
      // cannot start here (no adapter, the optional package absent) is left out, and the reason kept.
      const names = candidates ?? autoCandidates();
      if (names.length === 0) throw new ArgumentError("to('auto'): no candidate backends");
      const { candidates: list, skipped } = await loadCandidates(names, backendOptions, candidates !== undefined);
      return new CompiledModel(this, list[0], new Map(), v, { candidates: list, onProgress: onCalibration, skipped });
    }
    const main = await getBackend(backend, backendOptions);
    const layers = new Map<string, Backend>();
    for (const [path, name] of Object.entries(placement)) {
      layers.set(path, name === backend ? main : await getBackend(name, name === 'wasm' ? backendOptions : {}));
    }
    // A GPU backend's missing kernels (dropout, ONNX import ops) run on wasm, placed node by node.
    const gpu = [main, ...layers.values()].some((b) => !b.memory.readSync);
    const fallback = gpu ? await getBackend('wasm', backendOptions.build ? { build: backendOptions.build } : {}) : null;
    const compiled = new CompiledModel(this, main, layers, v, null, fallback);
    compiled.onDeviceLost = onDeviceLost ?? null;
    return compiled;
  }

  /** Whether some layer runs on a device that can be lost (WebGPU): what fit's host snapshots guard against. */
  async canLoseDevice(): Promise<boolean> {
    return (await this.compiledModel()).backends.some((b) => b.confirmDeviceLost !== undefined);
  }

  /**
   * After a device loss moved this model to wasm: places it again as `to()` last asked (a lost WebGPU device
   * is forgotten, so this asks the adapter for a new one). False, and still on wasm, when that fails.
   */
  async returnToDevice(): Promise<boolean> {
    try {
      await this.to(this.target.backend, this.target.options);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * After a failure: when it was a lost GPU device, the model has moved to wasm and this is the loss to
   * recover from (restore a host copy of the weights); null when the failure was something else.
   */
  async lostDevice(error: unknown): Promise<DeviceLostError | null> {
    return this.compiled ? this.compiled.lostDevice(error) : null;
  }

  /** The compiled model: placement, plans and their device memory (made on first use with the default backend). */
  async compiledModel(): Promise<CompiledModel> {
    this.compiled ??= await this.compile(this.target.backend, this.target.options);
    return this.compiled;
  }

  /** The backend that runs this module's layers (those not placed elsewhere). */
  async currentBackend(): Promise<Backend> {
    return (await this.compiledModel()).backend;
  }

  /** State-dict paths of every descendant layer ('conv1', 'features.0'): what a placement map names. */
  layerPaths(prefix = ''): string[] {
    const out: string[] = [];
    for (const [name, child] of this.childModules) {
      const path = childPath(prefix, name);
      out.push(path, ...child.layerPaths(path));
    }
    return out;
  }

  /** The module as a graph for the current mode (activations fused into the conv/linear before them). */
  toGraph(_inputShape?: Shape): Graph {
    const graph = new Graph();
    const input = graph.addInput();
    graph.outputs = [this.emit(graph, [input], '')];
    return fuseActivations(graph);
  }

  /**
   * The train/eval flags of this module and all its descendants. A compiled graph bakes in every
   * layer's mode (batch norm, dropout), so `net.eval(); net.bn1.train()` must not reuse the plan
   * compiled before the child's mode changed.
   */
  modeSignature(): string {
    let s = this.training ? '1' : '0';
    for (const child of this.childModules.values()) s += child.modeSignature();
    return s;
  }

  /** The static plan for this input shape and these layer modes, compiled on first use and then reused. */
  async plan(inputShape: Shape): Promise<Plan> {
    const compiled = await this.compiledModel();
    await compiled.prepare(inputShape, false);
    return compiled.plan(inputShape);
  }

  /** The training plan (forward + backward) for this input shape; see CompiledModel.trainPlan. */
  async trainPlan(inputShape: Shape): Promise<TrainPlan> {
    const compiled = await this.compiledModel();
    await compiled.prepare(inputShape, true);
    return compiled.trainPlan(inputShape);
  }

  /**
   * Runs the module. In training mode the result is differentiable: `await out.backward(dOut)` (or a
   * loss built on it) runs the plan's backward pass and accumulates into each `Parameter.grad`.
   */
  async forward(x: Tensor): Promise<Tensor> {
    const compiled = this.compiled ?? (await this.compiledModel());
    if (compiled.auto) await compiled.prepare(x.shape, this.training);
    return compiled.needsAsync ? compiled.forwardAsync(x) : compiled.forward(x);
  }

  /**
   * Downloads parameters (and gradients) that live in a memory the host cannot map (WebGPU), so `stateDict()`,
   * `p.values` and checkpoints see them. A no-op on wasm and reference, whose memories the host reads directly.
   */
  async syncToHost(): Promise<void> {
    await this.compiled?.syncToHost();
  }

  /** Frees every compiled plan's device memory (on WebGPU, `await syncToHost()` first). */
  releasePlans(): void {
    this.compiled?.release();
  }
}

/** Joins a state-dict prefix and a child name ('' + 'conv1' → 'conv1'; 'features.' handled by callers). */
export function childPath(path: string, name: string): string {
  return path ? `${path}.${name}` : name;
}
