// Backward element-wise kernels (training): activation derivatives, products, bias and BatchNorm
// reductions, softmax. SIMD loops with scalar tails; the scalar build runs the tails only.
// Reductions keep f32x4 partial sums per plane row and add them into f64, so long sums stay exact enough.

import { madd4 } from './mathf';

// @ts-ignore: decorator
@inline function at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}

/** Activation kinds, as the TS glue numbers them. */
// @ts-ignore: decorator
@inline const RELU: i32 = 1;
// @ts-ignore: decorator
@inline const RELU6: i32 = 2;
// @ts-ignore: decorator
@inline const LEAKY: i32 = 3;
// @ts-ignore: decorator
@inline const SIGMOID: i32 = 4;
// @ts-ignore: decorator
@inline const TANH: i32 = 5;

/**
 * dx = dy · f'(v), v being the activation's output (relu, relu6, sigmoid, tanh) or input (leaky).
 * At the kinks PyTorch's choices: relu'(0) = 0, relu6' = 0 at 0 and 6, leaky'(0) = alpha. dx may alias dy.
 */
export function f32_activation_grad(dy: usize, v: usize, dx: usize, n: i32, kind: i32, alpha: f32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const zero = f32x4.splat(0);
    const one = f32x4.splat(1);
    const six = f32x4.splat(6);
    const va = f32x4.splat(alpha);
    for (; i + 4 <= n; i += 4) {
      const g = v128.load(at(dy, i));
      const s = v128.load(at(v, i));
      let r: v128;
      if (kind == RELU) r = v128.and(g, f32x4.gt(s, zero));
      else if (kind == RELU6) r = v128.and(g, v128.and(f32x4.gt(s, zero), f32x4.lt(s, six)));
      else if (kind == LEAKY) r = v128.bitselect(g, f32x4.mul(g, va), f32x4.gt(s, zero));
      else if (kind == SIGMOID) r = f32x4.mul(g, f32x4.mul(s, f32x4.sub(one, s)));
      else if (kind == TANH) r = f32x4.mul(g, f32x4.sub(one, f32x4.mul(s, s)));
      else r = g;
      v128.store(at(dx, i), r);
    }
  }
  for (; i < n; i++) {
    const g = load<f32>(at(dy, i));
    const s = load<f32>(at(v, i));
    let r: f32 = g;
    if (kind == RELU) r = s > 0 ? g : 0;
    else if (kind == RELU6) r = s > 0 && s < 6 ? g : 0;
    else if (kind == LEAKY) r = s > 0 ? g : g * alpha;
    else if (kind == SIGMOID) r = g * (s * (1 - s));
    else if (kind == TANH) r = g * (1 - s * s);
    store<f32>(at(dx, i), r);
  }
}

/** y = a ⊙ b (dropout's mask product, forward and backward). y may alias a or b. */
export function f32_mul(a: usize, b: usize, y: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) v128.store(at(y, i), f32x4.mul(v128.load(at(a, i)), v128.load(at(b, i))));
  }
  for (; i < n; i++) store<f32>(at(y, i), load<f32>(at(a, i)) * load<f32>(at(b, i)));
}

/**
 * Σ of n floats at p (f32x4 partial sums, f64 result). Four independent accumulators over 16 floats a
 * step: one chain was bound by the add latency (~1 float a cycle; conv1's bias gradient 0.7 ms for 2M floats).
 */
// @ts-ignore: decorator
@inline function sum64(p: usize, n: i32): f64 {
  let i = 0;
  let s: f64 = 0;
  if (ASC_FEATURE_SIMD) {
    let a = f32x4.splat(0);
    let a1 = f32x4.splat(0);
    let a2 = f32x4.splat(0);
    let a3 = f32x4.splat(0);
    for (; i + 16 <= n; i += 16) {
      a = f32x4.add(a, v128.load(at(p, i)));
      a1 = f32x4.add(a1, v128.load(at(p, i + 4)));
      a2 = f32x4.add(a2, v128.load(at(p, i + 8)));
      a3 = f32x4.add(a3, v128.load(at(p, i + 12)));
    }
    a = f32x4.add(f32x4.add(a, a1), f32x4.add(a2, a3));
    for (; i + 4 <= n; i += 4) a = f32x4.add(a, v128.load(at(p, i)));
    s = <f64>f32x4.extract_lane(a, 0) + <f64>f32x4.extract_lane(a, 1) + <f64>f32x4.extract_lane(a, 2) + <f64>f32x4.extract_lane(a, 3);
  }
  for (; i < n; i++) s += <f64>load<f32>(at(p, i));
  return s;
}

/**
 * Bias gradient: db[ch] = Σ over [outer, ·, inner] of dy, for dy laid out [outer, c, inner]
 * (conv: [N, C, H·W]; linear: [rows, C, 1], where SIMD runs across channels instead).
 */
export function f32_bias_grad(dy: usize, db: usize, outer: i32, c: i32, inner: i32): void {
  f32_bias_grad_channels(dy, db, outer, c, inner, 0, c);
}

/**
 * f32_bias_grad for channels [c0, c1) only (db[c0..c1) written): threads share a bias gradient by
 * channel ranges, each channel summed in the same order as in one call over all channels.
 */
