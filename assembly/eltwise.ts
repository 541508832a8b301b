// Element-wise kernels on raw pointers: f32 arrays of length n. Every kernel reads element i before it
// writes element i, so x == y (in place) is allowed. SIMD loops have a scalar tail; without SIMD the
// tail is the whole loop. NaN propagates as in PyTorch.
import { exp1, exp4, madd4, sigmoid1, sigmoid4, tanh1, tanh4 } from './mathf';

// @ts-ignore: decorator
@inline function at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}

/**
 * y[i] = x[i] < 0 ? 0 : x[i]: NaN and -0 stay as they are, as in torch.relu. pmax/pmin are that
 * select exactly and one instruction each on x64, where NaN-propagating f32x4.max/min are several.
 */
export function f32_relu(x: usize, y: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const zero = f32x4.splat(0);
    for (; i + 4 <= n; i += 4) v128.store(at(y, i), f32x4.pmax(v128.load(at(x, i)), zero));
  }
  for (; i < n; i++) {
    const v = load<f32>(at(x, i));
    store<f32>(at(y, i), v < 0 ? 0 : v);
  }
}

/** y[i] = clamp(x[i], 0, 6), NaN kept (same selects as f32_relu). */
export function f32_relu6(x: usize, y: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const zero = f32x4.splat(0);
    const six = f32x4.splat(6);
    for (; i + 4 <= n; i += 4) v128.store(at(y, i), f32x4.pmin(f32x4.pmax(v128.load(at(x, i)), zero), six));
  }
  for (; i < n; i++) {
    const v = load<f32>(at(x, i));
    store<f32>(at(y, i), v < 0 ? 0 : v > 6 ? 6 : v);
  }
}

/** y[i] = x[i] ≥ 0 ? x[i] : alpha·x[i]. */
export function f32_leaky_relu(x: usize, y: usize, n: i32, alpha: f32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const a = f32x4.splat(alpha);
    const zero = f32x4.splat(0);
    for (; i + 4 <= n; i += 4) {
      const v = v128.load(at(x, i));
      v128.store(at(y, i), v128.bitselect(v, f32x4.mul(v, a), f32x4.ge(v, zero)));
    }
  }
  for (; i < n; i++) {
    const v = load<f32>(at(x, i));
    store<f32>(at(y, i), v >= 0 ? v : alpha * v);
  }
}

/** y[i] = 1 / (1 + e^(−x[i])), exp by the polynomial in mathf.ts (relative error ≤ 1.8e-7). */
export function f32_sigmoid(x: usize, y: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) v128.store(at(y, i), sigmoid4(v128.load(at(x, i))));
  }
  for (; i < n; i++) store<f32>(at(y, i), sigmoid1(load<f32>(at(x, i))));
}

/** y[i] = tanh(x[i]) (relative error ≤ 1.4e-7, see mathf.ts). */
export function f32_tanh(x: usize, y: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) v128.store(at(y, i), tanh4(v128.load(at(x, i))));
  }
  for (; i < n; i++) store<f32>(at(y, i), tanh1(load<f32>(at(x, i))));
}

/** y[i] = e^(x[i]) (the kernel behind the accuracy figures in mathf.ts; also useful on its own). */
export function f32_exp(x: usize, y: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) v128.store(at(y, i), exp4(v128.load(at(x, i))));
  }
  for (; i < n; i++) store<f32>(at(y, i), exp1(load<f32>(at(x, i))));
}

/** y[i] = a[i] + b[i] (the residual add). */
export function f32_add(a: usize, b: usize, y: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) v128.store(at(y, i), f32x4.add(v128.load(at(a, i)), v128.load(at(b, i))));
  }
  for (; i < n; i++) store<f32>(at(y, i), load<f32>(at(a, i)) + load<f32>(at(b, i)));
}

/**
 * Per-channel affine map over NCHW: y = x·scale[c] + shift[c] (batch norm folded to scale and shift).
 * ss holds c scales then c shifts. Channels [c0, c1) only (threads take channel ranges).
 */
