import { Parameter } from '../core/parameter.js';
import { type Shape, sizeOf } from '../core/shape.js';
import type { Backend } from '../backends/backend.js';
import { Graph, type GraphNode } from '../graph/ir.js';
import { Plan } from '../graph/plan.js';

/**
 * Measured costs on this device: each distinct (op, attributes, shapes) on each candidate backend, and the
 * cost of moving bytes between backends (and the host) as latency + bytes / bandwidth.
 */

/** What identifies a kernel's cost: op, attributes (random state left out), input, output and parameter shapes. */
export function nodeKey(node: GraphNode, inputShapes: readonly Shape[], outputShape: Shape): string {
  const attrs = JSON.stringify(node.attrs, (k, v) => (k === 'generator' || k === 'seed' ? undefined : v));
  const params = Object.entries(node.params)
    .map(([k, p]) => `${k}[${p.shape.join(',')}]`)
    .join(';');
  return `${node.op}|${attrs}|${inputShapes.map((s) => s.join('x')).join(',')}->${outputShape.join('x')}|${params}`;
}

/**
 * A parameter of the same shape and kind with deterministic values: calibration never binds or changes the
 * model's own. Weights are scaled by 1/√fan-in so activations keep their size through a deep plan (no
 * overflow, no denormals to slow a kernel down); buffers (running statistics) are positive, so a batch
 * norm's running variance never turns the rest of an eval plan into NaN.
 */
export function freshParameter(p: Parameter): Parameter {
  const values = new Float32Array(p.size);
  const scale = 1 / Math.sqrt(p.shape.length > 1 ? p.size / p.shape[0] : 1);
  for (let i = 0; i < values.length; i++) {
    const base = ((i * 7919) % 1000) / 1000 - 0.5;
    values[i] = p.isBuffer ? 0.5 + Math.abs(base) : base * scale;
  }
  return new Parameter(p.shape, { values, isBuffer: p.isBuffer, requiresGrad: p.requiresGrad, dtype: p.dtype });
}

/** Deterministic calibration input values in [-1, 1]. */
export function calibrationInput(shape: Shape): Float32Array {
  const a = new Float32Array(sizeOf(shape));
  for (let i = 0; i < a.length; i++) a[i] = ((i * 104729) % 2001) / 1000 - 1;
  return a;
}

/**
 * Where a host candidate's time for a node measured inside a training step is cached (`nodeKey`'s, marked):
 * there a forward node runs with batch statistics, keeps its activations and follows its weights' repack after
 * an update, so it costs more than in a forward plan, under the same nodeKey. Kept apart, neither calibration
 * overwrites the other's, and a forward estimate never carries a training step's costs.
 */
export function trainingKey(key: string): string {
  return `train|${key}`;
}

/**
 * A plan of `node` alone on `backend`, with fresh parameters of the same shapes and deterministic inputs.
 * Attributes are copied so a dropout layer's generator does not advance. `dispose` (`disposeAsync` on a GPU)
 * frees the plan and the parameters.
 */
export function singleNodePlan(
  node: GraphNode,
  inputShapes: readonly Shape[],
  backend: Backend,
): { plan: Plan; data: Float32Array[]; dispose(): void; disposeAsync(): Promise<void> } {
  const g = new Graph();
  const inputs = inputShapes.map(() => g.addInput());
  const params: Record<string, Parameter> = {};
  for (const [k, p] of Object.entries(node.params)) params[k] = freshParameter(p);
  g.outputs = [g.addNode(node.op, node.name, structuredClone(node.attrs) as never, inputs, params)];
  const data = inputShapes.map(calibrationInput);
  const plan = new Plan(g, inputShapes, backend);
  return {
    plan,
    data,
    dispose() {
      plan.dispose();
      for (const p of Object.values(params)) p.unbind();
    },
    /** For a GPU memory: a kernel may have changed a parameter there (running statistics), which unbinding reads back. */
    async disposeAsync() {
      plan.dispose();
      for (const p of Object.values(params)) await p.syncToHost();
      for (const p of Object.values(params)) p.unbind();
    },
  };
}

