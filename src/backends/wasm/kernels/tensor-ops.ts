import { normalizeDim, shapesEqual, sizeOf } from '../../../core/shape.js';
import type { BinaryKind, UnaryKind } from '../../../ops/types.js';
import type { KernelFactory, PreparedKernel } from '../../backend.js';
import { broadcastStrides, matmulBatches } from '../../../ops/strides.js';
import type { WasmContext } from '../context.js';

/**
 * i32 arrays (shapes, strides, pads) the layout kernels read, written into wasm memory at plan time with
 * room for the kernel's odometer (`scratch` i32s) after them. Returns their offsets and a release.
 */
export function intArrays(
  ctx: WasmContext,
  arrays: readonly (readonly number[])[],
  scratch: number,
): { ptrs: number[]; free(): void } {
  const total = arrays.reduce((a, x) => a + x.length, 0) + scratch;
  const base = ctx.arena.alloc(4 * Math.max(total, 1));
  const view = new Int32Array(ctx.arena.buffer, base, Math.max(total, 1));
  const ptrs: number[] = [];
  let at = 0;
  for (const a of arrays) {
    ptrs.push(base + 4 * at);
    view.set(a, at);
    at += a.length;
  }
  ptrs.push(base + 4 * at);
  return { ptrs, free: () => ctx.arena.free(base) };
}

/** The general broadcast: strides of each operand read as broadcast to the output (assembly/tensor_ops.ts). */
function binaryBroadcastWasm(
  ctx: WasmContext,
  kind: BinaryKind,
  as: readonly number[],
  bs: readonly number[],
  out: readonly number[],
): PreparedKernel {
  const n = sizeOf(out);
  if (out.length === 0) return { scratchBytes: 0, run: ([a, b], y) => ctx.exports.f32_binary_same(a, b, y, 1, kindCode[kind]) };
  const arrays = intArrays(ctx, [out, broadcastStrides(as, out), broadcastStrides(bs, out)], out.length);
  const [shape, sa, sb, idx] = arrays.ptrs;
  return {
    scratchBytes: 0,
    run: ([a, b], y) => ctx.exports.f32_binary_broadcast(a, b, y, n, out.length, shape, sa, sb, idx, kindCode[kind]),
    dispose: arrays.free,
  };
}

const kindCode: Record<BinaryKind, number> = { add: 0, sub: 1, mul: 2, div: 3, max: 4, min: 5, pow: 6, prelu: 7 };

/**
 * [outer, mid, inner] when `small`, broadcast to `out`, varies along one contiguous block of
 * dimensions that it matches exactly (a per-channel or per-row constant; mid 1 for a scalar).
 */
export function midBroadcast(small: readonly number[], out: readonly number[]): [number, number, number] | null {
  const padded = [...new Array(out.length - small.length).fill(1), ...small];
  const varying = padded.map((d, i) => (d !== 1 ? i : -1)).filter((i) => i >= 0);
  if (varying.length === 0) return [1, 1, sizeOf(out)];
  const s = varying[0];
  const e = varying[varying.length - 1] + 1;
  for (let i = s; i < e; i++) if (padded[i] !== out[i]) return null;
  return [sizeOf(out.slice(0, s)), sizeOf(out.slice(s, e)), sizeOf(out.slice(e))];
}

/**
 * Broadcasting arithmetic on wasm (assembly/broadcast.ts, SIMD with scalar twins): equal shapes, and one
 * full operand with a per-channel/per-row/scalar other (the constants ONNX graphs carry). Any other
 * broadcast runs the generic loop over wasm memory.
 */
