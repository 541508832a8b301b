// The ONNX import ops on WebGPU: broadcasting binary math, the unary math kinds, concat, transpose, constant
// padding and a batched matmul. Direct kernels, one invocation per output value: the output index is split
// into coordinates by unrolled divisions by the dimensions, each operand's offset summed from its own
// strides (0 along a broadcast dimension) — no index arrays in the shader. Only the op's kind and the walk's
// rank are compiled in; extents, strides, pads and float constants are uniforms (strided.ts).
import { normalizeDim, sizeOf } from '../../../core/shape.js';
import { broadcastStrides } from '../../../ops/strides.js';
import type { BinaryKind, UnaryAttrs } from '../../../ops/types.js';
import type { KernelFactory } from '../../backend.js';
import { f, f32bits } from '../program.js';
import type { GpuContext } from '../program.js';
import { type Shapes, isnanWgsl, programKernel } from './common.js';
import { stridedWalk } from './strided.js';

/**
 * The float constants a unary kind reads (alpha, beta; clip's bounds), as uniform bits: `fn fx` reads them
 * with `bitcast<f32>(u.ALPHA)` …, so kinds that differ only in a constant share one pipeline. Bits, not
 * literals, also carry clip's infinite bounds, which WGSL rejects as constants.
 */
export function unaryConstants(a: UnaryAttrs): Shapes {
  return {
    ALPHA: f32bits(a.alpha ?? 0),
    BETA: f32bits(a.beta ?? 0),
    LO: f32bits(a.kind === 'clip' ? a.min : 0),
    HI: f32bits(a.kind === 'clip' ? a.max : 0),
  };
}

/** WGSL lets of the unary constants, for the start of `fn fx` / `fn dfx`. */
export const unaryConstantsWgsl = `let alpha = bitcast<f32>(u.ALPHA);
  let beta = bitcast<f32>(u.BETA);
  let lo = bitcast<f32>(u.LO);
  let hi = bitcast<f32>(u.HI);`;

/**
 * a^b as JavaScript's `**` (the reference): WGSL's pow is undefined for a < 0, so integer exponents take
 * the sign from their parity; b = 0 gives 1.
 */
export const powWgsl = `fn powf(a: f32, b: f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  if (b == floor(b) && abs(b) < 16777216.0) {
    let r = pow(abs(a), b);
    if (a < 0.0 && (i32(b) & 1) != 0) { return -r; }
    return r;
  }
  return pow(a, b);
}`;

// NaN in either operand gives NaN for max/min (the reference's Math.max/min), tested by bits.
const binaryExpr: Record<BinaryKind, string> = {
  add: 'a + b',
  sub: 'a - b',
  mul: 'a * b',
  div: 'a / b',
  max: 'select(max(a, b), a + b, isnan(a) || isnan(b))',
  min: 'select(min(a, b), a + b, isnan(a) || isnan(b))',
  pow: 'powf(a, b)',
  prelu: 'select(a, a * b, a < 0.0)',
};

export const binaryWebGpu =
  (ctx: GpuContext): KernelFactory<'binary'> =>
  ({ name, attrs, inputShapes: [as, bs], outputShape }) => {
    const walk = stridedWalk('i', outputShape, {
      ia: broadcastStrides(as, outputShape),
      ib: broadcastStrides(bs, outputShape),
    });
    const body = `${isnanWgsl}
${powWgsl}
fn body(i: u32) {
  ${walk.code}
  let a = m[u.a + ia];
  let b = m[u.b + ib];
  m[u.y + i] = ${binaryExpr[attrs.kind]};
}`;
    return programKernel(
      ctx,
      `${name} binary ${attrs.kind}`,
      ['a', 'b', 'y'],
      [{ body, threads: sizeOf(outputShape) }],
      ([a, b], y) => [f(a), f(b), f(y)],
      { shapes: walk.shapes },
    );
  };

/**
 * erf in float32: Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7, under float32's resolution
 * near 1), odd-extended.
 */
export const erfWgsl = `fn erff(x: f32) -> f32 {
  let a = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let p = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t;
  return sign(x) * (1.0 - p * exp(-a * a));
}`;

