/// <reference types="@webgpu/types" />
import { VireoError } from '../../core/errors.js';
import type { GpuMemory } from './memory.js';
import type { GpuQueue } from './queue.js';

/** Threads per workgroup for every elementwise-style pass (one invocation per output value). */
export const WG = 64;

/**
 * One compute pass of a kernel: `body` defines `fn body(i: u32)`, run for i in [0, threads). It reads and
 * writes the memory as `m[...]` (f32 indices) and its uniforms as `u.<field>` (u32; floats via bitcast).
 * The pipeline cache is keyed by the source text, so shapes travel as uniforms (`u.H`, `u.OW`, …): two
 * kernels that differ only in shape share one pipeline. The thread count itself is a uniform the program
 * adds (`u.threads<k>` for pass k), so it never enters the source either.
 */
export interface Pass {
  body: string;
  threads: number;
}

/**
 * A pass that brings its own entry point (the tiled kernels: a 2-D workgroup, workgroup memory):
 * `code` defines `@compute fn main(...)`; `groups` is the workgroup grid [x, y, z]. WebGPU allows a
 * z dimension, but the queue records 2-D dispatches, so z is folded into y: the shader decodes
 * `wid.y % u.GY` and `wid.y / u.GY` itself (see `foldedGroups`; the kernel supplies the uniform GY).
 */
export interface TiledPass {
  code: string;
  groups: readonly [number, number, number];
}

export type AnyPass = Pass | TiledPass;

/** WGSL that splits a folded workgroup id back into (x, y, z); u.GY is the grid's y extent (a uniform). */
export const foldedGroups = `fn gridY(wid: vec3u) -> u32 { return wid.y % u.GY; }
fn gridZ(wid: vec3u) -> u32 { return wid.y / u.GY; }`;

/** What every kernel shares on one device: the queue, the memory, the bind group layout and the pipeline cache. */
export interface GpuContext {
  device: GPUDevice;
  queue: GpuQueue;
  memory: GpuMemory;
  layout: GPUBindGroupLayout;
  pipelineLayout: GPUPipelineLayout;
  pipelines: Map<string, Promise<GPUComputePipeline>>;
  /** Pipelines compiled synchronously (update kernels), by source: one per source, shared by every parameter. */
  syncPipelines: Map<string, GPUComputePipeline>;
  /** Pipelines compiled on this device so far (both caches): what sharing by source saves shows here. */
  compiled: number;
  maxGroups: number;
}

export function createContext(device: GPUDevice, queue: GpuQueue, memory: GpuMemory, maxGroups: number): GpuContext {
  const layout = device.createBindGroupLayout({
    entries: [
      { binding: 0, visibility: 4, buffer: { type: 'storage' } },
      { binding: 1, visibility: 4, buffer: { type: 'uniform' } },
    ],
  });
  const pipelineLayout = device.createPipelineLayout({ bindGroupLayouts: [layout] });
  return {
    device,
    queue,
    memory,
    layout,
    pipelineLayout,
    pipelines: new Map(),
    syncPipelines: new Map(),
    compiled: 0,
    maxGroups,
  };
}

/** The uniform holding pass k's thread count (a `Pass` reads it as its bound). */
const threadsField = (k: number): string => `threads${k}`;

function source(fields: readonly string[], pass: AnyPass, k: number): string {
  const members = (fields.length ? fields : ['unused']).map((f) => `  ${f}: u32,`).join('\n');
  const header = `@group(0) @binding(0) var<storage, read_write> m: array<f32>;
struct U {
${members}
}
@group(0) @binding(1) var<uniform> u: U;
`;
  if ('code' in pass) return `${header}${pass.code}\n`;
  return `${header}${pass.body}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * ${WG}u;
  if (i >= u.${threadsField(k)}) { return; }
  body(i);
}
`;
}

/** A pipeline for this source on this device: compiled once (asynchronously), shared by every kernel that asks. */
function pipeline(ctx: GpuContext, code: string, label: string, sync: boolean): Promise<GPUComputePipeline> {
  let p = ctx.pipelines.get(code);
  if (!p) {
    const module = ctx.device.createShaderModule({ code, label });
    const desc: GPUComputePipelineDescriptor = { layout: ctx.pipelineLayout, compute: { module, entryPoint: 'main' }, label };
    p = sync ? Promise.resolve(ctx.device.createComputePipeline(desc)) : ctx.device.createComputePipelineAsync(desc);
    p.catch(() => ctx.pipelines.delete(code));
    ctx.pipelines.set(code, p);
    ctx.compiled++;
  }
  return p;
}

/** A float's bits as a u32 uniform (WGSL reads it back with bitcast<f32>). */
export function f32bits(x: number): number {
  const f = new Float32Array([x]);
  return new Uint32Array(f.buffer)[0];
}

/**
 * A kernel's passes, bound once: one uniform buffer (written only when its values change, i.e. normally
 * once per plan), one bind group per memory generation, pipelines compiled at plan time. `ready` settles
 * when every pipeline is compiled; the asynchronous executor path awaits it before the first run.
 */