export function f32_scale_shift_nchw(x: usize, y: usize, ss: usize, n: i32, c: i32, hw: i32, c0: i32, c1: i32): void {
  for (let b = 0; b < n; b++) {
    for (let ch = c0; ch < c1; ch++) {
      const scale = load<f32>(at(ss, ch));
      const shift = load<f32>(at(ss, c + ch));
      const xp = at(x, (b * c + ch) * hw);
      const yp = at(y, (b * c + ch) * hw);
      let i = 0;
      if (ASC_FEATURE_SIMD) {
        const vs = f32x4.splat(scale);
        const vt = f32x4.splat(shift);
        for (; i + 4 <= hw; i += 4) v128.store(at(yp, i), madd4(v128.load(at(xp, i)), vs, vt));
      }
      for (; i < hw; i++) store<f32>(at(yp, i), load<f32>(at(xp, i)) * scale + shift);
    }
  }
}

/**
 * Batch statistics for batch norm in training mode: per channel the mean and the biased variance
 * (two passes, accumulated in f64 so large batches do not lose precision). stats gets 2·c f64:
 * c means then c variances. Channels [c0, c1) only: each channel's sums run in the same order whichever
 * range it is in, so threads taking channel ranges give the one-call bits.
 */
export function f32_batchnorm_stats_nchw(x: usize, stats: usize, n: i32, c: i32, hw: i32, c0: i32, c1: i32): void {
  const count = <f64>n * <f64>hw;
  for (let ch = c0; ch < c1; ch++) {
    let sum: f64 = 0;
    for (let b = 0; b < n; b++) {
      const xp = at(x, (b * c + ch) * hw);
      let i = 0;
      if (ASC_FEATURE_SIMD) {
        let acc = f64x2.splat(0);
        for (; i + 4 <= hw; i += 4) {
          const v = v128.load(at(xp, i));
          acc = f64x2.add(acc, f64x2.add(f64x2.promote_low_f32x4(v), f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1))));
        }
        sum += f64x2.extract_lane(acc, 0) + f64x2.extract_lane(acc, 1);
      }
      for (; i < hw; i++) sum += <f64>load<f32>(at(xp, i));
    }
    const mean = sum / count;
    let sq: f64 = 0;
    for (let b = 0; b < n; b++) {
      const xp = at(x, (b * c + ch) * hw);
      let i = 0;
      if (ASC_FEATURE_SIMD) {
        const m = f64x2.splat(mean);
        let acc = f64x2.splat(0);
        for (; i + 4 <= hw; i += 4) {
          const v = v128.load(at(xp, i));
          const lo = f64x2.sub(f64x2.promote_low_f32x4(v), m);
          const hi = f64x2.sub(f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1)), m);
          acc = f64x2.add(acc, f64x2.add(f64x2.mul(lo, lo), f64x2.mul(hi, hi)));
        }
        sq += f64x2.extract_lane(acc, 0) + f64x2.extract_lane(acc, 1);
      }
      for (; i < hw; i++) {
        const d = <f64>load<f32>(at(xp, i)) - mean;
        sq += d * d;
      }
    }
    store<f64>(stats + (<usize>ch << 3), mean);
    store<f64>(stats + (<usize>(c + ch) << 3), sq / count);
  }
}

/**
 * Training-mode dropout with a mask drawn on the host: y[i] = keep[i] ? f32(f64(x[i])·scale) : 0.
 * The product is formed in f64 and rounded once, exactly as the reference's `x[i] * scale` stored
 * into a Float32Array, so both backends give identical bits for the same mask. keep: n bytes (0/1).
 */
export function f32_dropout_apply(x: usize, keep: usize, y: usize, n: i32, scale: f64): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const s = f64x2.splat(scale);
    for (; i + 4 <= n; i += 4) {
      const v = v128.load(at(x, i));
      const lo = f32x4.demote_f64x2_zero(f64x2.mul(f64x2.promote_low_f32x4(v), s));
      const hi = f32x4.demote_f64x2_zero(f64x2.mul(f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1)), s));
      const scaled = v128.shuffle<f32>(lo, hi, 0, 1, 4, 5);
      // Widen the 4 mask bytes to 4 lanes of all-ones/all-zeros.
      const lanes = i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(v128.load32_zero(keep + <usize>i)));
      v128.store(at(y, i), v128.and(scaled, i32x4.ne(lanes, i32x4.splat(0))));
    }
  }
  for (; i < n; i++) {
    const v = load<f32>(at(x, i));
    store<f32>(at(y, i), load<u8>(keep + <usize>i) ? <f32>(<f64>v * scale) : 0);
  }
}

