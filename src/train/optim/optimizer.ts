// Optimizer base shaped like torch.optim.Optimizer: param groups with their own hyperparameters,
// per-parameter state, zeroGrad/step, and a state dict for checkpoints. Updates run on the host
// (TypeScript oracle, the reference backend) or as wasm kernels (see runtime.ts) after `await opt.to('wasm')`.
import { ArgumentError, StateDictError } from '../../core/errors.js';
import { Parameter } from '../../core/parameter.js';
import type { Backend } from '../../backends/backend.js';
import type { WasmBuild } from '../../backends/registry.js';
import { type OptimRuntime, optimRuntime } from './runtime.js';

export interface GroupBase {
  lr: number;
  /** Set by LR schedules (torch's 'initial_lr'). */
  initialLr?: number;
  [key: string]: unknown;
}

export type ParamGroup<H extends GroupBase> = H & { params: Parameter[] };

/** A param group as passed to a constructor: its parameters plus any hyperparameter overrides. */
export type ParamGroupSpec<H> = Partial<H> & { params: Iterable<Parameter> };

export type ParamsArg<H> = Iterable<Parameter> | ParamGroupSpec<H>[];

/** Per-parameter state: the step count and named buffers (present once created). */
export interface ParamState {
  step: number;
  /** Buffers that exist; their values live on the host or in the optimizer's wasm region. */
  has: Set<string>;
  host: Map<string, Float32Array>;
  /** wasm only: pointers of p, g and each buffer (by name) in the region, and the version copied in. */
  ptr?: { p: number; g: number; bufs: Map<string, number> };
  syncedVersion?: number;
}

export interface OptimizerStateDict {
  state: Record<number, { step: number; buffers: Record<string, Float32Array> }>;
  paramGroups: Record<string, unknown>[];
}

function isGroupSpecs<H>(params: ParamsArg<H>): params is ParamGroupSpec<H>[] {
  return Array.isArray(params) && params.length > 0 && !(params[0] instanceof Parameter);
}

export function checkLr(lr: unknown, what: string): void {
  if (typeof lr !== 'number' || !(lr > 0) || !Number.isFinite(lr)) {
    throw new ArgumentError(`${what}: learning rate must be a finite number > 0, got ${String(lr)}`);
  }
}

export abstract class Optimizer<H extends GroupBase> {
  readonly paramGroups: ParamGroup<H>[] = [];
  readonly defaults: H;
  protected readonly state = new Map<Parameter, ParamState>();
  private runtime: OptimRuntime | null = null;
  private region: { ptr: number; params: Parameter[] } | null = null;
  /** True once `to()` chose where the updates run (the trainer then leaves the choice alone). */
  backendChosen = false;

  protected constructor(
    readonly name: string,
    params: ParamsArg<H>,
    defaults: H,
  ) {
    this.defaults = defaults;
    this.validate(defaults);
    if (isGroupSpecs(params)) for (const spec of params) this.addParamGroup(spec);
    else this.addParamGroup({ params } as ParamGroupSpec<H>);
    if (this.paramGroups.every((g) => g.params.length === 0)) throw new ArgumentError(`${name}: got an empty parameter list`);
  }

  /** Checks a group's hyperparameters (ArgumentError naming the bad one). */
  protected abstract validate(h: H): void;
  /** The state buffers a parameter of this group needs (names as in the state dict). */
  protected abstract bufferNames(group: ParamGroup<H>): string[];
  protected abstract updateHost(group: ParamGroup<H>, st: ParamState, p: Float32Array, g: Float32Array, n: number): void;
  protected abstract updateWasm(group: ParamGroup<H>, st: ParamState, runtime: OptimRuntime, n: number): void;

  /** torch's add_param_group: hyperparameters not given come from the defaults. */
  addParamGroup(spec: ParamGroupSpec<H>): void {
    const params = [...spec.params];
    const seen = new Set(this.paramGroups.flatMap((g) => g.params));
    for (const p of params) {
      if (!(p instanceof Parameter)) throw new ArgumentError(`${this.name}: params must be Parameters`);
      if (seen.has(p)) throw new ArgumentError(`${this.name}: a parameter appears in more than one group`);
      seen.add(p);
    }
    const group = { ...this.defaults, ...spec, params } as ParamGroup<H>;
    this.validate(group);
    this.paramGroups.push(group);
    if (this.region) this.moveState(() => this.releaseRegion());
  }

  /** Parameters that get updated: trainable, not buffers (running statistics never are). */
  private trainable(group: ParamGroup<H>): Parameter[] {
    return group.params.filter((p) => !p.isBuffer && p.requiresGrad);
  }

