// Element-wise math of imported ONNX graphs (the `unary` kinds beyond clip/hardSwish; src/ops/unary-math.ts
// is the float64 oracle). Codes: 0 hardSigmoid max(0, min(1, a·x + b)), 1 erf, 2 gelu x/2·(1 + erf(x/√2)),
// 3 silu x·sigmoid(x), 4 sqrt, 5 exp, 6 log, 7 reciprocal, 8 pow x^a, 9 abs, 10 affine a·x + b.
// The hot ones (hardSigmoid, erf, gelu, silu, sqrt, exp, reciprocal, square, abs, affine) run 4 lanes with a
// scalar tail; log and a general pow are scalar loops (no lane-wise log in wasm SIMD; rare in CNNs).
//
// erf: a rational minimax approximation, below.
import { exp1, exp4, sigmoid1, sigmoid4 } from './mathf';

// @ts-ignore: decorator
@inline function at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}

// erf(x) = x·P(x²)/Q(x²) for |x| ≤ 4 (x clamped there: erf(4) rounds to 1 in float32), P and Q of degree 5,
// Q(0) = 1 and Q > 0 on the range: a minimax fit of erf(x)/x by scripts/fit_erf_rational.py (relative
// error 2.5e-8 in float64; ≤ 3.3e-7 absolute evaluated in float32). One branch-free formula, so the SIMD
// path computes ten multiply-adds and a division per 4 lanes instead of a series and an exp-based tail.
const P0: f32 = 1.12837914;
const P1: f32 = 0.193541341;
const P2: f32 = 0.0531012622;
const P3: f32 = 0.00388319028;
const P4: f32 = 0.00028456337;
const P5: f32 = 1.98682025e-6;
const Q1: f32 = 0.504854104;
const Q2: f32 = 0.11534847;
const Q3: f32 = 0.0152069381;
const Q4: f32 = 0.0011855359;
const Q5: f32 = 3.74204422e-5;
const ERF_CLAMP: f32 = 4;
const RSQRT2: f32 = 0.7071067811865476;

// @ts-ignore: decorator
@inline function erf1(x: f32): f32 {
  const c = min<f32>(max<f32>(x, -ERF_CLAMP), ERF_CLAMP);
  const z = c * c;
  const p = ((((P5 * z + P4) * z + P3) * z + P2) * z + P1) * z + P0;
  const q = ((((Q5 * z + Q4) * z + Q3) * z + Q2) * z + Q1) * z + 1;
  return (c * p) / q;
}

// @ts-ignore: decorator
@inline function horner4(z: v128, c5: f32, c4: f32, c3: f32, c2: f32, c1: f32, c0: f32): v128 {
  let p = f32x4.add(f32x4.mul(f32x4.splat(c5), z), f32x4.splat(c4));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(c3));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(c2));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(c1));
  return f32x4.add(f32x4.mul(p, z), f32x4.splat(c0));
}

// @ts-ignore: decorator
@inline function erf4(x: v128): v128 {
  // pmax/pmin keep a NaN x (their comparison is false for it), so erf(NaN) is NaN as in the scalar twin.
  const c = f32x4.pmin(f32x4.pmax(x, f32x4.splat(-ERF_CLAMP)), f32x4.splat(ERF_CLAMP));
  const z = f32x4.mul(c, c);
  const p = horner4(z, P5, P4, P3, P2, P1, P0);
  const q = horner4(z, Q5, Q4, Q3, Q2, Q1, 1);
  return f32x4.div(f32x4.mul(c, p), q);
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
      else r = f32x4.add(f32x4.mul(av, v), bv);
      v128.store(at(y, i), r);
    }
  }
  for (; i < n; i++) store<f32>(at(y, i), scalar(code, load<f32>(at(x, i)), a, b));
}

/**
 * dx = dy · f'(x) for the same codes, in f64 as the TypeScript oracle (training only, so a plain loop).
 * hardSigmoid passes where 0 < a·x + b < 1 (strict, as torch); abs'(0) = 0.
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
