// Element-wise math of imported ONNX graphs (the `unary` kinds beyond clip/hardSwish; src/ops/unary-math.ts
// is the float64 oracle). Codes: 0 hardSigmoid max(0, min(1, a·x + b)), 1 erf, 2 gelu x/2·(1 + erf(x/√2)),
// 3 silu x·sigmoid(x), 4 sqrt, 5 exp, 6 log, 7 reciprocal, 8 pow x^a, 9 abs, 10 affine a·x + b,
// 11 elu/selu b·(x > 0 ? x : a·(eˣ − 1)), 12 softplus log(1 + eˣ), 13 mish x·tanh(softplus(x)).
// The hot ones (hardSigmoid, erf, gelu, silu, sqrt, exp, reciprocal, square, abs, affine) run 4 lanes with a
// scalar tail; log and a general pow are scalar loops (no lane-wise log in wasm SIMD; rare in CNNs).
//
// erf: below |x| = 1 its Maclaurin series to x^21 (truncation < 2e-8 relative), above it Abramowitz &
// Stegun 7.1.26, 1 − (a1·t + … + a5·t^5)·e^{−x²} with t = 1/(1 + p|x|) (absolute error ≤ 1.5e-7, so
// relative ≤ 2e-7 where |erf| ≥ 0.84), sign restored. Both branches are computed and selected per lane.
//
// eˣ − 1 (elu): its Taylor series to x⁷ for |x| < 0.35 (truncation < 2e-8 relative; exp(x) − 1 would lose
// digits to cancellation there), exp(x) − 1 above. softplus: max(x, 0) + log1p(e^{−|x|}), log1p(t) for t in
// (0, 1] as 2·atanh(s) with s = t/(2 + t) ≤ 1/3, odd series to s¹³ (truncation < 1e-8): wasm SIMD has no
// log, and this needs none. mish: tanh(log(1 + eˣ)) = n/(n + 2) with n = eˣ(eˣ + 2), x capped at 20 where
// the ratio is 1 in float32, so neither log nor tanh is needed.
import { exp1, exp4, sigmoid1, sigmoid4 } from './mathf';

// @ts-ignore: decorator
@inline function at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}

// Maclaurin coefficients of erf(x)/x in x²: 2/√π · (−1)^n / (n! (2n + 1)), n = 0..10.
const E0: f32 = 1.1283791670955126;
const E1: f32 = -0.37612638903183754;
const E2: f32 = 0.11283791670955126;
const E3: f32 = -0.026866170645131252;
const E4: f32 = 0.005223977625442188;
const E5: f32 = -0.0008548327023450852;
const E6: f32 = 0.00012055332981789664;
const E7: f32 = -1.4925650358406251e-5;
const E8: f32 = 1.6462114365889246e-6;
const E9: f32 = -1.6365844691234924e-7;
const E10: f32 = 1.4807192815879218e-8;
const AP: f32 = 0.3275911;
const A1: f32 = 0.254829592;
const A2: f32 = -0.284496736;
const A3: f32 = 1.421413741;
const A4: f32 = -1.453152027;
const A5: f32 = 1.061405429;
const RSQRT2: f32 = 0.7071067811865476;

// @ts-ignore: decorator
@inline function erf1(x: f32): f32 {
  const ax = abs<f32>(x);
  if (ax < 1) {
    const z = x * x;
    let p = E10;
    p = p * z + E9;
    p = p * z + E8;
    p = p * z + E7;
    p = p * z + E6;
    p = p * z + E5;
    p = p * z + E4;
    p = p * z + E3;
    p = p * z + E2;
    p = p * z + E1;
    p = p * z + E0;
    return p * x;
  }
  const t: f32 = 1 / (1 + AP * ax);
  let q = A5;
  q = q * t + A4;
  q = q * t + A3;
  q = q * t + A2;
  q = q * t + A1;
  const r: f32 = 1 - q * t * exp1(-ax * ax);
  return copysign<f32>(r, x);
}

// @ts-ignore: decorator
@inline function erf4(x: v128): v128 {
  const ax = f32x4.abs(x);
  const z = f32x4.mul(x, x);
  let p = f32x4.splat(E10);
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(E9));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(E8));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(E7));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(E6));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(E5));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(E4));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(E3));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(E2));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(E1));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(E0));
  const small = f32x4.mul(p, x);
  const one = f32x4.splat(1);
  const t = f32x4.div(one, f32x4.add(one, f32x4.mul(f32x4.splat(AP), ax)));
  let q = f32x4.splat(A5);
  q = f32x4.add(f32x4.mul(q, t), f32x4.splat(A4));
  q = f32x4.add(f32x4.mul(q, t), f32x4.splat(A3));
  q = f32x4.add(f32x4.mul(q, t), f32x4.splat(A2));
  q = f32x4.add(f32x4.mul(q, t), f32x4.splat(A1));
  const big = f32x4.sub(one, f32x4.mul(f32x4.mul(q, t), exp4(f32x4.neg(z))));
  // Copy x's sign onto the large-|x| result (bit select on the sign bit).
  const signed = v128.bitselect(x, big, f32x4.splat(-0.0));
  return v128.bitselect(small, signed, f32x4.lt(ax, one));
}

