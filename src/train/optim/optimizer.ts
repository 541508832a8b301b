// Optimizer base shaped like torch.optim.Optimizer: param groups with their own hyperparameters,
// per-parameter state, zeroGrad/step, and a state dict for checkpoints. Every update runs as a kernel of
// the backend whose memory holds the parameter (its layer's backend once a model ran; the reference
// backend for parameters no model placed), on the parameter, its gradient and its state in place.
import { ArgumentError, StateDictError } from '../../core/errors.js';
import { Parameter } from '../../core/parameter.js';
import type { Backend, DeviceMemory, UpdateKernels } from '../../backends/backend.js';
import { hostBackend, ownerOf, registerMemoryOwner } from '../../backends/host.js';
import { getBackend, type WasmBuild } from '../../backends/registry.js';

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

/** Per-parameter state: the step count and named buffers, in the parameter's device memory once it has stepped. */
export interface ParamState {
  step: number;
  /** Buffers that exist (torch creates them on the first step that uses them). */
  has: Set<string>;
  /** Buffers held on the host (loaded from a state dict, or moved off a device). */
  host: Map<string, Float32Array>;
  /** Buffers in device memory: the memory and each buffer's offset. */
  device: { memory: DeviceMemory; bufs: Map<string, number> } | null;
}

/** What an update kernel call needs: the parameter's, gradient's and buffers' offsets in one memory. */
export interface UpdateTarget {
  updates: UpdateKernels;
  p: number;
  g: number;
  buf(name: string): number;
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
  /** One update of `n` floats through the target's kernels. */
  protected abstract update(group: ParamGroup<H>, st: ParamState, target: UpdateTarget, n: number): void;

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
  }

  /** Parameters that get updated: trainable, not buffers (running statistics never are). */
  private trainable(group: ParamGroup<H>): Parameter[] {
    return group.params.filter((p) => !p.isBuffer && p.requiresGrad);
  }

  /**
   * Clears every gradient. Default (setToNone = false, torch 1.13's default) keeps them as zeros without
   * writing memory (the next backward pass writes instead of adding), so a warm step allocates nothing;
   * `zeroGrad(true)` sets them to null like torch ≥ 2.0 (a parameter left without a gradient is skipped by `step`).
   */
  zeroGrad(setToNone = false): void {
    for (const group of this.paramGroups) {
      for (const p of group.params) {
        if (setToNone) p.grad = null;
        else p.zeroGrad();
      }
    }
  }

  /** One update of every trainable parameter that has a gradient; parameters without one are skipped. */
  step(): void {
    for (const group of this.paramGroups) {
      // A schedule may legitimately reach 0 (cosine to etaMin = 0); only the user's lr must be > 0.
      if (!(group.lr >= 0 && Number.isFinite(group.lr))) {
        throw new ArgumentError(
          `${this.name}: learning rate is ${group.lr} at step time (a schedule or a param group set it); it must be finite and ≥ 0`,
        );
      }
      for (const p of this.trainable(group)) {
        if (!p.hasGrad) continue;
        const memory = p.memory ?? hostBackend().memory;
        const backend = ownerOf(memory);
        const pPtr = p.deviceValues(memory);
        const gPtr = p.deviceGrad(memory);
        const st = this.stateOf(p, group);
        const bufs = this.deviceState(st, p, group, memory);
        st.step++;
        const target: UpdateTarget = {
          updates: backend.updates,
          p: pPtr,
          g: gPtr,
          buf: (name) => {
            const ptr = bufs.get(name);
            if (ptr === undefined) throw new ArgumentError(`${this.name}: no '${name}' state`);
            return ptr;
          },
        };
        this.update(group, st, target, p.size);
        p.markDeviceChanged();
      }
    }
  }

  protected stateOf(p: Parameter, group: ParamGroup<H>): ParamState {
    let st = this.state.get(p);
    if (!st) {
      st = { step: 0, has: new Set(), host: new Map(), device: null };
      this.state.set(p, st);
    }
    for (const name of this.bufferNames(group)) {
      if (st.device && !st.device.bufs.has(name)) {
        throw new ArgumentError(
          `${this.name}: state '${name}' was not allocated for this parameter (an option changed after the first step)`,
        );
      }
    }
    return st;
  }

  /**
   * The state buffers in `memory` (the parameter's): allocated on its first step there from the host copy
   * (zeros when none), moved when the parameter moved to another memory.
   */
  private deviceState(st: ParamState, p: Parameter, group: ParamGroup<H>, memory: DeviceMemory): Map<string, number> {
    if (st.device?.memory === memory) return st.device.bufs;
    this.parkOnHost(st, p.size);
    const bufs = new Map<string, number>();
    for (const name of this.bufferNames(group)) {
      const ptr = memory.alloc(4 * p.size);
      const host = st.host.get(name);
      if (host) memory.upload(ptr, host);
      else memory.fill(ptr, p.size, 0);
      bufs.set(name, ptr);
    }
    st.host.clear();
    st.device = { memory, bufs };
    return bufs;
  }

  /** Moves a parameter's state buffers from device memory to the host and frees them there. */
  private parkOnHost(st: ParamState, n: number): void {
    const dev = st.device;
    if (!dev) return;
    for (const [name, ptr] of dev.bufs) {
      st.host.set(name, readBack(dev.memory, ptr, n));
      dev.memory.free(ptr);
    }
    st.device = null;
  }

  /** A copy of one state buffer's values, wherever it lives. */
  private bufferValues(st: ParamState, name: string, n: number): Float32Array {
    const ptr = st.device?.bufs.get(name);
    if (st.device && ptr !== undefined) return readBack(st.device.memory, ptr, n);
    const host = st.host.get(name);
    if (!host) throw new ArgumentError(`${this.name}: no '${name}' state`);
    return host.slice();
  }

  /**
   * Moves the parameters (and, at the next step, their state) to a backend's memory: 'wasm' (optionally a
   * build), 'reference', or a Backend. A compiled model does this itself for the layers it places.
   */
  async to(backend: string | Backend, options: { build?: WasmBuild } = {}): Promise<this> {
    const target = typeof backend === 'string' ? await getBackend(backend, options) : backend;
    registerMemoryOwner(target);
    for (const group of this.paramGroups) for (const p of group.params) p.deviceValues(target.memory);
    return this;
  }

  /** Where the updates of the first parameter run: 'reference' (also before any placement) or 'wasm:<build>'. */
  get device(): string {
    const memory = this.paramGroups.flatMap((g) => g.params)[0]?.memory ?? hostBackend().memory;
    const info = ownerOf(memory).info();
    return info.build ? `${info.name}:${info.build}` : info.name;
  }

  /**
   * Frees the optimizer's device buffers (the state is kept on the host). State on a device the host cannot
   * map (WebGPU) must be brought home first: `await optimizer.syncToHost()`, or `disposeAsync()`.
   */
  dispose(): void {
    for (const [p, st] of this.state) this.parkOnHost(st, p.size);
  }

  /**
   * Drops state held on a lost device (WebGPU) without reading it: its memory is gone. Returns false when
   * some was dropped — restore a saved `stateDict()` before stepping again, or those parameters restart
   * from zero momentum.
   */
  forgetLostDevices(): boolean {
    let intact = true;
    for (const st of this.state.values()) {
      if (!st.device || !ownerOf(st.device.memory).deviceLost) continue;
      st.device = null;
      st.host.clear();
      intact = false;
    }
    return intact;
  }

  /** `dispose` for every memory: state on a GPU is downloaded first. */
  async disposeAsync(): Promise<void> {
    await this.syncToHost();
    this.dispose();
  }

  /**
   * Downloads state held in memories without readSync (WebGPU) into host copies and frees the device buffers,
   * so `stateDict()` and `dispose()` work; the next step uploads it again.
   */
  async syncToHost(): Promise<void> {
    for (const [p, st] of this.state) {
      const dev = st.device;
      if (!dev || dev.memory.readSync) continue;
      for (const [name, ptr] of dev.bufs) {
        st.host.set(name, await dev.memory.download(ptr, p.size));
        dev.memory.free(ptr);
      }
      st.device = null;
    }
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
          for (const name of st.has) buffers[name] = this.bufferValues(st, name, p.size);
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
        if (values.length !== p.size) {
          throw new StateDictError(
            `${this.name}.loadStateDict: '${name}' of parameter ${key} has ${values.length} values, the parameter ${p.size}`,
          );
        }
      }
    }
    for (const [i, group] of this.paramGroups.entries()) {
      const { params: _ids, ...hyper } = sd.paramGroups[i];
      Object.assign(group, hyper);
    }
    for (const [p, st] of this.state) this.parkOnHost(st, p.size);
    this.state.clear();
    for (const [key, entry] of Object.entries(sd.state)) {
      const p = all[Number(key)];
      const group = this.paramGroups.find((g) => g.params.includes(p)) as ParamGroup<H>;
      const st = this.stateOf(p, group);
      st.step = entry.step;
      st.has = new Set(Object.keys(entry.buffers));
      for (const [name, values] of Object.entries(entry.buffers)) st.host.set(name, Float32Array.from(values));
    }
  }
}

function readBack(memory: DeviceMemory, ptr: number, n: number): Float32Array {
  if (!memory.readSync) {
    throw new StateDictError(
      'optimizer state lives on a device the host cannot read synchronously (webgpu): await optimizer.syncToHost() first',
    );
  }
  return memory.readSync(ptr, n);
}
