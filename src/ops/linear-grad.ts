import { sizeOf } from '../core/shape.js';
import { fusedActivationGrad, noGrad } from './grad-util.js';
import { type GradContext, type GradResult, type OpDef, noActivation } from './types.js';

/** dX = dY · W. */
export const linearGradInputOp: OpDef<'linearGradInput'> = {
  name: 'linearGradInput',
  arity: 1,
  paramShapes: (a) => ({ weight: [a.outFeatures, a.inFeatures] }),
  inferShape: ([dy], a) => [...dy.slice(0, -1), a.inFeatures],
  flops: ([dy], _, a) => 2 * sizeOf(dy) * a.inFeatures,
};

/** dW = dYᵀ · X over all rows (inputs: dY, X). */
export const linearGradWeightOp: OpDef<'linearGradWeight'> = {
  name: 'linearGradWeight',
  arity: 2,
  paramShapes: () => ({}),
  inferShape: (_, a) => [a.outFeatures, a.inFeatures],
  flops: ([dy], _, a) => 2 * sizeOf(dy) * a.inFeatures,
};

export function linearGrad(ctx: GradContext<'linear'>): GradResult {
  const dz = fusedActivationGrad(ctx, ctx.attrs.activation);
  const a = { ...ctx.attrs, activation: noActivation };
  const result: GradResult = { inputs: noGrad(1), params: {} };
  if (ctx.needsInputGrad[0]) result.inputs[0] = ctx.emit('linearGradInput', a, [dz], ['weight']);
  if (ctx.needsParamGrad.weight) result.params.weight = ctx.emit('linearGradWeight', a, [dz, ctx.inputs[0]]);
  if (a.bias && ctx.needsParamGrad.bias) result.params.bias = ctx.emit('biasGrad', { channelDim: -1 }, [dz]);
  return result;
}
