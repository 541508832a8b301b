// The ONNX import ops on WebGPU: broadcasting binary math, the unary math kinds, concat, transpose, constant
// padding and a batched matmul. Direct kernels, one invocation per output value: the output index is split
// into coordinates by unrolled divisions by the (baked-in) dimensions, each operand's offset summed from
// its own strides (0 along a broadcast dimension) — no index arrays in the shader.
import { normalizeDim, sizeOf } from '../../../core/shape.js';
import { broadcastStrides } from '../../../ops/strides.js';
import type { BinaryKind, UnaryAttrs } from '../../../ops/types.js';
import type { KernelFactory } from '../../backend.js';
import { f, f32bits } from '../program.js';
import type { GpuContext } from '../program.js';
import { consts, floatLiteral, isnanWgsl, programKernel } from './common.js';

/**
 * WGSL that splits `index` over `dims` (row-major) and sums coordinate × stride into one u32 per operand
 * (`offsets`: variable name → strides, one per dimension). Unrolled, so the shapes are constants.
 */
export function offsetsCode(index: string, dims: readonly number[], offsets: Record<string, readonly number[]>): string {
  const names = Object.keys(offsets);
  const lines = [`var r = ${index};`, ...names.map((n) => `var ${n}: u32 = 0u;`)];
  for (let d = dims.length - 1; d >= 0; d--) {
    if (dims[d] === 1) continue;
    const adds = names.filter((n) => offsets[n][d] !== 0).map((n) => `${n} += c * ${offsets[n][d]}u;`);
    lines.push(`{ let c = r % ${dims[d]}u; r = r / ${dims[d]}u; ${adds.join(' ')} }`);
  }
  return lines.join('\n  ');
}

/** A float that may be ±∞ or NaN: WGSL rejects such constants, so it comes from its bits through a var. */
export const anyFloat = (name: string, v: number): string =>
  `var ${name}Bits = ${f32bits(v)}u;\n  let ${name} = bitcast<f32>(${name}Bits);`;

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
    const body = `${isnanWgsl}
${powWgsl}
fn body(i: u32) {
  ${offsetsCode('i', outputShape, { ia: broadcastStrides(as, outputShape), ib: broadcastStrides(bs, outputShape) })}
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

function unaryWgsl(a: UnaryAttrs): string {
  const alpha = floatLiteral(a.alpha ?? 0);
  const beta = floatLiteral(a.beta ?? 0);
  switch (a.kind) {
    case 'clip': {
      const lo = Number.isFinite(a.min) ? `if (x < ${floatLiteral(a.min)}) { return ${floatLiteral(a.min)}; }` : '';
      const hi = Number.isFinite(a.max) ? `if (x > ${floatLiteral(a.max)}) { return ${floatLiteral(a.max)}; }` : '';
      // An infinite bound on the wrong side clips everything: min = +∞ or max = −∞.
      const all =
        a.min === Number.POSITIVE_INFINITY || a.max === Number.NEGATIVE_INFINITY
          ? `${anyFloat('bound', a.min === Number.POSITIVE_INFINITY ? a.min : a.max)}\n  return bound;`
          : '';
      return `if (isnan(x)) { return x; } ${all} ${lo} ${hi} return x;`;
    }
    case 'hardSwish':
      return 'return x * clamp(x + 3.0, 0.0, 6.0) / 6.0;';
    case 'hardSigmoid':
      return `let v = ${alpha} * x + ${beta}; if (isnan(v)) { return v; } return clamp(v, 0.0, 1.0);`;
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
      return `return powf(x, ${alpha});`;
    case 'abs':
      return 'return abs(x);';
    case 'affine':
      return `return ${alpha} * x + ${beta};`;
    case 'elu':
      return `if (x > 0.0) { return x; } return ${alpha} * expm1f(x);`;
    case 'selu':
      return `if (x > 0.0) { return ${beta} * x; } return ${beta} * ${alpha} * expm1f(x);`;
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
  ${unaryWgsl(attrs)}
}
fn body(i: u32) { m[u.y + i] = fx(m[u.x + i]); }`;
    return programKernel(ctx, `${name} unary ${attrs.kind}`, ['x', 'y'], [{ body, threads: sizeOf(outputShape) }], ([x], y) => [
      f(x),
      f(y),
    ]);
  };