// @ts-ignore: decorator
@inline function expm1_1(x: f32): f32 {
  if (abs<f32>(x) < <f32>0.35) {
    let p: f32 = <f32>1 / 5040;
    p = p * x + <f32>1 / 720;
    p = p * x + <f32>1 / 120;
    p = p * x + <f32>1 / 24;
    p = p * x + <f32>1 / 6;
    p = p * x + <f32>0.5;
    p = p * x + 1;
    return p * x;
  }
  return exp1(x) - 1;
}

// @ts-ignore: decorator
@inline function expm1_4(x: v128): v128 {
  let p = f32x4.splat(<f32>1 / 5040);
  p = f32x4.add(f32x4.mul(p, x), f32x4.splat(<f32>1 / 720));
  p = f32x4.add(f32x4.mul(p, x), f32x4.splat(<f32>1 / 120));
  p = f32x4.add(f32x4.mul(p, x), f32x4.splat(<f32>1 / 24));
  p = f32x4.add(f32x4.mul(p, x), f32x4.splat(<f32>1 / 6));
  p = f32x4.add(f32x4.mul(p, x), f32x4.splat(0.5));
  p = f32x4.add(f32x4.mul(p, x), f32x4.splat(1));
  const small = f32x4.mul(p, x);
  const big = f32x4.sub(exp4(x), f32x4.splat(1));
  return v128.bitselect(small, big, f32x4.lt(f32x4.abs(x), f32x4.splat(0.35)));
}

// @ts-ignore: decorator
@inline function elu1(x: f32, a: f32, b: f32): f32 {
  return b * (x > 0 ? x : a * expm1_1(x));
}

// @ts-ignore: decorator
@inline function elu4(x: v128, a: v128, b: v128): v128 {
  const neg = f32x4.mul(a, expm1_4(f32x4.min(x, f32x4.splat(0))));
  return f32x4.mul(b, v128.bitselect(x, neg, f32x4.gt(x, f32x4.splat(0))));
}

// log1p(t), 0 ≤ t ≤ 1: 2·(s + s³/3 + … + s¹³/13), s = t/(2 + t).
// @ts-ignore: decorator
@inline function log1p_unit1(t: f32): f32 {
  const s = t / (2 + t);
  const z = s * s;
  let p: f32 = <f32>1 / 13;
  p = p * z + <f32>1 / 11;
  p = p * z + <f32>1 / 9;
  p = p * z + <f32>1 / 7;
  p = p * z + <f32>1 / 5;
  p = p * z + <f32>1 / 3;
  p = p * z + 1;
  return 2 * s * p;
}

// @ts-ignore: decorator
@inline function log1p_unit4(t: v128): v128 {
  const s = f32x4.div(t, f32x4.add(f32x4.splat(2), t));
  const z = f32x4.mul(s, s);
  let p = f32x4.splat(<f32>1 / 13);
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(<f32>1 / 11));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(<f32>1 / 9));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(<f32>1 / 7));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(<f32>1 / 5));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(<f32>1 / 3));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(1));
  return f32x4.mul(f32x4.mul(f32x4.splat(2), s), p);
}

// @ts-ignore: decorator
@inline function softplus1(x: f32): f32 {
  return max<f32>(x, 0) + log1p_unit1(exp1(-abs<f32>(x)));
}

// @ts-ignore: decorator
@inline function softplus4(x: v128): v128 {
  return f32x4.add(f32x4.max(x, f32x4.splat(0)), log1p_unit4(exp4(f32x4.neg(f32x4.abs(x)))));
}

// @ts-ignore: decorator
@inline function mish1(x: f32): f32 {
  const e = exp1(min<f32>(x, 20));
  const n = e * (e + 2);
  return x * (n / (n + 2));
}

// @ts-ignore: decorator
@inline function mish4(x: v128): v128 {
  const e = exp4(f32x4.min(x, f32x4.splat(20)));
  const n = f32x4.mul(e, f32x4.add(e, f32x4.splat(2)));
  return f32x4.mul(x, f32x4.div(n, f32x4.add(n, f32x4.splat(2))));
}