export const binaryWasm = (ctx: WasmContext): KernelFactory<'binary'> => {
  return (kc) => {
    const {
      attrs,
      inputShapes: [as, bs],
      outputShape,
    } = kc;
    const n = sizeOf(outputShape);
    const { exports } = ctx;
    const kind = attrs.kind;
    // pow has no lane-wise form: the general (scalar) loop.
    if (kind === 'pow') return binaryBroadcastWasm(ctx, kind, as, bs, outputShape);
    if (shapesEqual(as, bs)) {
      if (kind === 'add') return { scratchBytes: 0, run: ([a, b], y) => exports.f32_add(a, b, y, n) };
      if (kind === 'mul') return { scratchBytes: 0, run: ([a, b], y) => exports.f32_mul(a, b, y, n) };
      return { scratchBytes: 0, run: ([a, b], y) => exports.f32_binary_same(a, b, y, n, kindCode[kind]) };
    }
    const aFull = sizeOf(as) === n && as.length === outputShape.length;
    const bFull = sizeOf(bs) === n && bs.length === outputShape.length;
    const plan = aFull ? midBroadcast(bs, outputShape) : bFull ? midBroadcast(as, outputShape) : null;
    if (plan) {
      const [outer, mid, inner] = plan;
      const swap = aFull ? 0 : 1;
      return {
        scratchBytes: 0,
        run: ([a, b], y) =>
          swap
            ? exports.f32_binary_bcast_mid(b, a, y, outer, mid, inner, kindCode[kind], 1)
            : exports.f32_binary_bcast_mid(a, b, y, outer, mid, inner, kindCode[kind], 0),
      };
    }
    return binaryBroadcastWasm(ctx, kind, as, bs, outputShape);
  };
};

/** Codes of assembly/unary_math.ts. */
const unaryMathCode: Record<Exclude<UnaryKind, 'clip' | 'hardSwish'>, number> = {
  hardSigmoid: 0,
  erf: 1,
  gelu: 2,
  silu: 3,
  sqrt: 4,
  exp: 5,
  log: 6,
  reciprocal: 7,
  pow: 8,
  abs: 9,
  affine: 10,
  elu: 11,
  selu: 11,
  softplus: 12,
  mish: 13,
};

/**
 * clip and hardSwish on wasm (assembly/broadcast.ts; bounds that are not float32 values: assembly/tensor_ops.ts);
 * the other kinds in assembly/unary_math.ts.
 */
export const unaryWasm = (ctx: WasmContext): KernelFactory<'unary'> => {
  return (kc) => {
    const n = sizeOf(kc.outputShape);
    const { kind, min, max } = kc.attrs;
    const { exports } = ctx;
    if (kind === 'hardSwish') return { scratchBytes: 0, run: ([x], y) => exports.f32_hardswish(x, y, n) };
    if (kind !== 'clip') {
      const code = unaryMathCode[kind];
      const a = kc.attrs.alpha ?? 0;
      // elu is selu with scale 1 (code 11).
      const b = kind === 'elu' ? 1 : (kc.attrs.beta ?? 0);
      return { scratchBytes: 0, run: ([x], y) => exports.f32_unary_math(x, y, n, code, a, b) };
    }
    if (kind === 'clip' && Math.fround(min) === min && Math.fround(max) === max) {
      return { scratchBytes: 0, run: ([x], y) => exports.f32_clip(x, y, n, min, max) };
    }
    return { scratchBytes: 0, run: ([x], y) => exports.f32_clip_f64(x, y, n, min, max) };
  };
};

/** dy · f'(x): clip and hardSwish (assembly/tensor_ops.ts), the other kinds (assembly/unary_math.ts). */
export const unaryGradWasm =
  ({ exports }: WasmContext): KernelFactory<'unaryGrad'> =>
  ({ attrs, outputShape }) => {
    const n = sizeOf(outputShape);
    if (attrs.kind !== 'clip' && attrs.kind !== 'hardSwish') {
      const code = unaryMathCode[attrs.kind];
      const a = attrs.alpha ?? 0;
      const b = attrs.kind === 'elu' ? 1 : (attrs.beta ?? 0);
      return { scratchBytes: 0, run: ([dy, x], dx) => exports.f32_unary_math_grad(dy, x, dx, n, code, a, b) };
    }
    const code = attrs.kind === 'clip' ? 0 : 1;
    return { scratchBytes: 0, run: ([dy, x], dx) => exports.f32_unary_grad(dy, x, dx, n, code, attrs.min, attrs.max) };
  };