/** Output rows of TOTAL values along the axis and inside it; input k fills [OFFSET_k, OFFSET_k + ROWS_k) of each. */
export const concatWebGpu =
  (ctx: GpuContext): KernelFactory<'concat'> =>
  ({ name, attrs, inputShapes, outputShape }) => {
    const axis = normalizeDim(attrs.axis, outputShape.length, 'concat');
    const inner = sizeOf(outputShape.slice(axis + 1));
    const rows = inputShapes.map((s) => s[axis] * inner);
    const total = outputShape[axis] * inner;
    let offset = 0;
    const branches = rows.map((r, k) => {
      const start = offset;
      offset += r;
      return `if (j < ${offset}u) { m[u.y + i] = m[u.x${k} + o * ${r}u + j - ${start}u]; return; }`;
    });
    const body = `${consts({ TOTAL: total })}
fn body(i: u32) {
  let o = i / TOTAL;
  let j = i % TOTAL;
  ${branches.join('\n  ')}
}`;
    const fields = [...inputShapes.map((_, k) => `x${k}`), 'y'];
    return programKernel(ctx, `${name} concat`, fields, [{ body, threads: sizeOf(outputShape) }], (ins, y) => [
      ...ins.map(f),
      f(y),
    ]);
  };

export const transposeWebGpu =
  (ctx: GpuContext): KernelFactory<'transpose'> =>
  ({ name, attrs, inputShapes: [xs], outputShape }) => {
    const inStrides = broadcastStrides(xs, xs);
    const body = `fn body(i: u32) {
  ${offsetsCode('i', outputShape, { ix: attrs.perm.map((p) => inStrides[p]) })}
  m[u.y + i] = m[u.x + ix];
}`;
    return programKernel(ctx, `${name} transpose`, ['x', 'y'], [{ body, threads: sizeOf(outputShape) }], ([x], y) => [
      f(x),
      f(y),
    ]);
  };

/** Each output cell reads the input cell its coordinates minus the begin pads name, or the pad value outside it. */
export const padWebGpu =
  (ctx: GpuContext): KernelFactory<'pad'> =>
  ({ name, attrs, inputShapes: [xs], outputShape }) => {
    const inStrides = broadcastStrides(xs, xs);
    const lines = ['var r = i;', 'var ix: u32 = 0u;', 'var inside = true;'];
    for (let d = outputShape.length - 1; d >= 0; d--) {
      // In i32: a begin pad can be negative (a crop), and a coordinate before it is outside.
      lines.push(
        `{ let c = i32(r % ${outputShape[d]}u) - ${attrs.pads[d]}; r = r / ${outputShape[d]}u; if (c < 0 || c >= ${xs[d]}) { inside = false; } else { ix += u32(c) * ${inStrides[d]}u; } }`,
      );
    }
    const body = `fn body(i: u32) {
  ${lines.join('\n  ')}
  ${anyFloat('value', attrs.value)}
  if (inside) { m[u.y + i] = m[u.x + ix]; } else { m[u.y + i] = value; }
}`;
    return programKernel(ctx, `${name} pad`, ['x', 'y'], [{ body, threads: sizeOf(outputShape) }], ([x], y) => [f(x), f(y)]);
  };

/** [..., m, k] × [..., k, n] with broadcast batch dimensions; one invocation per output value, summed in k order. */
export const matmulWebGpu =
  (ctx: GpuContext): KernelFactory<'matmul'> =>
  ({ name, inputShapes: [as, bs], outputShape }) => {
    const rank = outputShape.length;
    const [mm, n] = outputShape.slice(-2);
    const k = as[as.length - 1];
    const batch = outputShape.slice(0, -2);
    const scaled = (shape: readonly number[], size: number) => broadcastStrides(shape.slice(0, -2), batch).map((s) => s * size);
    const body = `${consts({ M: mm, N: n, K: k })}
fn body(i: u32) {
  let col = i % N;
  let row = (i / N) % M;
  ${offsetsCode('i / (M * N)', batch, { ia: scaled(as, mm * k), ib: scaled(bs, k * n) })}
  var acc: f32 = 0.0;
  for (var t: u32 = 0u; t < K; t++) { acc += m[u.a + ia + row * K + t] * m[u.b + ib + t * N + col]; }
  m[u.y + i] = acc;
}`;
    if (rank < 2) throw new Error('internal: matmul output of rank < 2');
    return programKernel(ctx, `${name} matmul`, ['a', 'b', 'y'], [{ body, threads: sizeOf(outputShape) }], ([a, b], y) => [
      f(a),
      f(b),
      f(y),
    ]);
  };
