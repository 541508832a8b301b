// Backward ops of the ONNX breadth ops on WebGPU: unaryGrad (dY·f'(x) of every unary kind), binaryGrad
// (max/min/pow/prelu, torch's conventions), whereGrad, gatherGrad (the scatter-add, as a gather per dX
// value: no atomics, the reference's summation order) and reduceMaxGrad (dY shared by tied maxima).
import { sizeOf } from '../../../core/shape.js';
import { keptShape } from '../../../ops/reduce.js';
import { broadcastStrides } from '../../../ops/strides.js';
import type { BinaryGradAttrs, UnaryAttrs } from '../../../ops/types.js';
import type { KernelFactory } from '../../backend.js';
import { f, type GpuContext } from '../program.js';
import { isnanWgsl, programKernel } from './common.js';
import { erfWgsl, expSeriesWgsl, powWgsl, unaryConstants, unaryConstantsWgsl } from './onnx-ops.js';
import { stridedWalk } from './strided.js';
import { gatherShapes, indexTable, reductionIndex } from './tensor-ops.js';

/** f'(x) of each unary kind, as unaryMathDerivative (src/ops/unary-math.ts) defines it; after unaryConstantsWgsl. */
function derivativeWgsl(a: UnaryAttrs): string {
  switch (a.kind) {
    case 'clip':
      // NaN fails both comparisons in the reference: gradient 0. Infinite bounds compare as floats at run time.
      return 'return select(0.0, 1.0, !isnan(x) && x >= lo && x <= hi);';
    case 'hardSwish':
      return 'if (x < -3.0) { return 0.0; } if (x > 3.0) { return 1.0; } return (2.0 * x + 3.0) / 6.0;';
    case 'hardSigmoid':
      return 'let v = alpha * x + beta; return select(0.0, alpha, v > 0.0 && v < 1.0);';
    case 'erf':
      return 'return 1.1283791670955126 * exp(-x * x);';
    case 'gelu':
      return 'return 0.5 * (1.0 + erff(x * 0.70710678118654752)) + x * 0.3989422804014327 * exp(-0.5 * x * x);';
    case 'silu':
      return 'let s = 1.0 / (1.0 + exp(-x)); return s * (1.0 + x * (1.0 - s));';
    case 'sqrt':
      return 'return 0.5 / sqrt(x);';
    case 'exp':
      return 'return exp(x);';
    case 'log':
      return 'return 1.0 / x;';
    case 'reciprocal':
      return 'return -1.0 / (x * x);';
    case 'pow':
      return 'return alpha * powf(x, alpha - 1.0);';
    case 'abs':
      return 'if (x > 0.0) { return 1.0; } if (x < 0.0) { return -1.0; } return 0.0;';
    case 'affine':
      return 'return alpha;';
    case 'elu':
      return 'if (x > 0.0) { return 1.0; } return alpha * exp(x);';
    case 'selu':
      return 'if (x > 0.0) { return beta; } return beta * alpha * exp(x);';
    case 'softplus':
      return 'return 1.0 / (1.0 + exp(-x));';
    case 'mish':
      return 'let t = tanh(clamp(softplusf(x), -15.0, 15.0)); return t + (x * (1.0 - t * t)) / (1.0 + exp(-x));';
  }
}

/** dX = dY · f'(X). Inputs: dY, X. */
export const unaryGradWebGpu =
  (ctx: GpuContext): KernelFactory<'unaryGrad'> =>
  ({ name, attrs, outputShape }) => {
    const body = `${isnanWgsl}
${powWgsl}
${erfWgsl}
${expSeriesWgsl}
fn dfx(x: f32) -> f32 {
  ${unaryConstantsWgsl}
  ${derivativeWgsl(attrs)}
}
fn body(i: u32) { m[u.y + i] = m[u.dy + i] * dfx(m[u.x + i]); }`;
    return programKernel(
      ctx,
      `${name} unaryGrad ${attrs.kind}`,
      ['dy', 'x', 'y'],
      [{ body, threads: sizeOf(outputShape) }],
      ([dy, x], dx) => [f(dy), f(x), f(dx)],
      { shapes: unaryConstants(attrs) },
    );
  };

/** d(a ∘ b)/d(operand) · g, binaryDerivative's rules (ties of max/min split the gradient in half). */
function binaryDerivativeWgsl(a: BinaryGradAttrs): string {
  const [mine, other] = a.operand === 0 ? ['a', 'b'] : ['b', 'a'];
  switch (a.kind) {
    case 'max':
    case 'min':
      return `if (${mine} == ${other}) { return g / 2.0; }
  return select(0.0, g, ${mine} ${a.kind === 'max' ? '>' : '<'} ${other});`;
    case 'pow':
      return a.operand === 0
        ? 'if (b == 0.0) { return 0.0; } return g * b * powf(a, b - 1.0);'
        : 'if (a == 0.0 && b >= 0.0) { return 0.0; } return g * powf(a, b) * log(a);';
    case 'prelu':
      return a.operand === 0 ? 'return select(g * b, g, a > 0.0);' : 'return select(g * a, 0.0, a > 0.0);';
    default:
      throw new Error(`internal: binaryGrad of '${a.kind}' is expressed with binary ops (tensor-ops-grad.ts)`);
  }
}