/** The body of `fn fx(x)`, after unaryConstantsWgsl: the reference's unaryMath (src/ops/unary-math.ts). */
function unaryWgsl(a: UnaryAttrs): string {
  switch (a.kind) {
    case 'clip':
      // The reference's order exactly; an infinite bound is a float like any other at run time.
      return 'if (isnan(x)) { return x; } if (x < lo) { return lo; } if (x > hi) { return hi; } return x;';
    case 'hardSwish':
      return 'return x * clamp(x + 3.0, 0.0, 6.0) / 6.0;';
    case 'hardSigmoid':
      return 'let v = alpha * x + beta; if (isnan(v)) { return v; } return clamp(v, 0.0, 1.0);';
    case 'erf':
      return 'return erff(x);';
    case 'gelu':
      return 'return 0.5 * x * (1.0 + erff(x * 0.70710678118654752));';
    case 'silu':
      return 'return x / (1.0 + exp(-x));';
    case 'sqrt':
      return 'return sqrt(x);';
    case 'exp':
      return 'return exp(x);';
    case 'log':
      return 'return log(x);';
    case 'reciprocal':
      return 'return 1.0 / x;';
    case 'pow':
      return 'return powf(x, alpha);';
    case 'abs':
      return 'return abs(x);';
    case 'affine':
      return 'return alpha * x + beta;';
    case 'elu':
      return 'if (x > 0.0) { return x; } return alpha * expm1f(x);';
    case 'selu':
      return 'if (x > 0.0) { return beta * x; } return beta * alpha * expm1f(x);';
    case 'softplus':
      return 'return softplusf(x);';
    case 'mish':
      return 'return x * tanh(clamp(softplusf(x), -15.0, 15.0));';
  }
}

/**
 * exp(x) − 1 and log(1 + eˣ) without the cancellation of the plain forms near 0 (elu/selu's negative side,
 * softplus and mish): short series where the plain form would lose float32 digits.
 */
export const expSeriesWgsl = `fn expm1f(x: f32) -> f32 {
  if (abs(x) < 0.01) { return x * (1.0 + x * (0.5 + x / 6.0)); }
  return exp(x) - 1.0;
}
fn log1pf(y: f32) -> f32 {
  if (y < 1e-4) { return y * (1.0 - 0.5 * y); }
  return log(1.0 + y);
}
fn softplusf(x: f32) -> f32 {
  if (x > 0.0) { return x + log1pf(exp(-x)); }
  return log1pf(exp(x));
}`;

export const unaryWebGpu =
  (ctx: GpuContext): KernelFactory<'unary'> =>
  ({ name, attrs, outputShape }) => {
    const body = `${isnanWgsl}
${powWgsl}
${erfWgsl}
${expSeriesWgsl}
fn fx(x: f32) -> f32 {
  ${unaryConstantsWgsl}
  ${unaryWgsl(attrs)}
}
fn body(i: u32) { m[u.y + i] = fx(m[u.x + i]); }`;
    return programKernel(
      ctx,
      `${name} unary ${attrs.kind}`,
      ['x', 'y'],
      [{ body, threads: sizeOf(outputShape) }],
      ([x], y) => [f(x), f(y)],
      { shapes: unaryConstants(attrs) },
    );
  };

/**
 * Output rows of TOTAL values along the axis and inside it; input k fills [END_k − ROWS_k, END_k) of each.
 * The number of inputs is compiled in (one branch and one pointer each), their extents are uniforms.
 */
export const concatWebGpu =
  (ctx: GpuContext): KernelFactory<'concat'> =>
  ({ name, attrs, inputShapes, outputShape }) => {
    const axis = normalizeDim(attrs.axis, outputShape.length, 'concat');
    const inner = sizeOf(outputShape.slice(axis + 1));
    const shapes: Record<string, number> = { TOTAL: outputShape[axis] * inner };
    let end = 0;
    const branches = inputShapes.map((s, k) => {
      shapes[`ROWS${k}`] = s[axis] * inner;
      end += s[axis] * inner;
      shapes[`END${k}`] = end;
      return `if (j < u.END${k}) { m[u.y + i] = m[u.x${k} + o * u.ROWS${k} + j - (u.END${k} - u.ROWS${k})]; return; }`;
    });
    const body = `fn body(i: u32) {
  let o = i / u.TOTAL;
  let j = i % u.TOTAL;
  ${branches.join('\n  ')}
}`;
    const fields = [...inputShapes.map((_, k) => `x${k}`), 'y'];
    return programKernel(
      ctx,
      `${name} concat`,
      fields,
      [{ body, threads: sizeOf(outputShape) }],
      (ins, y) => [...ins.map(f), f(y)],
      { shapes },
    );
  };

