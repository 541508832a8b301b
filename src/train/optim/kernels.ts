// The plain TypeScript optimizer updates: the oracle for the wasm kernels in assembly/optim.ts and the
// path used for parameters on the reference backend. Same argument order as the wasm exports.

/**
 * SGD (torch.optim.SGD): d = g + wd·p; with momentum, buf = first ? d : μ·buf + (1 − dampening)·d and
 * d = nesterov ? d + μ·buf : buf; then p −= lr·d. `first` = the momentum buffer does not exist yet.
 */
export function sgdUpdate(
  p: Float32Array,
  g: Float32Array,
  buf: Float32Array,
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
    if (momentum !== 0) {
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
