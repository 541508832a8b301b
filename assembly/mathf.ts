// Inline f32 math shared by the element-wise kernels (and usable by GEMM epilogues): exp, sigmoid,
// tanh, each as a 4-lane v128 version and a scalar twin computing the same polynomial.
//
// exp: Cephes' expf scheme. n = round(x·log2 e), r = x − n·ln 2 (ln 2 split in two so r is exact),
// e^r by a degree-6 polynomial on |r| ≤ ln2/2, then ·2^n built in the exponent bits. Measured against
// Math.exp on 2^20 points over [-87, 88]: relative error ≤ 1.2e-7 (about 1 ulp) on every build.
// Inputs are clamped to [-87, 88] so 2^n stays a normal float: exp(x < -87) returns exp(-87) ≈ 1.6e-38
// instead of a smaller number (an absolute error below 2e-38), exp(x > 88) returns exp(88) instead of
// overflowing (callers: sigmoid and tanh of large |x|, where that does not show, and softmax of
// max-shifted inputs, all ≤ 0). NaN stays NaN.
// tanh: Cephes' tanhf: an odd polynomial for |x| < 0.625 (no cancellation near 0), else
// 1 − 2/(e^{2|x|} + 1) with the sign put back; relative error ≤ 1.4e-7 measured on [-10, 10].
// sigmoid: 1/(1 + e^{−x}); relative error ≤ 1.8e-7 measured on [-80, 80].
// tests/wasm-math.test.ts checks these bounds (with a little margin) on every build.

// @ts-ignore: decorator
@inline const EXP_HI: f32 = 88.0;
// @ts-ignore: decorator
@inline const EXP_LO: f32 = -87.0;
// @ts-ignore: decorator
@inline const LOG2E: f32 = 1.44269504088896341;
// @ts-ignore: decorator
@inline const LN2_HI: f32 = 0.693359375;
// @ts-ignore: decorator
@inline const LN2_LO: f32 = -2.12194440e-4;
// @ts-ignore: decorator
@inline const P0: f32 = 1.9875691500e-4;
// @ts-ignore: decorator
@inline const P1: f32 = 1.3981999507e-3;
// @ts-ignore: decorator
@inline const P2: f32 = 8.3334519073e-3;
// @ts-ignore: decorator
@inline const P3: f32 = 4.1665795894e-2;
// @ts-ignore: decorator
@inline const P4: f32 = 1.6666665459e-1;
// @ts-ignore: decorator
@inline const P5: f32 = 5.0000001201e-1;
// @ts-ignore: decorator
@inline const T0: f32 = -5.70498872745e-3;
// @ts-ignore: decorator
@inline const T1: f32 = 2.06390887954e-2;
// @ts-ignore: decorator
@inline const T2: f32 = -5.37397155531e-2;
// @ts-ignore: decorator
@inline const T3: f32 = 1.33314422036e-1;
// @ts-ignore: decorator
@inline const T4: f32 = -3.33332819422e-1;
// @ts-ignore: decorator
@inline const TANH_SMALL: f32 = 0.625;

/** a·b + c: fused where relaxed SIMD allows it (then results may differ from the simd build by an ulp). */
// @ts-ignore: decorator
@inline export function madd4(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

// @ts-ignore: decorator
@inline export function exp4(x: v128): v128 {
  x = f32x4.min(f32x4.max(x, f32x4.splat(EXP_LO)), f32x4.splat(EXP_HI));
  const n = f32x4.nearest(f32x4.mul(x, f32x4.splat(LOG2E)));
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(LN2_HI)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(LN2_LO)));
  let p = madd4(f32x4.splat(P0), r, f32x4.splat(P1));
  p = madd4(p, r, f32x4.splat(P2));
  p = madd4(p, r, f32x4.splat(P3));
  p = madd4(p, r, f32x4.splat(P4));
  p = madd4(p, r, f32x4.splat(P5));
  p = madd4(f32x4.mul(p, r), r, f32x4.add(r, f32x4.splat(1)));
  const pow2n = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  return f32x4.mul(p, pow2n);
}

// @ts-ignore: decorator
@inline export function exp1(x: f32): f32 {
  x = min<f32>(max<f32>(x, EXP_LO), EXP_HI);
  const n = nearest<f32>(x * LOG2E);
  let r = x - n * LN2_HI;
  r = r - n * LN2_LO;
  let p = P0 * r + P1;
  p = p * r + P2;
  p = p * r + P3;
  p = p * r + P4;
  p = p * r + P5;
  p = p * r * r + (r + 1);
  return p * reinterpret<f32>((<i32>n + 127) << 23);
}

// @ts-ignore: decorator
@inline export function sigmoid4(x: v128): v128 {
  const one = f32x4.splat(1);
  return f32x4.div(one, f32x4.add(one, exp4(f32x4.neg(x))));
}

// @ts-ignore: decorator
@inline export function sigmoid1(x: f32): f32 {
  return 1 / (1 + exp1(-x));
}

// @ts-ignore: decorator
@inline export function tanh4(x: v128): v128 {
  const ax = f32x4.abs(x);
  const z = f32x4.mul(x, x);
  let p = madd4(f32x4.splat(T0), z, f32x4.splat(T1));
  p = madd4(p, z, f32x4.splat(T2));
  p = madd4(p, z, f32x4.splat(T3));
  p = madd4(p, z, f32x4.splat(T4));
  const small = madd4(f32x4.mul(p, z), x, x);
  const one = f32x4.splat(1);
  const e = exp4(f32x4.add(ax, ax));
  const bigAbs = f32x4.sub(one, f32x4.div(f32x4.splat(2), f32x4.add(e, one)));
  // Copy x's sign onto the large-|x| result (bit select on the sign bit).
  const big = v128.bitselect(x, bigAbs, f32x4.splat(-0.0));
  return v128.bitselect(small, big, f32x4.lt(ax, f32x4.splat(TANH_SMALL)));
}

// @ts-ignore: decorator
@inline export function tanh1(x: f32): f32 {
  const ax = abs<f32>(x);
  if (ax < TANH_SMALL) {
    const z = x * x;
    let p = T0 * z + T1;
    p = p * z + T2;
    p = p * z + T3;
    p = p * z + T4;
    return p * z * x + x;
  }
  const big: f32 = 1 - 2 / (exp1(ax + ax) + 1);
  return copysign<f32>(big, x);
}
