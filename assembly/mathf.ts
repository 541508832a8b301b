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
@inline const ROUND_MAGIC: f32 = 12583039.0; // 1.5·2^23 + 127
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

// The v128 code reads its constants with load32_splat from this table instead of v128.const: V8
// materializes each v128.const inside the loop with several instructions (it does not hoist them),
// which made exp4 about 2x slower; a splat load is one instruction.
const KTAB: usize = memory.data<f32>([EXP_LO, EXP_HI, LOG2E, ROUND_MAGIC, LN2_HI, LN2_LO, P0, P1, P2, P3, P4, P5, T0, T1, T2, T3, T4, TANH_SMALL, 1, 2, -0.0]);

// @ts-ignore: decorator
@inline function k4(index: i32): v128 {
  return v128.load32_splat(KTAB + (<usize>index << 2));
}
// @ts-ignore: decorator
@inline const K_EXP_LO = 0;
// @ts-ignore: decorator
@inline const K_EXP_HI = 1;
// @ts-ignore: decorator
@inline const K_LOG2E = 2;
// @ts-ignore: decorator
@inline const K_ROUND_MAGIC = 3;
// @ts-ignore: decorator
@inline const K_LN2_HI = 4;
// @ts-ignore: decorator
@inline const K_LN2_LO = 5;
// @ts-ignore: decorator
@inline const K_P0 = 6;
// @ts-ignore: decorator
@inline const K_P1 = 7;
// @ts-ignore: decorator
@inline const K_P2 = 8;
// @ts-ignore: decorator
@inline const K_P3 = 9;
// @ts-ignore: decorator
@inline const K_P4 = 10;
// @ts-ignore: decorator
@inline const K_P5 = 11;
// @ts-ignore: decorator
@inline const K_T0 = 12;
// @ts-ignore: decorator
@inline const K_T1 = 13;
// @ts-ignore: decorator
@inline const K_T2 = 14;
// @ts-ignore: decorator
@inline const K_T3 = 15;
// @ts-ignore: decorator
@inline const K_T4 = 16;
// @ts-ignore: decorator
@inline const K_TANH_SMALL = 17;
// @ts-ignore: decorator
@inline const K_ONE = 18;
// @ts-ignore: decorator
@inline const K_TWO = 19;
// @ts-ignore: decorator
@inline const K_SIGN = 20;

/** a·b + c: fused where relaxed SIMD allows it (then results may differ from the simd build by an ulp). */
// @ts-ignore: decorator
@inline export function madd4(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

// @ts-ignore: decorator
@inline export function exp4(x: v128): v128 {
  // pmax/pmin with x first keep a NaN x (and are one instruction each, unlike f32x4.max/min).
  x = f32x4.pmin(f32x4.pmax(x, k4(K_EXP_LO)), k4(K_EXP_HI));
  // Adding 1.5·2^23 + 127 rounds x·log2 e to an integer n and leaves n + 127 in the low mantissa bits:
  // n comes back by subtracting, 2^n by shifting those bits into the exponent (cheaper than nearest +
  // trunc_sat, which V8 expands to several instructions each).
  const v = f32x4.add(f32x4.mul(x, k4(K_LOG2E)), k4(K_ROUND_MAGIC));
  const n = f32x4.sub(v, k4(K_ROUND_MAGIC));
  let r = f32x4.sub(x, f32x4.mul(n, k4(K_LN2_HI)));
  r = f32x4.sub(r, f32x4.mul(n, k4(K_LN2_LO)));
  let p = madd4(k4(K_P0), r, k4(K_P1));
  p = madd4(p, r, k4(K_P2));
  p = madd4(p, r, k4(K_P3));
  p = madd4(p, r, k4(K_P4));
  p = madd4(p, r, k4(K_P5));
  p = madd4(f32x4.mul(p, r), r, f32x4.add(r, k4(K_ONE)));
  return f32x4.mul(p, i32x4.shl(v, 23));
}

// @ts-ignore: decorator
@inline export function exp1(x: f32): f32 {
  x = min<f32>(max<f32>(x, EXP_LO), EXP_HI);
  const v: f32 = x * LOG2E + ROUND_MAGIC;
  const n: f32 = v - ROUND_MAGIC;
  let r = x - n * LN2_HI;
  r = r - n * LN2_LO;
  let p = P0 * r + P1;
  p = p * r + P2;
  p = p * r + P3;
  p = p * r + P4;
  p = p * r + P5;
  p = p * r * r + (r + 1);
  return p * reinterpret<f32>(reinterpret<i32>(v) << 23);
}

// @ts-ignore: decorator
@inline export function sigmoid4(x: v128): v128 {
  const one = k4(K_ONE);
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
  let p = madd4(k4(K_T0), z, k4(K_T1));
  p = madd4(p, z, k4(K_T2));
  p = madd4(p, z, k4(K_T3));
  p = madd4(p, z, k4(K_T4));
  const small = madd4(f32x4.mul(p, z), x, x);
  const one = k4(K_ONE);
  const e = exp4(f32x4.add(ax, ax));
  const bigAbs = f32x4.sub(one, f32x4.div(k4(K_TWO), f32x4.add(e, one)));
  // Copy x's sign onto the large-|x| result (bit select on the sign bit).
  const big = v128.bitselect(x, bigAbs, k4(K_SIGN));
  return v128.bitselect(small, big, f32x4.lt(ax, k4(K_TANH_SMALL)));
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