export const transposeWebGpu =
  (ctx: GpuContext): KernelFactory<'transpose'> =>
  ({ name, attrs, inputShapes: [xs], outputShape }) => {
    const inStrides = broadcastStrides(xs, xs);
    const walk = stridedWalk('i', outputShape, { ix: attrs.perm.map((p) => inStrides[p]) });
    const body = `fn body(i: u32) {
  ${walk.code}
  m[u.y + i] = m[u.x + ix];
}`;
    return programKernel(
      ctx,
      `${name} transpose`,
      ['x', 'y'],
      [{ body, threads: sizeOf(outputShape) }],
      ([x], y) => [f(x), f(y)],
      { shapes: walk.shapes },
    );
  };

/**
 * Each output cell reads the input cell its coordinates minus the begin pads name, or the pad value outside
 * it. Per dimension d: the output extent D<d>, the begin pad P<d> (negative: a crop, so it travels as i32
 * bits), the input extent X<d> and stride S<d>; the pad value as float bits (it may be ±∞ or NaN).
 */
export const padWebGpu =
  (ctx: GpuContext): KernelFactory<'pad'> =>
  ({ name, attrs, inputShapes: [xs], outputShape }) => {
    const inStrides = broadcastStrides(xs, xs);
    const shapes: Record<string, number> = { VALUE: f32bits(attrs.value) };
    const lines = ['var r = i;', 'var ix: u32 = 0u;', 'var inside = true;'];
    for (let d = outputShape.length - 1; d >= 0; d--) {
      Object.assign(shapes, {
        [`D${d}`]: outputShape[d],
        [`P${d}`]: attrs.pads[d] >>> 0,
        [`X${d}`]: xs[d],
        [`S${d}`]: inStrides[d],
      });
      // In i32: a begin pad can be negative (a crop), and a coordinate before it is outside.
      lines.push(
        `{ let c = i32(r % u.D${d}) - bitcast<i32>(u.P${d}); r = r / u.D${d}; if (c < 0 || c >= i32(u.X${d})) { inside = false; } else { ix += u32(c) * u.S${d}; } }`,
      );
    }
    const body = `fn body(i: u32) {
  ${lines.join('\n  ')}
  if (inside) { m[u.y + i] = m[u.x + ix]; } else { m[u.y + i] = bitcast<f32>(u.VALUE); }
}`;
    return programKernel(ctx, `${name} pad`, ['x', 'y'], [{ body, threads: sizeOf(outputShape) }], ([x], y) => [f(x), f(y)], {
      shapes,
    });
  };

/** [..., m, k] × [..., k, n] with broadcast batch dimensions; one invocation per output value, summed in k order. */
export const matmulWebGpu =
  (ctx: GpuContext): KernelFactory<'matmul'> =>
  ({ name, inputShapes: [as, bs], outputShape }) => {
    if (outputShape.length < 2) throw new Error('internal: matmul output of rank < 2');
    const [mm, n] = outputShape.slice(-2);
    const k = as[as.length - 1];
    const batch = outputShape.slice(0, -2);
    const scaled = (shape: readonly number[], size: number) => broadcastStrides(shape.slice(0, -2), batch).map((s) => s * size);
    // The batch walk's index is below the batch's size (i < threads): B* uniforms, apart from M, N, K.
    const walk = stridedWalk('i / (u.M * u.N)', batch, { ia: scaled(as, mm * k), ib: scaled(bs, k * n) }, 'B');
    const body = `fn body(i: u32) {
  let col = i % u.N;
  let row = (i / u.N) % u.M;
  ${walk.code}
  var acc: f32 = 0.0;
  for (var t: u32 = 0u; t < u.K; t++) { acc += m[u.a + ia + row * u.K + t] * m[u.b + ib + t * u.N + col]; }
  m[u.y + i] = acc;
}`;
    return programKernel(
      ctx,
      `${name} matmul`,
      ['a', 'b', 'y'],
      [{ body, threads: sizeOf(outputShape) }],
      ([a, b], y) => [f(a), f(b), f(y)],
      { shapes: { M: mm, N: n, K: k, ...walk.shapes } },
    );
  };