/** dL/d(operand) at the output's shape. Inputs: dY, a, b (each operand broadcast). */
export const binaryGradWebGpu =
  (ctx: GpuContext): KernelFactory<'binaryGrad'> =>
  ({ name, attrs, inputShapes: [, as, bs], outputShape }) => {
    const walk = stridedWalk('i', outputShape, {
      ia: broadcastStrides(as, outputShape),
      ib: broadcastStrides(bs, outputShape),
    });
    const body = `${powWgsl}
fn derivative(a: f32, b: f32, g: f32) -> f32 {
  ${binaryDerivativeWgsl(attrs)}
}
fn body(i: u32) {
  ${walk.code}
  m[u.y + i] = derivative(m[u.a + ia], m[u.b + ib], m[u.dy + i]);
}`;
    return programKernel(
      ctx,
      `${name} binaryGrad ${attrs.kind}`,
      ['dy', 'a', 'b', 'y'],
      [{ body, threads: sizeOf(outputShape) }],
      ([dy, a, b], dx) => [f(dy), f(a), f(b), f(dx)],
      { shapes: walk.shapes },
    );
  };

/** dY where the condition picks this operand (x: c ≠ 0, y: c = 0), 0 elsewhere. Inputs: condition, dY. */
export const whereGradWebGpu =
  (ctx: GpuContext): KernelFactory<'whereGrad'> =>
  ({ name, attrs, inputShapes: [cs], outputShape }) => {
    const walk = stridedWalk('i', outputShape, { ic: broadcastStrides(cs, outputShape) });
    // Which operand (1: x, where c ≠ 0) is a uniform too: both share the pipeline.
    const body = `fn body(i: u32) {
  ${walk.code}
  let picked = (m[u.c + ic] != 0.0) == (u.OPERAND == 1u);
  m[u.y + i] = select(0.0, m[u.dy + i], picked);
}`;
    return programKernel(
      ctx,
      `${name} whereGrad`,
      ['c', 'dy', 'y'],
      [{ body, threads: sizeOf(outputShape) }],
      ([c, dy], dx) => [f(c), f(dy), f(dx)],
      { shapes: { OPERAND: attrs.operand, ...walk.shapes } },
    );
  };

/** dX[o, j, i] = Σ over the k with indices[k] = j of dY[o, k, i], in k order. Input: dY. */
export const gatherGradWebGpu =
  (ctx: GpuContext): KernelFactory<'gatherGrad'> =>
  ({ name, attrs, outputShape }) => {
    const table = indexTable(ctx, attrs);
    const body = `fn body(i: u32) {
  let inner = i % u.INNER;
  let j = (i / u.INNER) % u.AXIS;
  let o = i / (u.INNER * u.AXIS);
  var acc: f32 = 0.0;
  for (var k: u32 = 0u; k < u.INDICES; k++) {
    if (u32(m[u.idx + k]) == j) { acc += m[u.dy + (o * u.INDICES + k) * u.INNER + inner]; }
  }
  m[u.y + i] = acc;
}`;
    const kernel = programKernel(
      ctx,
      `${name} gatherGrad`,
      ['dy', 'idx', 'y'],
      [{ body, threads: sizeOf(outputShape) }],
      ([dy], dx) => [f(dy), f(table.ptr), f(dx)],
      { shapes: gatherShapes(outputShape, attrs) },
    );
    return {
      ...kernel,
      dispose() {
        kernel.dispose?.();
        table.free();
      },
    };
  };

/**
 * dX = dY[group] / ties where X equals its group's maximum Y, 0 elsewhere. A first pass counts each group's
 * ties into scratch (one invocation per group), the second writes dX (one per value). Inputs: dY, X, Y.
 */
export const reduceMaxGradWebGpu =
  (ctx: GpuContext): KernelFactory<'reduceMaxGrad'> =>
  ({ name, attrs, inputShapes: [, xs] }) => {
    const kept = keptShape(xs, attrs.axes);
    const groups = sizeOf(kept);
    const index = reductionIndex(xs, attrs.axes);
    const ties = `${index.code}
fn body(o: u32) {
  let base = u.x + groupBase(o);
  let y = m[u.yv + o];
  var n: f32 = 0.0;
  for (var k: u32 = 0u; k < u.COUNT; k++) { if (m[base + memberOffset(k)] == y) { n += 1.0; } }
  m[u.s + o] = n;
}`;
    // The spread's walk (S… uniforms) beside the ties pass's two (G…, K…): one uniform struct for both passes.
    const walk = stridedWalk('i', xs, { g: broadcastStrides(kept, xs) }, 'S');
    const spread = `fn body(i: u32) {
  ${walk.code}
  m[u.y + i] = select(0.0, m[u.dy + g] / m[u.s + g], m[u.x + i] == m[u.yv + g]);
}`;
    return programKernel(
      ctx,
      `${name} reduceMaxGrad`,
      ['dy', 'x', 'yv', 'y', 's'],
      [
        { body: ties, threads: groups },
        { body: spread, threads: sizeOf(xs) },
      ],
      ([dy, x, yv], dx, s) => [f(dy), f(x), f(yv), f(dx), f(s)],
      { scratchBytes: 4 * Math.max(groups, 1), shapes: { ...index.shapes, ...walk.shapes } },
    );
  };
