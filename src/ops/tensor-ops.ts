import { normalizeDim, shapeToString, sizeOf } from '../core/shape.js';
import type { OpDef } from './types.js';

/**
 * Ops that ONNX graphs need beyond the layer set: broadcasting arithmetic, constants, concat,
 * transpose, constant padding, clip/hardSwish and a batched matmul. Shapes are static per plan.
 */

/** NumPy/ONNX multidirectional broadcasting. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(`shapes ${shapeToString(a)} and ${shapeToString(b)} do not broadcast (dimension ${i}: ${da} vs ${db})`);
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

export const binaryOp: OpDef<'binary'> = {
  name: 'binary',
  arity: 2,
  paramShapes: () => ({}),
  inferShape: ([a, b]) => broadcastShapes(a, b),
  flops: (_, out) => sizeOf(out),
};

export const constantOp: OpDef<'constant'> = {
  name: 'constant',
  arity: 0,
  paramShapes: (a) => ({ value: a.shape }),
  inferShape: (_, a) => [...a.shape],
  flops: () => 0,
};

export const concatOp: OpDef<'concat'> = {
  name: 'concat',
  arity: -1,
  paramShapes: () => ({}),
  inferShape(ins, a) {
    if (ins.length === 0) throw new Error('concat needs at least one input');
    const rank = ins[0].length;
    const axis = normalizeDim(a.axis, rank, 'concat');
    const out = [...ins[0]];
    out[axis] = 0;
    for (const s of ins) {
      if (s.length !== rank || s.some((d, i) => i !== axis && d !== ins[0][i])) {
        throw new Error(`cannot concatenate ${ins.map(shapeToString).join(', ')} along axis ${a.axis}`);
      }
      out[axis] += s[axis];
    }
    return out;
  },
  flops: () => 0,
};

export const transposeOp: OpDef<'transpose'> = {
  name: 'transpose',
  arity: 1,
  paramShapes: () => ({}),
  inferShape([x], a) {
    const seen = new Set(a.perm);
    if (a.perm.length !== x.length || seen.size !== x.length || a.perm.some((p) => p < 0 || p >= x.length)) {
      throw new Error(`perm [${a.perm}] is not a permutation of the ${x.length} axes of ${shapeToString(x)}`);
    }
    return a.perm.map((p) => x[p]);
  },
  flops: () => 0,
};

export const padOp: OpDef<'pad'> = {
  name: 'pad',
  arity: 1,
  paramShapes: () => ({}),
  inferShape([x], a) {
    if (a.pads.length !== 2 * x.length)
      throw new Error(`pads has ${a.pads.length} values, expected ${2 * x.length} for ${shapeToString(x)}`);
    const out = x.map((d, i) => d + a.pads[i] + a.pads[i + x.length]);
    if (out.some((d) => d <= 0)) throw new Error(`pads [${a.pads}] leave an empty output for ${shapeToString(x)}`);
    return out;
  },
  flops: () => 0,
};

export const unaryOp: OpDef<'unary'> = {
  name: 'unary',
  arity: 1,
  paramShapes: () => ({}),
  inferShape: ([x]) => x,
  flops: ([x]) => 2 * sizeOf(x),
};

export const matmulOp: OpDef<'matmul'> = {
  name: 'matmul',
  arity: 2,
  paramShapes: () => ({}),
  inferShape([a, b]) {
    if (a.length < 2 || b.length < 2)
      throw new Error(`matmul needs rank >= 2 operands, got ${shapeToString(a)} and ${shapeToString(b)}`);
    if (a[a.length - 1] !== b[b.length - 2]) {
      throw new Error(
        `cannot multiply ${shapeToString(a)} by ${shapeToString(b)}: inner dimensions ${a[a.length - 1]} and ${b[b.length - 2]} differ`,
      );
    }
    const batch = broadcastShapes(a.slice(0, -2), b.slice(0, -2));
    return [...batch, a[a.length - 2], b[b.length - 1]];
  },
  flops: ([a], out) => 2 * sizeOf(out) * a[a.length - 1],
};
