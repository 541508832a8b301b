import { Graph, Parameter, Random } from '../../src/index.js';
import type { Backend } from '../../src/backends/backend.js';
import { Plan } from '../../src/graph/plan.js';
import type { Shape } from '../../src/core/shape.js';
import { opDef } from '../../src/ops/index.js';
import type { OpAttrs, OpName } from '../../src/ops/types.js';
import { randomArray } from './random.js';
import { sizeOf } from '../../src/core/shape.js';

/** One op test case, as data: the op, its attributes and input shapes. */
export interface OpCase<K extends OpName = OpName> {
  name: string;
  op: K;
  attrs: OpAttrs[K];
  inputs: Shape[];
  /** Backend labels ('wasm:scalar', ...) that skip this case, with the reason in a comment beside it. */
  skip?: string[];
  /** Inputs (by index) kept at least 0.5 away from zero: divisors. */
  awayFromZero?: number[];
  /** Inputs drawn from [0.25, 2.25] instead of [-2, 2] (sqrt, log, pow's domain). */
  positive?: boolean;
  /** Inputs (by index) drawn as 0 or 1: a Where condition. */
  mask?: number[];
  /** Inputs drawn from [-scale, scale] instead of [-2, 2] (the far branches of softplus, mish). */
  scale?: number;
}

/** Random parameters for a case, deterministic per case name (running_var kept positive). */
export function caseParams(c: OpCase): Record<string, Parameter> {
  const shapes = opDef(c.op).paramShapes(c.attrs as never);
  const params: Record<string, Parameter> = {};
  let seed = [...c.name].reduce((h, ch) => (h * 31 + ch.charCodeAt(0)) >>> 0, 7);
  for (const [key, shape] of Object.entries(shapes)) {
    const values = randomArray(sizeOf(shape), seed++, 1);
    if (key === 'running_var') for (let i = 0; i < values.length; i++) values[i] = 0.5 + Math.abs(values[i]);
    params[key] = new Parameter(shape, { values, isBuffer: key.startsWith('running') });
  }
  return params;
}

export function caseInputs(c: OpCase, seed = 11): Float32Array[] {
  return c.inputs.map((s, i) => {
    const values = randomArray(sizeOf(s), seed + i * 101, c.scale ?? 2);
    if (c.mask?.includes(i)) return values.map((v) => (v > 0 ? 1 : 0));
    if (c.awayFromZero?.includes(i)) for (let k = 0; k < values.length; k++) values[k] += values[k] < 0 ? -0.5 : 0.5;
    return c.positive ? values.map((v) => 0.25 + Math.abs(v)) : values;
  });
}

/** Runs a case as a one-node graph on a backend, twice (to prove the plan reruns cleanly). */
export function runCase(c: OpCase, backend: Backend, params: Record<string, Parameter>, inputs: Float32Array[]): Float32Array {
  const g = new Graph();
  const ins = c.inputs.map(() => g.addInput());
  g.outputs = [g.addNode(c.op, c.name, c.attrs as never, ins, params)];
  const plan = new Plan(g, c.inputs, backend);
  try {
    plan.run(inputs);
    return plan.run(inputs)[0];
  } finally {
    plan.dispose();
  }
}

export { Random };

/** `runCase` through the asynchronous path (a WebGPU backend's memory has no readSync). */
export async function runCaseAsync(
  c: OpCase,
  backend: Backend,
  params: Record<string, Parameter>,
  inputs: Float32Array[],
): Promise<Float32Array> {
  const g = new Graph();
  const ins = c.inputs.map(() => g.addInput());
  g.outputs = [g.addNode(c.op, c.name, c.attrs as never, ins, params)];
  const plan = new Plan(g, c.inputs, backend);
  try {
    await plan.runAsync(inputs);
    return (await plan.runAsync(inputs))[0];
  } finally {
    plan.dispose();
  }
}
