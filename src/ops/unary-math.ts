import type { UnaryAttrs } from './types.js';

/**
 * Scalar definitions of the `unary` kinds beyond clip/hardSwish (ONNX element-wise math): the reference
 * backend's kernels and the oracle the wasm kernels are tested against. Computed in float64.
 */

const TWO_OVER_SQRT_PI = 1.1283791670955126;
const INV_SQRT_2PI = 0.3989422804014327;

/**
 * erf in float64: its Maclaurin series below |x| = 3 (terms peak near 1e3 there, so about 13 digits
 * survive), a continued fraction for erfc above (converges fast for large x), ±1 beyond 6. JavaScript has
 * no Math.erf, and the oracle must be far more accurate than the float32 kernels it checks.
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return x;
  const a = Math.abs(x);
  if (a >= 6) return Math.sign(x);
  if (a < 3) {
    let term = x;
    let sum = x;
    const x2 = x * x;
    for (let n = 1; n < 80; n++) {
      term *= -x2 / n;
      const t = term / (2 * n + 1);
      sum += t;
      if (Math.abs(t) < 1e-17 * Math.abs(sum)) break;
    }
    return TWO_OVER_SQRT_PI * sum;
  }
  // erfc(a) = exp(-a²)/√π · 1/(a + (1/2)/(a + 1/(a + (3/2)/(a + 2/(a + …))))), evaluated bottom-up.
  let f = a;
  for (let k = 60; k >= 1; k--) f = a + k / 2 / f;
  const erfc = Math.exp(-a * a) / (Math.sqrt(Math.PI) * f);
  return Math.sign(x) * (1 - erfc);
}

export function unaryMath(x: number, a: UnaryAttrs): number {
  const alpha = a.alpha ?? 0;
  const beta = a.beta ?? 0;
  switch (a.kind) {
    case 'clip':
      return Number.isNaN(x) ? x : x < a.min ? a.min : x > a.max ? a.max : x;
    case 'hardSwish': {
      const r = x + 3;
      return (x * (r < 0 ? 0 : r > 6 ? 6 : r)) / 6;
    }
    case 'hardSigmoid': {
      const v = alpha * x + beta;
      return Number.isNaN(v) ? v : v < 0 ? 0 : v > 1 ? 1 : v;
    }
    case 'erf':
      return erf(x);
    case 'gelu':
      return 0.5 * x * (1 + erf(x * Math.SQRT1_2));
    case 'silu':
      return x / (1 + Math.exp(-x));
    case 'sqrt':
      return Math.sqrt(x);
    case 'exp':
      return Math.exp(x);
    case 'log':
      return Math.log(x);
    case 'reciprocal':
      return 1 / x;
    case 'pow':
      return Math.fround(x) ** alpha;
    case 'abs':
      return Math.abs(x);
    case 'affine':
      return alpha * x + beta;
    case 'elu':
      return x > 0 ? x : alpha * Math.expm1(x);
    case 'selu':
      return beta * (x > 0 ? x : alpha * Math.expm1(x));
    case 'softplus':
      return softplus(x);
    case 'mish':
      return x * Math.tanh(softplus(x));
  }
}

/** log(1 + eˣ) without overflow: x + log1p(e⁻ˣ) for positive x. */
function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

/**
 * f'(x) of each kind, as PyTorch's autograd computes it: clip passes where min ≤ x ≤ max; hardSigmoid
 * where 0 < αx + β < 1 (strict, as torch's hardsigmoid_backward); abs'(0) = 0; softplus' is the sigmoid;
 * mish' = tanh(sp) + x·σ(x)·(1 − tanh²(sp)) with sp = softplus(x).
 */
export function unaryMathDerivative(x: number, a: UnaryAttrs): number {
  const alpha = a.alpha ?? 0;
  const beta = a.beta ?? 0;
  switch (a.kind) {
    case 'clip':
      return x >= a.min && x <= a.max ? 1 : 0;
    case 'hardSwish':
      return x < -3 ? 0 : x > 3 ? 1 : (2 * x + 3) / 6;
    case 'hardSigmoid': {
      const v = alpha * x + beta;
      return v > 0 && v < 1 ? alpha : 0;
    }
    case 'erf':
      return TWO_OVER_SQRT_PI * Math.exp(-x * x);
    case 'gelu':
      return 0.5 * (1 + erf(x * Math.SQRT1_2)) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x);
    case 'silu': {
      const s = 1 / (1 + Math.exp(-x));
      return s * (1 + x * (1 - s));
    }
    case 'sqrt':
      return 0.5 / Math.sqrt(x);
    case 'exp':
      return Math.exp(x);
    case 'log':
      return 1 / x;
    case 'reciprocal':
      return -1 / (x * x);
    case 'pow':
      return alpha * x ** (alpha - 1);
    case 'abs':
      return x > 0 ? 1 : x < 0 ? -1 : 0;
    case 'affine':
      return alpha;
    // elu/selu at 0: the negative side's α (β·α), as torch's elu_backward (x ≤ 0).
    case 'elu':
      return x > 0 ? 1 : alpha * Math.exp(x);
    case 'selu':
      return beta * (x > 0 ? 1 : alpha * Math.exp(x));
    case 'softplus':
      return 1 / (1 + Math.exp(-x));
    case 'mish': {
      const t = Math.tanh(softplus(x));
      return t + (x * (1 - t * t)) / (1 + Math.exp(-x));
    }
  }
}
