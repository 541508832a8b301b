import { ArgumentError, StateDictError } from '../core/errors.js';
import type { Parameter } from '../core/parameter.js';
import { type Shape, shapeToString, shapesEqual } from '../core/shape.js';
import { Tensor } from '../core/tensor.js';
import type { Backend } from '../backends/backend.js';
import { type BackendOptions, getBackend } from '../backends/registry.js';
import { fuseActivations } from '../graph/fuse.js';
import { Graph, type ValueId } from '../graph/ir.js';
import { Plan } from '../graph/plan.js';
import { TrainPlan } from '../graph/train-plan.js';
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
  private backendName = 'wasm';
  private backendOptions: BackendOptions = {};
  private backend: Backend | null = null;
  private plans: { modes: string; plan: Plan }[] = [];
  private trainPlans: TrainPlan[] = [];
  /** Layer modes each training plan was compiled for (see modeSignature). */
  private trainPlanModes = new WeakMap<TrainPlan, string>();

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
    const entries = stateDict instanceof Map ? stateDict : new Map(Object.entries(stateDict));
    const own = new Map(this.namedEntries());
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

  /** Chooses the backend that runs this module: 'wasm' (default) or 'reference'. */
  async to(backend: string, options: BackendOptions = {}): Promise<this> {
    const next = await getBackend(backend, options);
    if (next !== this.backend) this.releasePlans();
    this.backend = next;
    this.backendName = backend;
    this.backendOptions = options;
    return this;
  }

  /** The backend this module runs on (loading the default on first use). */
  async currentBackend(): Promise<Backend> {
    if (!this.backend) this.backend = await getBackend(this.backendName, this.backendOptions);
    return this.backend;
  }

  /** The module as a graph for the current mode (activations fused into the conv/linear before them). */
  toGraph(): Graph {
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
    const backend = await this.currentBackend();
    const modes = this.modeSignature();
    const found = this.plans.find((p) => p.modes === modes && p.plan.matches([inputShape]));
    if (found) return found.plan;
    const plan = new Plan(this.toGraph(), [inputShape], backend);
    this.plans.push({ modes, plan });
    return plan;
  }

  /**
   * The training plan (forward + backward, planned together) for this input shape, rebuilt when the
   * set of parameters with requiresGrad or any layer's train/eval mode changes.
   */
  async trainPlan(inputShape: Shape): Promise<TrainPlan> {
    const backend = await this.currentBackend();
    const modes = this.modeSignature();
    const found = this.trainPlans.find((p) => p.matches([inputShape]) && this.trainPlanModes.get(p) === modes);
    if (found) return found;
    this.trainPlans = this.trainPlans.filter((p) => {
      const stale = shapesEqual(p.inputShapes[0], inputShape);
      if (stale) p.dispose();
      return !stale;
    });
    const plan = new TrainPlan(this.toGraph(), [inputShape], backend);
    this.trainPlanModes.set(plan, modes);
    this.trainPlans.push(plan);
    return plan;
  }

  /**
   * Runs the module. In training mode the result is differentiable: `await out.backward(dOut)` (or a
   * loss built on it) runs the plan's backward pass and accumulates into each `Parameter.grad`.
   */
  async forward(x: Tensor): Promise<Tensor> {
    if (this.training) {
      const train = await this.trainPlan(x.shape);
      const out = train.run([x.dataSync()]);
      const generation = train.generation;
      return new Tensor(out, train.outputShape, { gradFn: (g) => train.backward(g, generation) });
    }
    const plan = await this.plan(x.shape);
    const [out] = plan.run([x.dataSync()]);
    return new Tensor(out, plan.outputShapes[0]);
  }

  /** Frees every compiled plan's memory in the backend. */
  releasePlans(): void {
    for (const { plan } of this.plans) plan.dispose();
    this.plans = [];
    for (const plan of this.trainPlans) plan.dispose();
    this.trainPlans = [];
  }
}

/** Joins a state-dict prefix and a child name ('' + 'conv1' → 'conv1'; 'features.' handled by callers). */
export function childPath(path: string, name: string): string {
  return path ? `${path}.${name}` : name;
}
