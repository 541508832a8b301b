import type { Parameter } from '../core/parameter.js';
import { defaultRandom } from '../core/random.js';

/** U(-bound, bound) from the global seeded generator (see manualSeed). */
export function uniformInit(p: Parameter, bound: number): void {
  const r = defaultRandom();
  for (let i = 0; i < p.values.length; i++) p.values[i] = r.uniform(-bound, bound);
  p.markChanged();
}

/**
 * PyTorch's default for Conv2d and Linear: kaiming_uniform_(a=√5) on the weight, which is
 * U(±1/√fanIn), and the bias from the same range.
 */
export function initLikeTorch(weight: Parameter, bias: Parameter | undefined, fanIn: number): void {
  const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
  uniformInit(weight, bound);
  if (bias) uniformInit(bias, bound);
}
