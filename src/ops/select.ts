import { shapeToString, shapesEqual, sizeOf } from '../core/shape.js';
import { keptShape, sumTo } from './reduce.js';
import { broadcastShapes } from './tensor-ops.js';
import type { GradContext, GradResult, OpDef } from './types.js';

/**
 * Ops that pick values rather than compute them (ONNX Where, Gather on activations), and the backward ops
 * of the choices vireo's autodiff could not differentiate before: binary max/min/pow/prelu and ReduceMax.
 */

export const whereOp: OpDef<'where'> = {
  name: 'where',
  arity: 3,
  paramShapes: () => ({}),
  inferShape: ([c, x, y]) => broadcastShapes(broadcastShapes(c, x), y),
  flops: (_, out) => sizeOf(out),
  grad: whereGrad,
};

/** dX = dY where the condition holds, dY' = dY where it does not, each summed to its operand's shape. */
function whereGrad(ctx: GradContext<'where'>): GradResult {
  const inputs = ctx.needsInputGrad.map((needed, k) => {
    if (!needed || k === 0) return null;
    const g = ctx.emit('whereGrad', { operand: k as 1 | 2 }, [ctx.inputs[0], ctx.dy]);
    const shape = ctx.inputShapes[k];
    return shapesEqual(shape, ctx.outputShape) ? g : sumTo(ctx, g, ctx.outputShape, shape);
  });
  return { inputs, params: {} };
}

export const whereGradOp: OpDef<'whereGrad'> = {
  name: 'whereGrad',
  arity: 2,
  paramShapes: () => ({}),
  inferShape([c, dy]) {
    if (!shapesEqual(broadcastShapes(c, dy), dy))
      throw new Error(`condition ${shapeToString(c)} does not broadcast to dY ${shapeToString(dy)}`);
    return dy;
  },
  flops: ([, dy]) => sizeOf(dy),
};

/** Output: x's dimensions before `axis`, the indices' shape, x's dimensions after it. */
function gatherShape(x: readonly number[], axis: number, indices: readonly number[], indicesShape: readonly number[]): number[] {
  if (axis < 0 || axis >= x.length) throw new Error(`gather axis ${axis} is out of range for ${shapeToString(x)}`);
  if (sizeOf(indicesShape) !== indices.length)
    throw new Error(`gather has ${indices.length} indices for the index shape ${shapeToString(indicesShape)}`);
  const bad = indices.find((i) => !Number.isInteger(i) || i < 0 || i >= x[axis]);
  if (bad !== undefined) throw new Error(`gather index ${bad} is out of range for axis ${axis} of ${shapeToString(x)}`);
  return [...x.slice(0, axis), ...indicesShape, ...x.slice(axis + 1)];
}

export const gatherOp: OpDef<'gather'> = {
  name: 'gather',
  arity: 1,
  paramShapes: () => ({}),
  inferShape: ([x], a) => gatherShape(x, a.axis, a.indices, a.indicesShape),
  flops: () => 0,
  grad(ctx) {
    if (!ctx.needsInputGrad[0]) return { inputs: [null], params: {} };
    const axisSize = ctx.inputShapes[0][ctx.attrs.axis];
    return { inputs: [ctx.emit('gatherGrad', { ...ctx.attrs, axisSize }, [ctx.dy])], params: {} };
  },
};

export const gatherGradOp: OpDef<'gatherGrad'> = {
  name: 'gatherGrad',
  arity: 1,
  paramShapes: () => ({}),
  inferShape([dy], a) {
    const k = a.indicesShape.length;
    const x = [...dy.slice(0, a.axis), a.axisSize, ...dy.slice(a.axis + k)];
    if (!shapesEqual(gatherShape(x, a.axis, a.indices, a.indicesShape), dy))
      throw new Error(`dY ${shapeToString(dy)} is not the output of this gather`);
    return x;
  },
  flops: ([dy]) => sizeOf(dy),
};

/**
 * The gradient of a `binary` node for the kinds whose derivative depends on the operands' values (max,
 * min, pow, prelu; add/sub/mul/div are expressed with binary ops in tensor-ops-grad.ts).
 */
export const binaryGradOp: OpDef<'binaryGrad'> = {
  name: 'binaryGrad',
  arity: 3,
  paramShapes: () => ({}),
  inferShape([dy, a, b]) {
    if (!shapesEqual(broadcastShapes(a, b), dy))
      throw new Error(`dY ${shapeToString(dy)} is not the broadcast of ${shapeToString(a)} and ${shapeToString(b)}`);
    return dy;
  },
  flops: ([dy]) => 4 * sizeOf(dy),
};

export const reduceMaxGradOp: OpDef<'reduceMaxGrad'> = {
  name: 'reduceMaxGrad',
  arity: 3,
  paramShapes: () => ({}),
  inferShape([dy, x, y], a) {
    const kept = keptShape(x, a.axes);
    if (!shapesEqual(dy, kept) || !shapesEqual(y, kept))
      throw new Error(
        `dY ${shapeToString(dy)} and Y ${shapeToString(y)} must be ${shapeToString(kept)} for X ${shapeToString(x)}`,
      );
    return x;
  },
  flops: ([, x]) => 3 * sizeOf(x),
};