export function f32_bias_grad_channels(dy: usize, db: usize, outer: i32, c: i32, inner: i32, c0: i32, c1: i32): void {
  if (inner == 1) {
    for (let ch = c0; ch < c1; ch++) store<f32>(at(db, ch), 0);
    for (let o = 0; o < outer; o++) {
      const row = at(dy, o * c);
      let ch = c0;
      if (ASC_FEATURE_SIMD) {
        for (; ch + 4 <= c1; ch += 4) v128.store(at(db, ch), f32x4.add(v128.load(at(db, ch)), v128.load(at(row, ch))));
      }
      for (; ch < c1; ch++) store<f32>(at(db, ch), load<f32>(at(db, ch)) + load<f32>(at(row, ch)));
    }
    return;
  }
  for (let ch = c0; ch < c1; ch++) {
    let s: f64 = 0;
    for (let o = 0; o < outer; o++) s += sum64(at(dy, (o * c + ch) * inner), inner);
    store<f32>(at(db, ch), <f32>s);
  }
}

/**
 * BatchNorm backward sums per channel, centred on `mean` (f64 per channel): sums[ch] = Σ dy and
 * sums[c + ch] = Σ dy·(x − mean), both f64. Channels [c0, c1) only (threads take channel ranges).
 */
export function f32_batchnorm_grad_sums_nchw(
  dy: usize, x: usize, mean: usize, sums: usize, n: i32, c: i32, hw: i32, c0: i32, c1: i32,
): void {
  for (let ch = c0; ch < c1; ch++) {
    const m = <f32>load<f64>(mean + (<usize>ch << 3));
    let sdy: f64 = 0;
    let sdyx: f64 = 0;
    for (let b = 0; b < n; b++) {
      const gp = at(dy, (b * c + ch) * hw);
      const xp = at(x, (b * c + ch) * hw);
      let i = 0;
      if (ASC_FEATURE_SIMD) {
        const vm = f32x4.splat(m);
        let a = f32x4.splat(0);
        let d = f32x4.splat(0);
        for (; i + 4 <= hw; i += 4) {
          const g = v128.load(at(gp, i));
          a = f32x4.add(a, g);
          d = madd4(g, f32x4.sub(v128.load(at(xp, i)), vm), d);
        }
        sdy += <f64>f32x4.extract_lane(a, 0) + <f64>f32x4.extract_lane(a, 1) + <f64>f32x4.extract_lane(a, 2) + <f64>f32x4.extract_lane(a, 3);
        sdyx += <f64>f32x4.extract_lane(d, 0) + <f64>f32x4.extract_lane(d, 1) + <f64>f32x4.extract_lane(d, 2) + <f64>f32x4.extract_lane(d, 3);
      }
      for (; i < hw; i++) {
        const g = load<f32>(at(gp, i));
        sdy += <f64>g;
        sdyx += <f64>(g * (load<f32>(at(xp, i)) - m));
      }
    }
    store<f64>(sums + (<usize>ch << 3), sdy);
    store<f64>(sums + (<usize>(c + ch) << 3), sdyx);
  }
}

/** dx = k·dy + b·x + t per channel; coef holds 3·c f32: k[c], b[c], t[c] (folded by the TS glue). Channels [c0, c1). */
export function f32_batchnorm_grad_input_nchw(
  dy: usize, x: usize, dx: usize, coef: usize, n: i32, c: i32, hw: i32, c0: i32, c1: i32,
): void {
  for (let b = 0; b < n; b++) {
    for (let ch = c0; ch < c1; ch++) {
      const k = load<f32>(at(coef, ch));
      const bx = load<f32>(at(coef, c + ch));
      const t = load<f32>(at(coef, 2 * c + ch));
      const base = (b * c + ch) * hw;
      const gp = at(dy, base);
      const xp = at(x, base);
      const op = at(dx, base);
      let i = 0;
      if (ASC_FEATURE_SIMD) {
        const vk = f32x4.splat(k);
        const vb = f32x4.splat(bx);
        const vt = f32x4.splat(t);
        for (; i + 4 <= hw; i += 4) {
          const r = madd4(vk, v128.load(at(gp, i)), madd4(vb, v128.load(at(xp, i)), vt));
          v128.store(at(op, i), r);
        }
      }
      for (; i < hw; i++) store<f32>(at(op, i), k * load<f32>(at(gp, i)) + bx * load<f32>(at(xp, i)) + t);
    }
  }
}

/** Softmax backward over the middle axis of [outer, size, inner]: dx = y·(dy − Σ dy·y). */
export function f32_softmax_grad(dy: usize, y: usize, dx: usize, outer: i32, size: i32, inner: i32): void {
  for (let o = 0; o < outer; o++) {
    const base = o * size * inner;
    for (let i = 0; i < inner; i++) {
      let dot: f32 = 0;
      let k = 0;
      if (ASC_FEATURE_SIMD) {
        if (inner == 1) {
          let a = f32x4.splat(0);
          for (; k + 4 <= size; k += 4) a = madd4(v128.load(at(dy, base + k)), v128.load(at(y, base + k)), a);
          dot = f32x4.extract_lane(a, 0) + f32x4.extract_lane(a, 1) + (f32x4.extract_lane(a, 2) + f32x4.extract_lane(a, 3));
        }
      }
      for (; k < size; k++) dot += load<f32>(at(dy, base + k * inner + i)) * load<f32>(at(y, base + k * inner + i));
      k = 0;
      if (ASC_FEATURE_SIMD) {
        if (inner == 1) {
          const vd = f32x4.splat(dot);
          for (; k + 4 <= size; k += 4) {
            const yy = v128.load(at(y, base + k));
            v128.store(at(dx, base + k), f32x4.mul(yy, f32x4.sub(v128.load(at(dy, base + k)), vd)));
          }
        }
      }
      for (; k < size; k++) {
        const j = base + k * inner + i;
        store<f32>(at(dx, j), load<f32>(at(y, j)) * (load<f32>(at(dy, j)) - dot));
      }
    }
  }
}
