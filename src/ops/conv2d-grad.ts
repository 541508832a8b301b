import { shapeToString } from '../core/shape.js';
import { fusedActivationGrad, noGrad } from './grad-util.js';
import { type GradContext, type GradResult, type OpDef, noActivation } from './types.js';
import { expectRank } from './util.js';

/** dX = col2im(Wᵀ · dY): a transposed convolution of dY back to the input's size. */
export const conv2dGradInputOp: OpDef<'conv2dGradInput'> = {
  name: 'conv2dGradInput',
  arity: 1,
  paramShapes: (a) => ({ weight: [a.outChannels, a.inChannels / a.groups, a.kernel[0], a.kernel[1]] }),
  inferShape([dy], a) {
    expectRank(dy, 4, '[N, C, H, W]');
    if (dy[1] !== a.outChannels) throw new Error(`expected ${a.outChannels} gradient channels, got ${shapeToString(dy)}`);
    return [dy[0], a.inChannels, a.inputSize[0], a.inputSize[1]];
  },
  flops: ([dy], _, a) => 2 * dy[0] * dy[1] * dy[2] * dy[3] * (a.inChannels / a.groups) * a.kernel[0] * a.kernel[1],
};

/** dW = Σₙ dYₙ · colₙᵀ (inputs: dY, X). */
export const conv2dGradWeightOp: OpDef<'conv2dGradWeight'> = {
  name: 'conv2dGradWeight',
  arity: 2,
  paramShapes: () => ({}),
  inferShape([dy, x], a) {
    expectRank(dy, 4, '[N, C, H, W]');
    expectRank(x, 4, '[N, C, H, W]');
    return [a.outChannels, a.inChannels / a.groups, a.kernel[0], a.kernel[1]];
  },
  flops: ([dy], _, a) => 2 * dy[0] * dy[1] * dy[2] * dy[3] * (a.inChannels / a.groups) * a.kernel[0] * a.kernel[1],
};

export function conv2dGrad(ctx: GradContext<'conv2d'>): GradResult {
  const dz = fusedActivationGrad(ctx, ctx.attrs.activation);
  const a = { ...ctx.attrs, activation: noActivation };
  const x = ctx.inputShapes[0];
  const result: GradResult = { inputs: noGrad(1), params: {} };
  if (ctx.needsInputGrad[0]) result.inputs[0] = ctx.emit('conv2dGradInput', { ...a, inputSize: [x[2], x[3]] }, [dz], ['weight']);
  if (ctx.needsParamGrad.weight) result.params.weight = ctx.emit('conv2dGradWeight', a, [dz, ctx.inputs[0]]);
  if (a.bias && ctx.needsParamGrad.bias) result.params.bias = ctx.emit('biasGrad', { channelDim: 1 }, [dz]);
  return result;
}