// @ts-ignore: decorator
@inline function scalar(code: i32, v: f32, a: f32, b: f32): f32 {
  switch (code) {
    case 0: {
      const h = a * v + b;
      return h < 0 ? 0 : <f32>1 < h ? 1 : h;
    }
    case 1:
      return erf1(v);
    case 2:
      return <f32>0.5 * v * (1 + erf1(v * RSQRT2));
    case 3:
      return v * sigmoid1(v);
    case 4:
      return Mathf.sqrt(v);
    case 5:
      return exp1(v);
    case 6:
      return Mathf.log(v);
    case 7:
      return 1 / v;
    case 8:
      return a == 2 ? v * v : Mathf.pow(v, a);
    case 9:
      return abs<f32>(v);
    case 11:
      return elu1(v, a, b);
    case 12:
      return softplus1(v);
    case 13:
      return mish1(v);
    default:
      return a * v + b;
  }
}

/** y = f(x) for the code above (a, b: hardSigmoid's α/β, pow's exponent, affine's scale/shift). */
export function f32_unary_math(x: usize, y: usize, n: i32, code: i32, a: f32, b: f32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD && code != 6 && !(code == 8 && a != 2)) {
    const av = f32x4.splat(a);
    const bv = f32x4.splat(b);
    const zero = f32x4.splat(0);
    const one = f32x4.splat(1);
    const half = f32x4.splat(0.5);
    const rs2 = f32x4.splat(RSQRT2);
    for (; i + 4 <= n; i += 4) {
      const v = v128.load(at(x, i));
      let r: v128;
      if (code == 0) r = f32x4.pmin(f32x4.pmax(f32x4.add(f32x4.mul(av, v), bv), zero), one);
      else if (code == 1) r = erf4(v);
      else if (code == 2) r = f32x4.mul(f32x4.mul(half, v), f32x4.add(one, erf4(f32x4.mul(v, rs2))));
      else if (code == 3) r = f32x4.mul(v, sigmoid4(v));
      else if (code == 4) r = f32x4.sqrt(v);
      else if (code == 5) r = exp4(v);
      else if (code == 7) r = f32x4.div(one, v);
      else if (code == 8) r = f32x4.mul(v, v);
      else if (code == 9) r = f32x4.abs(v);
      else if (code == 11) r = elu4(v, av, bv);
      else if (code == 12) r = softplus4(v);
      else if (code == 13) r = mish4(v);
      else r = f32x4.add(f32x4.mul(av, v), bv);
      v128.store(at(y, i), r);
    }
  }
  for (; i < n; i++) store<f32>(at(y, i), scalar(code, load<f32>(at(x, i)), a, b));
}

/**
 * dx = dy · f'(x) for the same codes, in f64 as the TypeScript oracle (training only, so a plain loop).
 * hardSigmoid passes where 0 < a·x + b < 1 (strict, as torch); abs'(0) = 0; elu'(0) = b·a (torch's x ≤ 0 side).
 */
export function f32_unary_math_grad(dy: usize, x: usize, dx: usize, n: i32, code: i32, a: f64, b: f64): void {
  for (let i = 0; i < n; i++) {
    const v = <f64>load<f32>(at(x, i));
    let d: f64;
    switch (code) {
      case 0: {
        const h = a * v + b;
        d = h > 0 && h < 1 ? a : 0;
        break;
      }
      case 1:
        d = 1.1283791670955126 * Math.exp(-v * v);
        break;
      case 2:
        d = 0.5 * (1 + <f64>erf1(<f32>(v * 0.7071067811865476))) + v * 0.3989422804014327 * Math.exp(-0.5 * v * v);
        break;
      case 3: {
        const s = 1 / (1 + Math.exp(-v));
        d = s * (1 + v * (1 - s));
        break;
      }
      case 4:
        d = 0.5 / Math.sqrt(v);
        break;
      case 5:
        d = Math.exp(v);
        break;
      case 6:
        d = 1 / v;
        break;
      case 7:
        d = -1 / (v * v);
        break;
      case 8:
        d = a * Math.pow(v, a - 1);
        break;
      case 9:
        d = v > 0 ? 1 : v < 0 ? -1 : 0;
        break;
      case 11:
        d = b * (v > 0 ? 1 : a * Math.exp(v));
        break;
      case 12:
        d = 1 / (1 + Math.exp(-v));
        break;
      case 13: {
        const sp = v > 0 ? v + Math.log1p(Math.exp(-v)) : Math.log1p(Math.exp(v));
        const t = Math.tanh(sp);
        d = t + (v * (1 - t * t)) / (1 + Math.exp(-v));
        break;
      }
      default:
        d = a;
    }
    store<f32>(at(dx, i), <f32>(<f64>load<f32>(at(dy, i)) * d));
  }
}

/** y = x · s (the scale of an expand). */
export function f32_scale(x: usize, y: usize, n: i32, s: f32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const sv = f32x4.splat(s);
    for (; i + 4 <= n; i += 4) v128.store(at(y, i), f32x4.mul(v128.load(at(x, i)), sv));
  }
  for (; i < n; i++) store<f32>(at(y, i), load<f32>(at(x, i)) * s);
}