/**
 * Softmax over the middle axis of [outer, size, inner], max-subtracted. The SIMD max uses pmax, which
 * may skip a NaN; the NaN still reaches every output of its row through the sum of exponentials. With inner = 1 each row is
 * contiguous and SIMD runs along it; with inner > 1 SIMD runs across 4 adjacent inner positions.
 */
export function f32_softmax(x: usize, y: usize, outer: i32, size: i32, inner: i32): void {
  if (inner == 1) {
    for (let o = 0; o < outer; o++) softmaxRow(at(x, o * size), at(y, o * size), size);
    return;
  }
  for (let o = 0; o < outer; o++) {
    const xo = at(x, o * size * inner);
    const yo = at(y, o * size * inner);
    let i = 0;
    if (ASC_FEATURE_SIMD) {
      for (; i + 4 <= inner; i += 4) {
        let m = f32x4.splat(-Infinity);
        for (let k = 0; k < size; k++) m = f32x4.pmax(m, v128.load(at(xo, k * inner + i)));
        let s = f32x4.splat(0);
        for (let k = 0; k < size; k++) {
          const e = exp4(f32x4.sub(v128.load(at(xo, k * inner + i)), m));
          v128.store(at(yo, k * inner + i), e);
          s = f32x4.add(s, e);
        }
        for (let k = 0; k < size; k++) v128.store(at(yo, k * inner + i), f32x4.div(v128.load(at(yo, k * inner + i)), s));
      }
    }
    for (; i < inner; i++) {
      let m: f32 = -Infinity;
      for (let k = 0; k < size; k++) m = max<f32>(m, load<f32>(at(xo, k * inner + i)));
      let s: f32 = 0;
      for (let k = 0; k < size; k++) {
        const e = exp1(load<f32>(at(xo, k * inner + i)) - m);
        store<f32>(at(yo, k * inner + i), e);
        s += e;
      }
      for (let k = 0; k < size; k++) store<f32>(at(yo, k * inner + i), load<f32>(at(yo, k * inner + i)) / s);
    }
  }
}

// @ts-ignore: decorator
@inline function softmaxRow(x: usize, y: usize, size: i32): void {
  let m: f32 = -Infinity;
  let k = 0;
  if (ASC_FEATURE_SIMD) {
    let vm = f32x4.splat(-Infinity);
    for (; k + 4 <= size; k += 4) vm = f32x4.pmax(vm, v128.load(at(x, k)));
    m = max<f32>(max<f32>(f32x4.extract_lane(vm, 0), f32x4.extract_lane(vm, 1)), max<f32>(f32x4.extract_lane(vm, 2), f32x4.extract_lane(vm, 3)));
  }
  for (; k < size; k++) m = max<f32>(m, load<f32>(at(x, k)));
  let s: f32 = 0;
  k = 0;
  if (ASC_FEATURE_SIMD) {
    const vm = f32x4.splat(m);
    let vs = f32x4.splat(0);
    for (; k + 4 <= size; k += 4) {
      const e = exp4(f32x4.sub(v128.load(at(x, k)), vm));
      v128.store(at(y, k), e);
      vs = f32x4.add(vs, e);
    }
    s = f32x4.extract_lane(vs, 0) + f32x4.extract_lane(vs, 1) + (f32x4.extract_lane(vs, 2) + f32x4.extract_lane(vs, 3));
  }
  for (; k < size; k++) {
    const e = exp1(load<f32>(at(x, k)) - m);
    store<f32>(at(y, k), e);
    s += e;
  }
  k = 0;
  if (ASC_FEATURE_SIMD) {
    const vs = f32x4.splat(s);
    for (; k + 4 <= size; k += 4) v128.store(at(y, k), f32x4.div(v128.load(at(y, k)), vs));
  }
  for (; k < size; k++) store<f32>(at(y, k), load<f32>(at(y, k)) / s);
}