export class GpuProgram {
  readonly ready: Promise<void>;
  private pipes: GPUComputePipeline[] | null = null;
  private failed: unknown = null;
  private readonly uniform: GPUBuffer;
  private bindGroup: GPUBindGroup | null = null;
  private generation = -1;
  private last: Uint32Array;
  private readonly fieldCount: number;
  private readonly groups: [number, number][];
  /** The thread counts of the `Pass`es, written after the caller's values (fields `threads<k>`). */
  private readonly threads: number[];
  /** The queue's submit count when this program last recorded a dispatch (-1: never). */
  private dispatchedAt = -1;

  constructor(
    private readonly ctx: GpuContext,
    private readonly label: string,
    fields: readonly string[],
    passes: readonly AnyPass[],
    /** Compile synchronously (update kernels, made mid-step by an optimizer that cannot wait). */
    sync = false,
  ) {
    this.threads = passes.flatMap((p) => ('code' in p ? [] : [p.threads]));
    const allFields = [...fields, ...passes.flatMap((p, k) => ('code' in p ? [] : [threadsField(k)]))];
    this.fieldCount = fields.length;
    this.last = new Uint32Array(Math.max(4, Math.ceil(Math.max(allFields.length, 1) / 4) * 4));
    this.last.fill(0xffffffff);
    this.uniform = ctx.device.createBuffer({ size: 4 * this.last.length, usage: 0x40 | 0x08, label: `${label} uniforms` });
    this.groups = passes.map((p) => {
      if ('code' in p) {
        const [x, y, z] = p.groups;
        if (x > ctx.maxGroups || y * z > ctx.maxGroups) {
          throw new VireoError(`webgpu: ${label}: ${x}×${y * z} workgroups exceed the device limit ${ctx.maxGroups}`);
        }
        return [x, y * z];
      }
      const groups = Math.max(1, Math.ceil(p.threads / WG));
      const x = Math.min(groups, ctx.maxGroups);
      return [x, Math.ceil(groups / x)];
    });
    if (sync) {
      this.pipes = passes.map((p, k) => {
        const code = source(allFields, p, k);
        let made = ctx.syncPipelines.get(code);
        if (!made) {
          made = ctx.device.createComputePipeline({
            layout: ctx.pipelineLayout,
            compute: { module: ctx.device.createShaderModule({ code, label }), entryPoint: 'main' },
            label,
          });
          ctx.syncPipelines.set(code, made);
          ctx.compiled++;
        }
        return made;
      });
    }
    this.ready = sync
      ? Promise.resolve()
      : Promise.all(passes.map((p, k) => pipeline(ctx, source(allFields, p, k), label, false))).then(
          (pipes) => {
            this.pipes = pipes;
          },
          (e) => {
            this.failed = e;
            throw new VireoError(`webgpu: ${label}: pipeline failed to compile: ${(e as Error).message}`);
          },
        );
    this.ready.catch(() => {});
  }

  /** Records the passes with these uniform values (offsets in floats, sizes, float bits), one per field. */
  run(values: readonly number[]): void {
    if (!this.pipes) {
      if (this.failed) throw new VireoError(`webgpu: ${this.label}: pipeline failed to compile`);
      throw new VireoError(
        `webgpu: ${this.label}: pipelines not compiled yet (the GPU path runs through the async run: await plan.runAsync)`,
      );
    }
    if (values.length !== this.fieldCount) {
      throw new VireoError(`webgpu: ${this.label}: ${values.length} uniform values for ${this.fieldCount} fields`);
    }
    let changed = false;
    const set = (k: number, v: number) => {
      if (this.last[k] !== v >>> 0) {
        this.last[k] = v >>> 0;
        changed = true;
      }
    };
    for (let k = 0; k < values.length; k++) set(k, values[k]);
    for (let k = 0; k < this.threads.length; k++) set(values.length + k, this.threads[k]);
    if (changed) {
      // queue.writeBuffer is ordered only against submitted work: flush only when a dispatch of *this*
      // program is still unsubmitted (it would read the new values). Otherwise the write goes straight in,
      // so an optimizer step writing one uniform buffer per parameter costs no submit per parameter.
      if (this.dispatchedAt === this.ctx.queue.submits) this.ctx.queue.flush();
      this.ctx.device.queue.writeBuffer(this.uniform, 0, this.last.buffer, 0, this.last.byteLength);
    }
    const memory = this.ctx.memory;
    if (!this.bindGroup || this.generation !== memory.generation) {
      this.bindGroup = this.ctx.device.createBindGroup({
        layout: this.ctx.layout,
        entries: [
          { binding: 0, resource: { buffer: memory.buffer } },
          { binding: 1, resource: { buffer: this.uniform } },
        ],
      });
      this.generation = memory.generation;
    }
    this.pipes.forEach((p, k) => {
      const [x, y] = this.groups[k];
      this.ctx.queue.dispatch(p, this.bindGroup as GPUBindGroup, x, y);
    });
    this.dispatchedAt = this.ctx.queue.submits;
  }

  dispose(): void {
    this.uniform.destroy();
  }
}

/** Byte offsets to f32 indices (every region is at least 4-byte aligned). */
export const f = (ptr: number): number => ptr >>> 2;
