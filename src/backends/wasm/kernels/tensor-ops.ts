import { shapesEqual, sizeOf } from '../../../core/shape.js';
import type { BinaryKind } from '../../../ops/types.js';
import type { KernelFactory } from '../../backend.js';
import { binaryGeneric, unaryGeneric } from '../../reference/kernels/tensor-ops.js';
import type { WasmContext } from '../context.js';

const kindCode: Record<BinaryKind, number> = { add: 0, sub: 1, mul: 2, div: 3 };

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
  const generic = binaryGeneric(ctx.arena);
  return (kc) => {
    const {
      attrs,
      inputShapes: [as, bs],
      outputShape,
    } = kc;
    const n = sizeOf(outputShape);
    const { exports } = ctx;
    const kind = attrs.kind;
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
    return generic(kc);
  };
};

/** clip and hardSwish on wasm (assembly/broadcast.ts). */
export const unaryWasm = (ctx: WasmContext): KernelFactory<'unary'> => {
  const generic = unaryGeneric(ctx.arena);
  return (kc) => {
    const n = sizeOf(kc.outputShape);
    const { kind, min, max } = kc.attrs;
    const { exports } = ctx;
    if (kind === 'hardSwish') return { scratchBytes: 0, run: ([x], y) => exports.f32_hardswish(x, y, n) };
    if (kind === 'clip' && Math.fround(min) === min && Math.fround(max) === max) {
      return { scratchBytes: 0, run: ([x], y) => exports.f32_clip(x, y, n, min, max) };
    }
    return generic(kc);
  };
};
