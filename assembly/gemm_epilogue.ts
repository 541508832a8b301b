// The GEMM's epilogue: bias (per row or per column) then an activation, on a tile of C right after its
// last K block. Also the codes the microkernels and drivers share: activation codes (the TypeScript
// glue's) and the flags of one microkernel call. The SIMD microkernels leave it to a separate pass
// (epilogue_rows_simd); the scalar twins fuse it through act1.
import { sigmoid1, sigmoid4, tanh1, tanh4 } from './mathf';

/** Activation codes shared with the TypeScript glue. */
// @ts-ignore: decorator
@inline export const ACT_NONE: i32 = 0;
// @ts-ignore: decorator
@inline export const ACT_RELU: i32 = 1;
// @ts-ignore: decorator
@inline export const ACT_RELU6: i32 = 2;
// @ts-ignore: decorator
@inline export const ACT_LEAKY: i32 = 3;
// @ts-ignore: decorator
@inline export const ACT_SIGMOID: i32 = 4;
// @ts-ignore: decorator
@inline export const ACT_TANH: i32 = 5;

// Flags of one microkernel call.
// @ts-ignore: decorator
@inline export const F_LOAD: i32 = 1; // start from C instead of 0
// @ts-ignore: decorator
@inline export const F_EPI: i32 = 2; // last K block: bias + activation
// @ts-ignore: decorator
@inline export const F_BIAS_ROW: i32 = 4; // bias[row]
// @ts-ignore: decorator
@inline export const F_BIAS_COL: i32 = 8; // bias[col]

// @ts-ignore: decorator
@inline export function act1(v: f32, act: i32, alpha: f32): f32 {
  if (act == ACT_RELU) return v < 0 ? 0 : v;
  if (act == ACT_RELU6) return v < 0 ? 0 : v > 6 ? 6 : v;
  if (act == ACT_LEAKY) return v >= 0 ? v : alpha * v;
  if (act == ACT_SIGMOID) return sigmoid1(v);
  if (act == ACT_TANH) return tanh1(v);
  return v;
}

// @ts-ignore: decorator
@inline function act4(v: v128, act: i32, alpha: f32): v128 {
  if (act == ACT_RELU) return f32x4.pmax(v, f32x4.splat(0));
  if (act == ACT_RELU6) return f32x4.pmin(f32x4.pmax(v, f32x4.splat(0)), f32x4.splat(6));
  if (act == ACT_LEAKY) return v128.bitselect(v, f32x4.mul(v, f32x4.splat(alpha)), f32x4.ge(v, f32x4.splat(0)));
  if (act == ACT_SIGMOID) return sigmoid4(v);
  if (act == ACT_TANH) return tanh4(v);
  return v;
}

// @ts-ignore: decorator
@inline function epi4(x: v128, rowBias: v128, colBias: v128, act: i32, alpha: f32): v128 {
  return act4(f32x4.add(x, f32x4.add(rowBias, colBias)), act, alpha);
}

/** Row bias splat for row r of a tile (zero without a row bias). */
// @ts-ignore: decorator
@inline function rowBias4(flags: i32, bias: usize, r: i32): v128 {
  return flags & F_BIAS_ROW ? v128.load32_splat(bias + (<usize>r << 2)) : f32x4.splat(0);
}
/** Column bias for lanes [4h, 4h + 4) of a tile (zero without a column bias). */
// @ts-ignore: decorator
@inline function colBias4(flags: i32, bias: usize, h: i32): v128 {
  return flags & F_BIAS_COL ? v128.load(bias + (<usize>h << 4)) : f32x4.splat(0);
}

/**
 * The fused epilogue as its own pass over a just-written rows×8 tile of C (still in L1): bias, then the
 * activation. Kept out of the microkernels, whose 8–12 live accumulators leave V8 no registers for the
 * activation's temporaries (inlined there, the 6×8 kernel spilled and ran at half speed).
 */
// @ts-ignore: decorator
@inline export function wantEpilogue(flags: i32, act: i32): bool {
  return (flags & F_EPI) != 0 && ((flags & (F_BIAS_ROW | F_BIAS_COL)) != 0 || act != ACT_NONE);
}

export function epilogue_rows_simd(c: usize, ldc: i32, rows: i32, flags: i32, bias: usize, act: i32, alpha: f32): void {
  const q0 = colBias4(flags, bias, 0);
  const q1 = colBias4(flags, bias, 1);
  const ld = <usize>ldc << 2;
  for (let r = 0; r < rows; r++) {
    const rb = rowBias4(flags, bias, r);
    v128.store(c, epi4(v128.load(c), rb, q0, act, alpha));
    v128.store(c, epi4(v128.load(c, 16), rb, q1, act, alpha), 16);
    c += ld;
  }
}
