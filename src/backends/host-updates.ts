// The parameter updates in plain TypeScript over a host-readable memory: the oracle the wasm update
// kernels (assembly/optim.ts) are tested against, and the reference backend's implementation.
import type { UpdateKernels } from './backend.js';
import type { Arena } from './arena.js';

/**
 * SGD (torch.optim.SGD): d = g + wd·p; with momentum, buf = first ? d : μ·buf + (1 − dampening)·d and
 * d = nesterov ? d + μ·buf : buf; then p −= lr·d. `first` = the momentum buffer does not exist yet.
 */
export function sgdUpdate(
  p: Float32Array,
  g: Float32Array,
  buf: Float32Array | null,
  n: number,
  lr: number,
  momentum: number,
  dampening: number,
  weightDecay: number,
  nesterov: boolean,
  first: boolean,
): void {
  const keep = 1 - dampening;
  for (let i = 0; i < n; i++) {
    let d = Math.fround(g[i] + weightDecay * p[i]);
    if (momentum !== 0 && buf) {
      const b = first ? d : Math.fround(momentum * buf[i] + keep * d);
      buf[i] = b;
      d = nesterov ? Math.fround(d + momentum * b) : b;
    }
    p[i] -= lr * d;
  }
}

/**
 * Adam / AdamW (torch.optim.Adam, AdamW): decoupled → p ·= 1 − lr·wd, else g += wd·p; m, v moving
 * averages; amsgrad keeps vmax = max(vmax, v); p −= stepSize · m / (√v̂ / bc2Sqrt + eps), stepSize = lr / bc1.
 */
export function adamUpdate(
  p: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  vmax: Float32Array | null,
  n: number,
  lr: number,
  beta1: number,
  beta2: number,
  eps: number,
  weightDecay: number,
  decoupled: boolean,
  stepSize: number,
  bc2Sqrt: number,
): void {
  const decay = decoupled ? 1 - lr * weightDecay : 1;
  const l2 = decoupled ? 0 : weightDecay;
  for (let i = 0; i < n; i++) {
    const pi = Math.fround(p[i] * decay);
    const d = Math.fround(g[i] + l2 * pi);
    const mi = Math.fround(beta1 * m[i] + (1 - beta1) * d);
    let vi = Math.fround(beta2 * v[i] + (1 - beta2) * d * d);
    m[i] = mi;
    v[i] = vi;
    if (vmax) {
      vi = Math.max(vmax[i], vi);
      vmax[i] = vi;
    }
    p[i] = pi - (stepSize * mi) / (Math.sqrt(vi) / bc2Sqrt + eps);
  }
}

/** Σ g² onto `acc` in float64, index order. */
export function sumSquares(g: Float32Array, acc: number): number {
  let sum = acc;
  for (let i = 0; i < g.length; i++) sum += g[i] * g[i];
  return sum;
}

/** max |g|; a NaN sticks (torch.max). */
export function maxAbs(g: Float32Array): number {
  let m = 0;
  for (let i = 0; i < g.length; i++) {
    const a = Math.abs(g[i]);
    if (a > m || Number.isNaN(a)) m = a;
    if (Number.isNaN(m)) return m;
  }
  return m;
}

/** The updates over an arena the host can read: the reference backend's, and the wasm backend's reductions. */
export function hostUpdates(arena: Arena): UpdateKernels {
  const f = (ptr: number, n: number) => arena.f32(ptr, n);
  return {
    accumulate(src, dst, n, add) {
      if (!add) {
        arena.copy(src, dst, 4 * n);
        return;
      }
      const s = f(src, n);
      const d = f(dst, n);
      for (let i = 0; i < n; i++) d[i] += s[i];
    },
    sgd(p, g, buf, n, lr, momentum, dampening, weightDecay, nesterov, first) {
      sgdUpdate(f(p, n), f(g, n), momentum !== 0 ? f(buf, n) : null, n, lr, momentum, dampening, weightDecay, nesterov, first);
    },
    adam(p, g, m, v, vmax, n, lr, beta1, beta2, eps, weightDecay, decoupled, stepSize, bc2Sqrt) {
      const vm = vmax >= 0 ? f(vmax, n) : null;
      adamUpdate(f(p, n), f(g, n), f(m, n), f(v, n), vm, n, lr, beta1, beta2, eps, weightDecay, decoupled, stepSize, bc2Sqrt);
    },
    sumSquares: (g, n, acc) => sumSquares(f(g, n), acc),
    maxAbs: (g, n) => maxAbs(f(g, n)),
    scale(g, n, coef) {
      const a = f(g, n);
      for (let i = 0; i < n; i++) a[i] *= coef;
    },
    clamp(g, n, value) {
      const a = f(g, n);
      for (let i = 0; i < n; i++) {
        const v = a[i];
        a[i] = v > value ? value : v < -value ? -value : v;
      }
    },
  };
}
