import { normalizeDim, shapeToString, shapesEqual, sizeOf } from '../core/shape.js';
import { noGrad } from './grad-util.js';
import type { GradContext, GradResult, OpDef } from './types.js';

/** dX = dY · f'(v), where v is the output for relu/relu6/sigmoid/tanh and the input for leakyRelu. */
export const activationGradOp: OpDef<'activationGrad'> = {
  name: 'activationGrad',
  arity: 2,
  paramShapes: () => ({}),
  inferShape: ([dy]) => dy,
  flops: ([dy]) => 2 * sizeOf(dy),
};

/** dX from dY and X with batch statistics (training) or the running ones (eval). */
export const batchNorm2dGradInputOp: OpDef<'batchNorm2dGradInput'> = {
  name: 'batchNorm2dGradInput',
  arity: 2,
  paramShapes: (a) => ({ weight: [a.numFeatures], running_mean: [a.numFeatures], running_var: [a.numFeatures] }),
  inferShape: ([dy]) => dy,
  flops: ([dy]) => 8 * sizeOf(dy),
};

/** dγ = Σ dY · x̂ per channel. */
export const batchNorm2dGradWeightOp: OpDef<'batchNorm2dGradWeight'> = {
  name: 'batchNorm2dGradWeight',
  arity: 2,
  paramShapes: (a) => ({ running_mean: [a.numFeatures], running_var: [a.numFeatures] }),
  inferShape: (_, a) => [a.numFeatures],
  flops: ([dy]) => 5 * sizeOf(dy),
};

export const biasGradOp: OpDef<'biasGrad'> = {
  name: 'biasGrad',
  arity: 1,
  paramShapes: () => ({}),
  inferShape: ([dy], a) => [dy[normalizeDim(a.channelDim, dy.length, 'biasGrad')]],
  flops: ([dy]) => sizeOf(dy),
};

/** dX = y ⊙ (dY − Σ dY ⊙ y) along dim (inputs: dY, Y). */
export const softmaxGradOp: OpDef<'softmaxGrad'> = {
  name: 'softmaxGrad',
  arity: 2,
  paramShapes: () => ({}),
  inferShape: ([dy]) => dy,
  flops: ([dy]) => 4 * sizeOf(dy),
};

/** Training dropout's mask (0 or 1/(1−p)), drawn per call; the input is read for its shape only. */
export const dropoutMaskOp: OpDef<'dropoutMask'> = {
  name: 'dropoutMask',
  arity: 1,
  paramShapes: () => ({}),
  inferShape: ([x]) => x,
  flops: ([x]) => sizeOf(x),
};

export const mulOp: OpDef<'mul'> = {
  name: 'mul',
  arity: 2,
  paramShapes: () => ({}),
  inferShape([a, b]) {
    if (!shapesEqual(a, b)) throw new Error(`cannot multiply ${shapeToString(a)} and ${shapeToString(b)}: shapes differ`);
    return a;
  },
  flops: ([a]) => sizeOf(a),
  grad(ctx) {
    const inputs = noGrad(2);
    if (ctx.needsInputGrad[0]) inputs[0] = ctx.emit('mul', {}, [ctx.dy, ctx.inputs[1]]);
    if (ctx.needsInputGrad[1]) inputs[1] = ctx.emit('mul', {}, [ctx.dy, ctx.inputs[0]]);
    return { inputs, params: {} };
  },
};

export const reshapeOp: OpDef<'reshape'> = {
  name: 'reshape',
  arity: 1,
  paramShapes: () => ({}),
  inferShape([x], a) {
    if (sizeOf(x) !== sizeOf(a.shape)) throw new Error(`cannot reshape ${shapeToString(x)} to ${shapeToString(a.shape)}`);
    return a.shape;
  },
  flops: () => 0,
  alias: () => true,
  grad(ctx) {
    return { inputs: [ctx.emit('reshape', { shape: [...ctx.inputShapes[0]] }, [ctx.dy])], params: {} };
  },
};

export function activationGrad(ctx: GradContext<'activation'>): GradResult {
  const { kind, alpha } = ctx.attrs;
  if (kind === 'none') return { inputs: [ctx.dy], params: {} };
  const saved = kind === 'leakyRelu' ? ctx.inputs[0] : ctx.output;
  return { inputs: [ctx.needsInputGrad[0] ? ctx.emit('activationGrad', { kind, alpha }, [ctx.dy, saved]) : null], params: {} };
}

export function batchNorm2dGrad(ctx: GradContext<'batchNorm2d'>): GradResult {
  const result: GradResult = { inputs: noGrad(1), params: {} };
  const ins = [ctx.dy, ctx.inputs[0]];
  if (ctx.needsInputGrad[0])
    result.inputs[0] = ctx.emit('batchNorm2dGradInput', ctx.attrs, ins, ['weight', 'running_mean', 'running_var']);
  if (ctx.needsParamGrad.weight)
    result.params.weight = ctx.emit('batchNorm2dGradWeight', ctx.attrs, ins, ['running_mean', 'running_var']);
  if (ctx.needsParamGrad.bias) result.params.bias = ctx.emit('biasGrad', { channelDim: 1 }, [ctx.dy]);
  return result;
}

/** Eval (or p = 0) dropout is the identity; training dropout is lowered to mask · x before autodiff. */
export function dropoutGrad(ctx: GradContext<'dropout'>): GradResult {
  if (ctx.attrs.training && ctx.attrs.p > 0)
    throw new Error('training dropout must be lowered to dropoutMask and mul before autodiff');
  return { inputs: [ctx.dy], params: {} };
}

export function addGrad(ctx: GradContext<'add'>): GradResult {
  return { inputs: ctx.needsInputGrad.map((n) => (n ? ctx.dy : null)), params: {} };
}

export function flattenGrad(ctx: GradContext<'flatten'>): GradResult {
  return { inputs: [ctx.emit('reshape', { shape: [...ctx.inputShapes[0]] }, [ctx.dy])], params: {} };
}

export function softmaxGrad(ctx: GradContext<'softmax'>): GradResult {
  return { inputs: [ctx.needsInputGrad[0] ? ctx.emit('softmaxGrad', ctx.attrs, [ctx.dy, ctx.output]) : null], params: {} };
}