  /**
   * Clears every gradient. Default (setToNone = false, torch 1.13's default) zeroes the arrays in place,
   * so a warm step allocates nothing; `zeroGrad(true)` sets them to null like torch ≥ 2.0 (the backward
   * then allocates fresh arrays, and a parameter left without a gradient is skipped by `step`).
   */
  zeroGrad(setToNone = false): void {
    for (const group of this.paramGroups) {
      for (const p of group.params) {
        if (setToNone) p.grad = null;
        else p.grad?.fill(0);
      }
    }
  }

  /** One update of every trainable parameter that has a gradient; parameters without one are skipped. */
  step(): void {
    const runtime = this.runtime;
    if (runtime && !this.region) this.allocateRegion(runtime);
    for (const group of this.paramGroups) {
      // A schedule may legitimately reach 0 (cosine to etaMin = 0); only the user's lr must be > 0.
      if (!(group.lr >= 0 && Number.isFinite(group.lr))) {
        throw new ArgumentError(
          `${this.name}: learning rate is ${group.lr} at step time (a schedule or a param group set it); it must be finite and ≥ 0`,
        );
      }
      for (const p of this.trainable(group)) {
        const g = p.grad;
        if (!g) continue;
        const n = p.values.length;
        if (g.length !== n) throw new ArgumentError(`${this.name}: a gradient has ${g.length} values, its parameter ${n}`);
        const st = this.stateOf(p, group);
        st.step++;
        if (runtime && st.ptr) {
          const { arena } = runtime;
          if (st.syncedVersion !== p.version) arena.f32(st.ptr.p, n).set(p.values);
          arena.f32(st.ptr.g, n).set(g);
          this.updateWasm(group, st, runtime, n);
          p.values.set(arena.f32(st.ptr.p, n));
        } else {
          this.updateHost(group, st, p.values, g, n);
        }
        p.markChanged();
        st.syncedVersion = p.version;
      }
    }
  }

  protected stateOf(p: Parameter, group: ParamGroup<H>): ParamState {
    let st = this.state.get(p);
    if (!st) {
      st = { step: 0, has: new Set(), host: new Map() };
      this.state.set(p, st);
    }
    for (const name of this.bufferNames(group)) {
      if (st.ptr && !st.ptr.bufs.has(name)) {
        throw new ArgumentError(
          `${this.name}: state '${name}' was not allocated for this parameter (an option changed after the first step)`,
        );
      }
      if (!st.ptr && !st.host.has(name)) st.host.set(name, new Float32Array(p.values.length));
    }
    return st;
  }

  /** A state buffer's values (a live view: read it before the next step). */
  protected buffer(st: ParamState, name: string, n: number): Float32Array {
    if (st.ptr && this.runtime) {
      const ptr = st.ptr.bufs.get(name);
      if (ptr === undefined) throw new ArgumentError(`${this.name}: no '${name}' state`);
      return this.runtime.arena.f32(ptr, n);
    }
    const host = st.host.get(name);
    if (!host) throw new ArgumentError(`${this.name}: no '${name}' state`);
    return host;
  }

  private allocateRegion(runtime: OptimRuntime): void {
    const layout: { p: Parameter; group: ParamGroup<H>; offset: number }[] = [];
    let floats = 0;
    for (const group of this.paramGroups) {
      const bufs = this.bufferNames(group).length;
      for (const p of this.trainable(group)) {
        layout.push({ p, group, offset: floats });
        // Keep every block 16-byte aligned for the SIMD loads.
        const n = (p.values.length + 3) & ~3;
        floats += n * (2 + bufs);
      }
    }
    const ptr = runtime.arena.alloc(floats * 4);
    const params: Parameter[] = [];
    for (const { p, group, offset } of layout) {
      const n = (p.values.length + 3) & ~3;
      let at = ptr + offset * 4;
      const st: ParamState = this.state.get(p) ?? { step: 0, has: new Set<string>(), host: new Map() };
      const ptrs = { p: at, g: at + n * 4, bufs: new Map<string, number>() };
      at += 2 * n * 4;
      for (const name of this.bufferNames(group)) {
        ptrs.bufs.set(name, at);
        const host = st.host.get(name);
        if (host) runtime.arena.f32(at, p.values.length).set(host);
        else runtime.arena.f32(at, p.values.length).fill(0);
        at += n * 4;
      }
      st.host.clear();
      st.ptr = ptrs;
      st.syncedVersion = undefined;
      this.state.set(p, st);
      params.push(p);
    }
    this.region = { ptr, params };
  }

  private releaseRegion(): void {
    if (!this.region || !this.runtime) return;
    this.runtime.arena.release(this.region.ptr);
    this.region = null;
  }

