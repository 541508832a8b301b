import { shapeToString, sizeOf } from '../core/shape.js';
import { broadcastShapes } from './tensor-ops.js';
import type { GradContext, GradResult, OpDef } from './types.js';

/**
 * Reductions (ONNX ReduceSum / ReduceMean / ReduceMax) over any set of axes, and `expand` (ONNX Expand,
 * and the gradient of a sum or mean: dY broadcast back over the reduced axes, scaled).
 */

/** The output shape with the reduced axes kept as 1. */
export function keptShape(x: readonly number[], axes: readonly number[]): number[] {
  return x.map((d, i) => (axes.includes(i) ? 1 : d));
}

export const reduceOp: OpDef<'reduce'> = {
  name: 'reduce',
  arity: 1,
  paramShapes: () => ({}),
  inferShape([x], a) {
    if (a.axes.some((ax, i) => ax < 0 || ax >= x.length || (i > 0 && ax <= a.axes[i - 1])))
      throw new Error(`reduce axes [${a.axes}] must be ascending axes of ${shapeToString(x)}`);
    if (a.kind === 'max' && a.axes.some((ax) => x[ax] === 0)) throw new Error(`max over an empty axis of ${shapeToString(x)}`);
    return a.keepdims ? keptShape(x, a.axes) : x.filter((_, i) => !a.axes.includes(i));
  },
  flops: ([x]) => sizeOf(x),
  grad: reduceGrad,
};

/**
 * sum: dX = dY broadcast; mean: the same over the count; max: dY[r] to each X equal to the maximum Y[r],
 * shared evenly by the maxima that tie (torch.amax's rule), one `reduceMaxGrad` op.
 */
function reduceGrad(ctx: GradContext<'reduce'>): GradResult {
  if (!ctx.needsInputGrad[0]) return { inputs: [null], params: {} };
  const { kind, axes } = ctx.attrs;
  const x = ctx.inputShapes[0];
  const count = sizeOf(axes.map((a) => x[a]));
  const kept = keptShape(x, axes);
  const view = (v: number) => (ctx.attrs.keepdims ? v : ctx.emit('reshape', { shape: kept }, [v]));
  if (kind === 'max')
    return {
      inputs: [ctx.emit('reduceMaxGrad', { ...ctx.attrs, keepdims: true }, [view(ctx.dy), ctx.inputs[0], view(ctx.output)])],
      params: {},
    };
  return { inputs: [ctx.emit('expand', { shape: [...x], scale: kind === 'mean' ? 1 / count : 1 }, [view(ctx.dy)])], params: {} };
}

/** The axes of `out` that `shape` is broadcast along (missing leading axes included). */
export function broadcastAxes(shape: readonly number[], out: readonly number[]): number[] {
  const lead = out.length - shape.length;
  return out.map((_, i) => i).filter((i) => i < lead || (shape[i - lead] === 1 && out[i] !== 1));
}

export const expandOp: OpDef<'expand'> = {
  name: 'expand',
  arity: 1,
  paramShapes: () => ({}),
  inferShape: ([x], a) => broadcastShapes(x, a.shape),
  flops: (_, out) => sizeOf(out),
  grad(ctx) {
    if (!ctx.needsInputGrad[0]) return { inputs: [null], params: {} };
    return { inputs: [sumTo(ctx, ctx.dy, ctx.outputShape, ctx.inputShapes[0], ctx.attrs.scale)], params: {} };
  },
};

/**
 * Σ of `g` (shape `out`) over the axes `shape` is broadcast along, reshaped to `shape`, times `scale`:
 * the gradient of a broadcast operand.
 */
export function sumTo(
  ctx: Pick<GradContext, 'emit'>,
  g: number,
  out: readonly number[],
  shape: readonly number[],
  scale = 1,
): number {
  const axes = broadcastAxes(shape, out);
  let v = axes.length ? ctx.emit('reduce', { kind: 'sum', axes, keepdims: true }, [g]) : g;
  if (scale !== 1) v = ctx.emit('unary', { kind: 'affine', min: 0, max: 0, alpha: scale, beta: 0 }, [v]);
  return ctx.emit('reshape', { shape: [...shape] }, [v]);
}
