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

/** ms of one run of `node` alone on `backend`: the kernel step's median time over `reps` runs after a warm-up. */
export function timeNode(node: GraphNode, inputShapes: readonly Shape[], backend: Backend, reps = 5): number {
  const g = new Graph();
  const inputs = inputShapes.map(() => g.addInput());
  // Fresh parameters of the same shapes: calibration never binds or changes the model's own. Attributes are
  // copied so a dropout layer's generator does not advance.
  const params: Record<string, Parameter> = {};
  for (const [k, p] of Object.entries(node.params)) {
    const values = new Float32Array(p.size);
    for (let i = 0; i < values.length; i++) values[i] = ((i * 7919) % 1000) / 1000 - 0.5;
    params[k] = new Parameter(p.shape, { values, isBuffer: p.isBuffer, requiresGrad: p.requiresGrad });
  }
  g.outputs = [g.addNode(node.op, node.name, structuredClone(node.attrs) as never, inputs, params)];
  const data = inputShapes.map((s) => {
    const a = new Float32Array(sizeOf(s));
    for (let i = 0; i < a.length; i++) a[i] = ((i * 104729) % 2001) / 1000 - 1;
    return a;
  });
  const plan = new Plan(g, inputShapes, backend);
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
    plan.dispose();
    for (const p of Object.values(params)) p.unbind();
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
  const msPerByte = Math.max(0, (ms[1] - ms[0]) / (sizes[1] - sizes[0]));
  return { latencyMs: Math.max(0, ms[0] - msPerByte * sizes[0]), msPerByte };
}