  /** Runs `change` with the state parked in a state dict, then loads it back (where it now lives). */
  private moveState(change: () => void): void {
    const sd = this.stateDict();
    this.state.clear();
    change();
    this.loadStateDict(sd);
  }

  /**
   * Where the updates run: 'wasm' (optionally a build) or a wasm Backend runs them as kernels in a region
   * of a wasm module's memory; 'reference' (or a reference Backend) runs the TypeScript loops. State moves along.
   */
  async to(backend: 'reference' | 'wasm' | Backend, options: { build?: WasmBuild } = {}): Promise<this> {
    const name = typeof backend === 'string' ? backend : backend.name;
    let build = options.build;
    if (typeof backend !== 'string' && backend.name === 'wasm') build = (backend.info().build as WasmBuild | undefined) ?? build;
    const next = name === 'wasm' ? await optimRuntime(build ?? (await bestBuild())) : null;
    this.backendChosen = true;
    if (next === this.runtime) return this;
    this.moveState(() => {
      this.releaseRegion();
      this.runtime = next;
    });
    return this;
  }

  /** Where updates run now: 'reference' or 'wasm:<build>'. */
  get device(): string {
    return this.runtime ? `wasm:${this.runtime.build}` : 'reference';
  }

  /** Frees the optimizer's wasm region (state is kept on the host). */
  dispose(): void {
    this.moveState(() => {
      this.releaseRegion();
      this.runtime = null;
    });
  }

  /** Copies of the per-parameter state and the group hyperparameters; params are indices over all groups. */
  stateDict(): OptimizerStateDict {
    const state: OptimizerStateDict['state'] = {};
    const paramGroups: Record<string, unknown>[] = [];
    let index = 0;
    for (const group of this.paramGroups) {
      const { params, ...hyper } = group;
      const ids: number[] = [];
      for (const p of params) {
        const st = this.state.get(p);
        if (st && st.step > 0) {
          const buffers: Record<string, Float32Array> = {};
          for (const name of st.has) buffers[name] = this.buffer(st, name, p.values.length).slice();
          state[index] = { step: st.step, buffers };
        }
        ids.push(index++);
      }
      paramGroups.push({ ...hyper, params: ids });
    }
    return { state, paramGroups };
  }

  /** Restores a state dict from `stateDict()` of an optimizer over parameters of the same shapes. */
  loadStateDict(sd: OptimizerStateDict): void {
    if (sd.paramGroups.length !== this.paramGroups.length) {
      throw new StateDictError(
        `${this.name}.loadStateDict: ${sd.paramGroups.length} param groups, the optimizer has ${this.paramGroups.length}`,
      );
    }
    const all = this.paramGroups.flatMap((g) => g.params);
    for (const [i, group] of this.paramGroups.entries()) {
      const ids = sd.paramGroups[i].params as number[];
      if (!Array.isArray(ids) || ids.length !== group.params.length) {
        throw new StateDictError(
          `${this.name}.loadStateDict: group ${i} has ${ids?.length} params, the optimizer's has ${group.params.length}`,
        );
      }
    }
    for (const [key, entry] of Object.entries(sd.state)) {
      const p = all[Number(key)];
      if (!p) throw new StateDictError(`${this.name}.loadStateDict: state for parameter ${key}, the optimizer has ${all.length}`);
      for (const [name, values] of Object.entries(entry.buffers)) {
        if (values.length !== p.values.length) {
          throw new StateDictError(
            `${this.name}.loadStateDict: '${name}' of parameter ${key} has ${values.length} values, the parameter ${p.values.length}`,
          );
        }
      }
    }
    for (const [i, group] of this.paramGroups.entries()) {
      const { params: _ids, ...hyper } = sd.paramGroups[i];
      Object.assign(group, hyper);
    }
    for (const [key, entry] of Object.entries(sd.state)) {
      const p = all[Number(key)];
      const group = this.paramGroups.find((g) => g.params.includes(p)) as ParamGroup<H>;
      const st = this.stateOf(p, group);
      st.step = entry.step;
      st.has = new Set(Object.keys(entry.buffers));
      for (const [name, values] of Object.entries(entry.buffers)) {
        if (!st.ptr && !st.host.has(name)) st.host.set(name, new Float32Array(values.length));
        this.buffer(st, name, values.length).set(values);
      }
      st.syncedVersion = undefined;
    }
  }
}

async function bestBuild(): Promise<WasmBuild> {
  const { detectFeatures } = await import('../../backends/wasm/loader.js');
  const f = await detectFeatures();
  return f.relaxedSimd ? 'relaxed' : f.simd ? 'simd' : 'scalar';
}
