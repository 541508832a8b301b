import { sizeOf } from '../core/shape.js';
import { noGrad } from './grad-util.js';
import type { GradContext, GradResult, OpDef } from './types.js';

/** Routes each dY to its window's argmax, recomputed from X (first maximum wins, as in PyTorch). */
export const maxPool2dGradOp: OpDef<'maxPool2dGrad'> = {
  name: 'maxPool2dGrad',
  arity: 2,
  paramShapes: () => ({}),
  inferShape: ([, x]) => x,
  flops: ([dy], _, a) => sizeOf(dy) * a.kernel[0] * a.kernel[1],
};

export const avgPool2dGradOp: OpDef<'avgPool2dGrad'> = {
  name: 'avgPool2dGrad',
  arity: 1,
  paramShapes: () => ({}),
  inferShape: ([dy], a) => [dy[0], dy[1], a.inputSize[0], a.inputSize[1]],
  flops: ([dy], _, a) => sizeOf(dy) * a.kernel[0] * a.kernel[1],
};

export const adaptiveAvgPool2dGradOp: OpDef<'adaptiveAvgPool2dGrad'> = {
  name: 'adaptiveAvgPool2dGrad',
  arity: 1,
  paramShapes: () => ({}),
  inferShape: ([dy], a) => [dy[0], dy[1], a.inputSize[0], a.inputSize[1]],
  flops: (_, x) => sizeOf(x),
};

export function maxPool2dGrad(ctx: GradContext<'maxPool2d'>): GradResult {
  const inputs = noGrad(1);
  if (ctx.needsInputGrad[0]) inputs[0] = ctx.emit('maxPool2dGrad', ctx.attrs, [ctx.dy, ctx.inputs[0]]);
  return { inputs, params: {} };
}

export function avgPool2dGrad(ctx: GradContext<'avgPool2d'>): GradResult {
  const x = ctx.inputShapes[0];
  const inputs = noGrad(1);
  if (ctx.needsInputGrad[0]) inputs[0] = ctx.emit('avgPool2dGrad', { ...ctx.attrs, inputSize: [x[2], x[3]] }, [ctx.dy]);
  return { inputs, params: {} };
}

export function adaptiveAvgPool2dGrad(ctx: GradContext<'adaptiveAvgPool2d'>): GradResult {
  const x = ctx.inputShapes[0];
  const inputs = noGrad(1);
  if (ctx.needsInputGrad[0]) inputs[0] = ctx.emit('adaptiveAvgPool2dGrad', { ...ctx.attrs, inputSize: [x[2], x[3]] }, [ctx.dy]);
  return { inputs, params: {} };
}