/**
 * ms of one run of `node` alone on a host-mappable `backend`: the kernel step's median time over `reps` runs
 * after a warm-up. Only for a candidate that cannot run the model's whole plan (calibrate-plan.ts says why
 * that is preferred): each run here starts with the host writing the inputs, so a thread pool's workers may
 * have gone to sleep and the step pays their wake-up, which a step inside a plan does not.
 */
export function timeNode(node: GraphNode, inputShapes: readonly Shape[], backend: Backend, reps = 5): number {
  const { plan, data, dispose } = singleNodePlan(node, inputShapes, backend);
  try {
    plan.run(data); // warm-up: packing, first-touch of memory
    const times: number[] = [];
    for (let r = 0; r < reps; r++) {
      const { layers } = plan.runProfiled(data);
      times.push(layers.filter((l) => l.op === node.op).reduce((a, l) => a + l.ms, 0));
    }
    times.sort((a, b) => a - b);
    return times[times.length >> 1];
  } finally {
    dispose();
  }
}

/** Copy cost model between two places (a backend, or the host): fixed latency plus bytes over bandwidth. */
export interface CopyCost {
  latencyMs: number;
  msPerByte: number;
}

export function copyMs(c: CopyCost, bytes: number): number {
  return c.latencyMs + c.msPerByte * bytes;
}

/** Times moving `bytes` from one memory to another through the host (readback included) at two sizes and fits the line. */
export function timeCopy(from: Backend | null, to: Backend | null): CopyCost {
  const sizes = [1 << 12, 1 << 22];
  const ms = sizes.map((bytes) => {
    const n = bytes / 4;
    const src = from ? from.memory.alloc(bytes) : -1;
    const dst = to ? to.memory.alloc(bytes) : -1;
    const host = new Float32Array(n);
    try {
      const once = () => {
        const values = from ? (from.memory.readSync?.(src, n) ?? host) : host;
        if (to) to.memory.upload(dst, values);
      };
      once();
      const times: number[] = [];
      for (let r = 0; r < 5; r++) {
        const t0 = performance.now();
        once();
        times.push(performance.now() - t0);
      }
      times.sort((a, b) => a - b);
      return times[2];
    } finally {
      if (from) from.memory.free(src);
      if (to) to.memory.free(dst);
    }
  });
  return fitCopyLine(sizes, ms);
}

/** The line through two (bytes, ms) points, clamped so neither latency nor cost per byte is negative (also used with floats for sizes). */
export function fitCopyLine(sizes: readonly number[], ms: readonly number[]): CopyCost {
  const msPerByte = Math.max(0, (ms[1] - ms[0]) / (sizes[1] - sizes[0]));
  return { latencyMs: Math.max(0, ms[0] - msPerByte * sizes[0]), msPerByte };
}

/** An optimizer update's cost for one parameter tensor: a fixed cost per call plus a cost per float. */
export interface UpdateCost {
  latencyMs: number;
  msPerFloat: number;
}

/**
 * The cost of an SGD update with momentum on a host-mappable `backend`, fitted as a line through two sizes
 * (4K and 4M floats, each the median of 5 after a first call): a model's update is one call per parameter
 * tensor, so many small tensors pay the per-call cost, and a large layer's weights (millions of floats) run
 * at the per-float rate of arrays well past the caches, which one size in between would misjudge either way.
 */
export function timeUpdate(backend: Backend): UpdateCost {
  const sizes = [1 << 12, 1 << 22];
  const m = backend.memory;
  const ms = sizes.map((n) => {
    const p = m.alloc(4 * n);
    const g = m.alloc(4 * n);
    const buf = m.alloc(4 * n);
    try {
      m.fill(p, n, 0.5);
      m.fill(g, n, 0.01);
      m.fill(buf, n, 0);
      backend.updates.sgd(p, g, buf, n, 0.01, 0.9, 0, 5e-4, false, true);
      const times: number[] = [];
      for (let r = 0; r < 5; r++) {
        const t0 = performance.now();
        backend.updates.sgd(p, g, buf, n, 0.01, 0.9, 0, 5e-4, false, false);
        times.push(performance.now() - t0);
      }
      times.sort((a, b) => a - b);
      return times[2];
    } finally {
      m.free(p);
      m.free(g);
      m.free(buf);
    }
  });
  const line = fitCopyLine(sizes, ms);
  return { latencyMs: line.latencyMs, msPerFloat: line.msPerByte };
}
