// torch.nn.utils.clip_grad_norm_ / clip_grad_value_ over Parameter.grad (parameters without a gradient are
// skipped). Reductions and scaling run as update kernels of the backend that holds each gradient.
import { ArgumentError } from '../core/errors.js';
import type { Parameter } from '../core/parameter.js';
import type { DeviceMemory, UpdateKernels } from '../backends/backend.js';
import { hostBackend, ownerOf } from '../backends/host.js';
import { NonFiniteError } from './losses.js';

interface DeviceGrad {
  updates: UpdateKernels;
  memory: DeviceMemory;
  readSync: boolean;
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
    out.push({ updates: ownerOf(memory).updates, memory, readSync: memory.readSync !== undefined, ptr, n: p.size });
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
  checkClipArgs(maxNorm, normType);
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

/** A clip whose norm stays on the device until asked for: `await clipped.norm()` (one small read). */
export interface LazyClip {
  norm(): Promise<number>;
}

/**
 * `clipGradNorm` without reading anything back when the gradients live in one GPU memory (WebGPU) and
 * normType is 2 or Infinity: the norm is reduced into a device scalar and a scale kernel reads it there, so a
 * training step still reads back only its loss. Anywhere else it clips at once (the host or wasm path, or
 * `clipGradNormAsync`'s downloads) and the norm is ready.
 */
export function clipGradNormLazy(params: Iterable<Parameter>, maxNorm: number, normType = 2): LazyClip {
  checkClipArgs(maxNorm, normType);
  const list = [...params];
  const gs = deviceGrads(list);
  const onDevice = sharedDeviceUpdates(gs, normType);
  if (!onDevice) {
    const total = clipGradNormAsync(list, maxNorm, normType);
    total.catch(() => {});
    return { norm: () => total };
  }
  const { updates, memory } = onDevice;
  const acc = memory.alloc(16);
  const accumulate = updates.accumulateNorm as NonNullable<UpdateKernels['accumulateNorm']>;
  gs.forEach((g, k) => accumulate(g.ptr, g.n, acc, normType, k === 0));
  updates.finishNorm?.(acc, normType);
  const scaleByNorm = updates.scaleByNorm as NonNullable<UpdateKernels['scaleByNorm']>;
  for (const g of gs) scaleByNorm(g.ptr, g.n, acc, maxNorm);
  const read = (updates.readLater as NonNullable<UpdateKernels['readLater']>)(acc);
  // Freeing now is safe: whatever reuses the region is recorded (and a write flushes) after these kernels.
  memory.free(acc);
  return { norm: read };
}

/**
 * `clipGradNorm` for gradients anywhere, GPU memory included; resolves to the total norm before clipping.
 * With `errorIfNonfinite` the norm is read before any gradient changes (as torch does), one read more.
 */
export async function clipGradNormAsync(
  params: Iterable<Parameter>,
  maxNorm: number,
  normType = 2,
  options: { errorIfNonfinite?: boolean } = {},
): Promise<number> {
  checkClipArgs(maxNorm, normType);
  const list = [...params];
  const gs = deviceGrads(list);
  if (gs.every((g) => g.readSync)) return clipGradNorm(list, maxNorm, normType, options);
  const onDevice = sharedDeviceUpdates(gs, normType);
  if (onDevice && !options.errorIfNonfinite) return clipGradNormLazy(list, maxNorm, normType).norm();
  // Mixed memories, other p-norms or errorIfNonfinite: the gradients held on a GPU are downloaded.
  let total = 0;
  let sum = 0;
  for (const p of list) {
    if (!p.hasGrad || p.isBuffer) continue;
    const memory = p.memory ?? hostBackend().memory;
    const g = memory.readSync ? (p.grad as Float32Array) : await memory.download(p.deviceGrad(memory), p.size);
    for (let i = 0; i < g.length; i++) {
      const a = Math.abs(g[i]);
      if (normType === Number.POSITIVE_INFINITY) {
        if (a > total || Number.isNaN(a)) total = Number.isNaN(total) ? total : a;
      } else sum += normType === 2 ? a * a : a ** normType;
    }
  }
  if (normType !== Number.POSITIVE_INFINITY) total = sum ** (1 / normType);
  total = Math.fround(total);
  if (!Number.isFinite(total) && options.errorIfNonfinite) {
    throw new NonFiniteError(`clipGradNorm: the total ${normType}-norm of the gradients is ${total}`);
  }
  const coef = maxNorm / (total + 1e-6);
  if (coef < 1) for (const g of deviceGrads(list)) g.updates.scale(g.ptr, g.n, coef);
  return total;
}

function checkClipArgs(maxNorm: number, normType: number): void {
  if (!(maxNorm >= 0)) throw new ArgumentError(`clipGradNorm: maxNorm must be ≥ 0, got ${maxNorm}`);
  if (!(normType > 0)) throw new ArgumentError(`clipGradNorm: normType must be > 0 or Infinity, got ${normType}`);
}

/** The one device memory (without readSync) holding every gradient, when its backend clips on the device. */
function sharedDeviceUpdates(gs: DeviceGrad[], normType: number): { updates: UpdateKernels; memory: DeviceMemory } | null {
  if (gs.length === 0 || (normType !== 2 && normType !== Number.POSITIVE_INFINITY)) return null;
  const memory = gs[0].memory;
  if (memory.readSync || gs.some((g) => g.memory !== memory)) return null;
  const updates = gs[0].updates;
  if (!updates.accumulateNorm || !updates.scaleByNorm || !updates.readLater) return null;
  return { updates, memory };
}

/** Clamps every gradient value into [−value, value]. */
export function clipGradValue(params: Iterable<Parameter>, value: number): void {
  if (!(value >= 0)) throw new ArgumentError(`clipGradValue: value must be ≥ 0, got ${value}`);
  for (const g of deviceGrads(params)) g.updates.clamp(g.ptr, g.n, value);
}
