// torch.nn.utils.clip_grad_norm_ / clip_grad_value_ over Parameter.grad (parameters without a gradient are
// skipped). Reductions and scaling run as update kernels of the backend that holds each gradient.
import { ArgumentError } from '../core/errors.js';
import type { Parameter } from '../core/parameter.js';
import type { UpdateKernels } from '../backends/backend.js';
import { hostBackend, ownerOf } from '../backends/host.js';
import { NonFiniteError } from './losses.js';

interface DeviceGrad {
  updates: UpdateKernels;
  ptr: number;
  n: number;
}

/** Each gradient where it lives (parameters no model placed are updated on the reference backend). */
function deviceGrads(params: Iterable<Parameter>): DeviceGrad[] {
  const out: DeviceGrad[] = [];
  for (const p of params) {
    if (!p.hasGrad || p.isBuffer) continue;
    const memory = p.memory ?? hostBackend().memory;
    const ptr = p.deviceGrad(memory);
    out.push({ updates: ownerOf(memory).updates, ptr, n: p.size });
  }
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
  const list = [...params];
  const gs = deviceGrads(list);
  if (gs.length === 0) return 0;
  let total = 0;
  if (normType === Number.POSITIVE_INFINITY) {
    for (const g of gs) {
      const m = g.updates.maxAbs(g.ptr, g.n);
      if (m > total || Number.isNaN(m)) total = m; // NaN sticks, as in torch.max
      if (Number.isNaN(total)) break;
    }
  } else if (normType === 2) {
    let sum = 0;
    for (const g of gs) sum = g.updates.sumSquares(g.ptr, g.n, sum);
    total = Math.sqrt(sum);
  } else {
    // Other p-norms are rare: computed on host copies of the gradients.
    let sum = 0;
    for (const p of list) {
      if (!p.hasGrad || p.isBuffer) continue;
      const g = p.grad as Float32Array;
      for (let i = 0; i < g.length; i++) sum += Math.abs(g[i]) ** normType;
    }
    total = sum ** (1 / normType);
  }
  total = Math.fround(total);
  if (!Number.isFinite(total) && options.errorIfNonfinite) {
    throw new NonFiniteError(`clipGradNorm: the total ${normType}-norm of the gradients is ${total}`);
  }
  const coef = maxNorm / (total + 1e-6);
  if (coef < 1) for (const g of deviceGrads(list)) g.updates.scale(g.ptr, g.n, coef);
  return total;
}

/** Clamps every gradient value into [−value, value]. */
export function clipGradValue(params: Iterable<Parameter>, value: number): void {
  if (!(value >= 0)) throw new ArgumentError(`clipGradValue: value must be ≥ 0, got ${value}`);
  for (const g of deviceGrads(params)) g.updates.clamp(g.ptr, g.n, value);
}
