import type { FusedActivation, GradContext, OpName } from './types.js';

/**
 * dL/d(pre-activation) of a node with a fused activation, computed from the node's output: relu,
 * relu6, sigmoid and tanh have derivatives that are functions of their output, and leakyRelu too
 * when its slope is positive (the fusion pass only fuses it then in training graphs).
 */
export function fusedActivationGrad(ctx: GradContext<OpName>, activation: FusedActivation): number {
  if (activation.kind === 'none') return ctx.dy;
  return ctx.emit('activationGrad', { kind: activation.kind, alpha: activation.alpha }, [ctx.dy, ctx.output]);
}

export const noGrad = (n: number): (number | null)[] => new Array(n).fill(null);