/** A constant: its values live in wasm memory as a parameter; each run copies them into the output. */
export const constantWasm =
  ({ arena }: WasmContext): KernelFactory<'constant'> =>
  ({ params, outputShape }) => {
    const bytes = 4 * sizeOf(outputShape);
    return { scratchBytes: 0, run: (_, y) => arena.copy(params.value.ptr, y, bytes) };
  };

/** Concatenation as block copies within wasm memory: for each outer index, each input's run of rows. */
export const concatWasm =
  ({ arena }: WasmContext): KernelFactory<'concat'> =>
  ({ attrs, inputShapes, outputShape }) => {
    const axis = normalizeDim(attrs.axis, outputShape.length, 'concat');
    const outer = sizeOf(outputShape.slice(0, axis));
    const inner = sizeOf(outputShape.slice(axis + 1));
    const rows = inputShapes.map((s) => s[axis] * inner);
    const total = outputShape[axis] * inner;
    return {
      scratchBytes: 0,
      run(ins, y) {
        let offset = 0;
        ins.forEach((x, k) => {
          for (let o = 0; o < outer; o++) arena.copy(x + 4 * o * rows[k], y + 4 * (o * total + offset), 4 * rows[k]);
          offset += rows[k];
        });
      },
    };
  };

export const transposeWasm =
  (ctx: WasmContext): KernelFactory<'transpose'> =>
  ({ attrs, inputShapes: [xs], outputShape }) => {
    const n = sizeOf(xs);
    if (xs.length === 0) return { scratchBytes: 0, run: ([x], y) => ctx.arena.copy(x, y, 4) };
    const inStrides = broadcastStrides(xs, xs);
    const arrays = intArrays(ctx, [outputShape, attrs.perm.map((p) => inStrides[p])], xs.length);
    const [shape, strides, idx] = arrays.ptrs;
    return {
      scratchBytes: 0,
      run: ([x], y) => ctx.exports.f32_transpose(x, y, n, xs.length, shape, strides, idx),
      dispose: arrays.free,
    };
  };

export const padWasm =
  (ctx: WasmContext): KernelFactory<'pad'> =>
  ({ attrs, inputShapes: [xs], outputShape }) => {
    const n = sizeOf(xs);
    const m = sizeOf(outputShape);
    const rank = xs.length;
    const arrays = intArrays(ctx, [xs, outputShape, broadcastStrides(outputShape, outputShape), attrs.pads.slice(0, rank)], rank);
    const [inShape, outShape, outStrides, pads, idx] = arrays.ptrs;
    return {
      scratchBytes: 0,
      run: ([x], y) => ctx.exports.f32_pad_constant(x, y, n, m, rank, inShape, outShape, outStrides, pads, idx, attrs.value),
      dispose: arrays.free,
    };
  };

/** Batched matmul with broadcast batch dimensions: one f32_gemm per batch (assembly/gemm.ts). */
export const matmulWasm =
  ({ exports }: WasmContext): KernelFactory<'matmul'> =>
  ({ inputShapes: [as, bs], outputShape }) => {
    const { m, n, k, offA, offB } = matmulBatches(as, bs, outputShape);
    const batches = offA.length;
    return {
      scratchBytes: exports.f32_gemm_scratch_bytes(m, n, k),
      run([a, b], y, scratch) {
        for (let t = 0; t < batches; t++)
          exports.f32_gemm(0, 0, m, n, k, a + 4 * offA[t], k, b + 4 * offB[t], n, y + 4 * t * m * n, n, 0, scratch);
      },
    };
  };
