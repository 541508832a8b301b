// torch.nn.utils.clip_grad_norm_ / clip_grad_value_ over Parameter.grad (parameters without a gradient are skipped).
import { ArgumentError } from '../core/errors.js';
import type { Parameter } from '../core/parameter.js';
import { NonFiniteError } from './losses.js';

function grads(params: Iterable<Parameter>): Float32Array[] {
  const out: Float32Array[] = [];
  for (const p of params) if (p.grad && !p.isBuffer) out.push(p.grad);
  return out;
}

/**
 * Scales all gradients together so their joint norm is at most `maxNorm`; returns the total norm before
 * clipping (as clip_grad_norm_ does). The scale is maxNorm / (total + 1e-6), applied only when below 1.
 * `normType` is any p > 0 or Infinity (the largest |g|). With `errorIfNonfinite` a NaN/∞ norm throws.
 */
export function clipGradNorm(
  params: Iterable<Parameter>,
  maxNorm: number,
  normType = 2,
  options: { errorIfNonfinite?: boolean } = {},
): number {
  if (!(maxNorm >= 0)) throw new ArgumentError(`clipGradNorm: maxNorm must be ≥ 0, got ${maxNorm}`);
  if (!(normType > 0)) throw new ArgumentError(`clipGradNorm: normType must be > 0 or Infinity, got ${normType}`);
  const gs = grads(params);
  if (gs.length === 0) return 0;
  let total = 0;
  if (normType === Number.POSITIVE_INFINITY) {
    for (const g of gs) {
      for (let i = 0; i < g.length; i++) {
        const a = Math.abs(g[i]);
        if (a > total || Number.isNaN(a)) total = a; // NaN sticks, as in torch.max
      }
    }
  } else {
    let sum = 0;
    for (const g of gs) {
      if (normType === 2) for (let i = 0; i < g.length; i++) sum += g[i] * g[i];
      else for (let i = 0; i < g.length; i++) sum += Math.abs(g[i]) ** normType;
    }
    total = normType === 2 ? Math.sqrt(sum) : sum ** (1 / normType);
  }
  total = Math.fround(total);
  if (!Number.isFinite(total) && options.errorIfNonfinite) {
    throw new NonFiniteError(`clipGradNorm: the total ${normType}-norm of the gradients is ${total}`);
  }
  const coef = maxNorm / (total + 1e-6);
  if (coef < 1) for (const g of gs) for (let i = 0; i < g.length; i++) g[i] *= coef;
  return total;
}

/** Clamps every gradient value into [−value, value]. */
export function clipGradValue(params: Iterable<Parameter>, value: number): void {
  if (!(value >= 0)) throw new ArgumentError(`clipGradValue: value must be ≥ 0, got ${value}`);
  for (const g of grads(params)) {
    for (let i = 0; i < g.length; i++) {
      const v = g[i];
      g[i] = v > value ? value : v < -value ? -value : v;
    }
  }
}
