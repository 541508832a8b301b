// Optimizer updates on raw pointers (f32 arrays of length n), in place. Same arithmetic as the
// TypeScript oracle in src/train/optim/kernels.ts; SIMD loops with a scalar tail, the tail is the
// whole loop in the scalar build. Flags are i32 (0/1) and hoisted out of the loops.

// @ts-ignore: decorator
@inline function at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}

/**
 * SGD step (torch.optim.SGD): d = g + wd·p; momentum ≠ 0: buf = first ? d : μ·buf + (1 − dampening)·d,
 * d = nesterov ? d + μ·buf : buf; p −= lr·d.
 */
export function f32_sgd_update(
  p: usize, g: usize, buf: usize, n: i32,
  lr: f32, momentum: f32, dampening: f32, weightDecay: f32, nesterov: i32, first: i32,
): void {
  const keep: f32 = 1 - dampening;
  const useMomentum = momentum != 0;
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const vlr = f32x4.splat(lr);
    const vwd = f32x4.splat(weightDecay);
    const vmu = f32x4.splat(momentum);
    const vkeep = f32x4.splat(keep);
    for (; i + 4 <= n; i += 4) {
      const pv = v128.load(at(p, i));
      let d = f32x4.add(v128.load(at(g, i)), f32x4.mul(vwd, pv));
      if (useMomentum) {
        const b = first ? d : f32x4.add(f32x4.mul(vmu, v128.load(at(buf, i))), f32x4.mul(vkeep, d));
        v128.store(at(buf, i), b);
        d = nesterov ? f32x4.add(d, f32x4.mul(vmu, b)) : b;
      }
      v128.store(at(p, i), f32x4.sub(pv, f32x4.mul(vlr, d)));
    }
  }
  for (; i < n; i++) {
    const pv = load<f32>(at(p, i));
    let d: f32 = load<f32>(at(g, i)) + weightDecay * pv;
    if (useMomentum) {
      const b: f32 = first ? d : momentum * load<f32>(at(buf, i)) + keep * d;
      store<f32>(at(buf, i), b);
      d = nesterov ? d + momentum * b : b;
    }
    store<f32>(at(p, i), pv - lr * d);
  }
}

/**
 * Adam / AdamW step: decoupled → p ·= 1 − lr·wd, else d = g + wd·p; m = β1·m + (1 − β1)·d;
 * v = β2·v + (1 − β2)·d²; amsgrad (vmax ≠ 0) → v̂ = vmax = max(vmax, v); p −= stepSize·m / (√v̂ / bc2Sqrt + eps).
 */
export function f32_adam_update(
  p: usize, g: usize, m: usize, v: usize, vmax: usize, n: i32,
  lr: f32, beta1: f32, beta2: f32, eps: f32, weightDecay: f32, decoupled: i32, stepSize: f32, bc2Sqrt: f32,
): void {
  const decay: f32 = decoupled ? 1 - lr * weightDecay : 1;
  const l2: f32 = decoupled ? 0 : weightDecay;
  const c1: f32 = 1 - beta1;
  const c2: f32 = 1 - beta2;
  const ams = vmax != 0;
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const vdecay = f32x4.splat(decay);
    const vl2 = f32x4.splat(l2);
    const vb1 = f32x4.splat(beta1);
    const vb2 = f32x4.splat(beta2);
    const vc1 = f32x4.splat(c1);
    const vc2 = f32x4.splat(c2);
    const veps = f32x4.splat(eps);
    const vstep = f32x4.splat(stepSize);
    const vbc2 = f32x4.splat(bc2Sqrt);
    for (; i + 4 <= n; i += 4) {
      const pv = f32x4.mul(v128.load(at(p, i)), vdecay);
      const d = f32x4.add(v128.load(at(g, i)), f32x4.mul(vl2, pv));
      const mv = f32x4.add(f32x4.mul(vb1, v128.load(at(m, i))), f32x4.mul(vc1, d));
      let vv = f32x4.add(f32x4.mul(vb2, v128.load(at(v, i))), f32x4.mul(f32x4.mul(vc2, d), d));
      v128.store(at(m, i), mv);
      v128.store(at(v, i), vv);
      if (ams) {
        vv = f32x4.max(v128.load(at(vmax, i)), vv);
        v128.store(at(vmax, i), vv);
      }
      const denom = f32x4.add(f32x4.div(f32x4.sqrt(vv), vbc2), veps);
      v128.store(at(p, i), f32x4.sub(pv, f32x4.div(f32x4.mul(vstep, mv), denom)));
    }
  }
  for (; i < n; i++) {
    const pv: f32 = load<f32>(at(p, i)) * decay;
    const d: f32 = load<f32>(at(g, i)) + l2 * pv;
    const mv: f32 = beta1 * load<f32>(at(m, i)) + c1 * d;
    let vv: f32 = beta2 * load<f32>(at(v, i)) + c2 * d * d;
    store<f32>(at(m, i), mv);
    store<f32>(at(v, i), vv);
    if (ams) {
      vv = max<f32>(load<f32>(at(vmax, i)), vv);
      store<f32>(at(vmax, i), vv);
    }
    store<f32>(at(p, i), pv - (stepSize * mv) / (Mathf.sqrt(vv) / bc2Sqrt + eps));
  }
}
