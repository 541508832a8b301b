// Packed-panel GEMM: C[M×N] (=|+=) A[M×K]·B[K×N], row-major C, with a register-tiled microkernel and
// a fused epilogue (per-row or per-column bias, then an activation) run on each tile right after its
// last K block, while the tile is in L1.
//
// Packed layouts (f32_gemm_pack_a/b here, im2col.ts, and the TypeScript glue's packers):
//   A panels: MR rows each; panel i holds, for k = 0..K-1, the MR values A[i·MR + r][k] (rows past M are 0).
//   B panels: NR columns each; panel j holds, for k = 0..K-1, the NR values B[k][j·NR + l] (columns past N are 0).
// A panel's k-range [k0, k0 + kc) starts at k0·MR (k0·NR), so K blocking needs no repacking.
//
// Microkernels (the tile per build is chosen in gemm_tile.ts, with the measurements): relaxed 6×8 (12
// accumulators, f32x4.relaxed_madd), simd 4×8 (8 accumulators, mul + add), both with the B row as two
// v128.load and A as v128.load32_splat; scalar 4×8 walked as four 4×2 passes. Under V8 register pressure
// decides: more accumulators spill, an activation inlined into the kernel spills, and so does the 6×8
// inlined into the driver (it stays a call) while the 4×8 runs faster inlined. Rows past the last full
// MR panel use 4-, 2- and 1-row kernels; a single row (batch-1 linear) reads four B panels per call;
// columns past the last full NR panel go through a small tile buffer.
import { GEMM_MR, GEMM_NR } from './gemm_tile';
import { sigmoid1, sigmoid4, tanh1, tanh4 } from './mathf';

/**
 * K blocking. With the whole packed A small enough for L2 (the linear layers: M = batch rows), K is not
 * blocked: each B panel then streams once, sequentially, and C is written once (fc 4096→1024 at batch
 * 32: 44 → 57 GFLOP/s). A larger A (conv 128→256: 1.2 MB) is cut into KC-deep blocks so an M×KC block
 * stays in L2 while a KC×NR block of B stays in L1. gemmKC > 0 forces a block size (benchmarks).
 */
// @ts-ignore: decorator
@inline const KC_DEFAULT: i32 = 256;
// @ts-ignore: decorator
@inline const A_L2_FLOATS: i32 = 192 * 1024;
let gemmKC: i32 = 0;
/** B larger than this (floats; 4 MB) is read by the single-row GEMV as four concurrent streams. */
// @ts-ignore: decorator
@inline const GEMV_STREAMS_FLOATS: i64 = 1 << 20;

/** Activation codes shared with the TypeScript glue. */
// @ts-ignore: decorator
@inline const ACT_NONE: i32 = 0;
// @ts-ignore: decorator
@inline const ACT_RELU: i32 = 1;
// @ts-ignore: decorator
@inline const ACT_RELU6: i32 = 2;
// @ts-ignore: decorator
@inline const ACT_LEAKY: i32 = 3;
// @ts-ignore: decorator
@inline const ACT_SIGMOID: i32 = 4;
// @ts-ignore: decorator
@inline const ACT_TANH: i32 = 5;

// Flags of one microkernel call.
// @ts-ignore: decorator
@inline const F_LOAD: i32 = 1; // start from C instead of 0
// @ts-ignore: decorator
@inline const F_EPI: i32 = 2; // last K block: bias + activation
// @ts-ignore: decorator
@inline const F_BIAS_ROW: i32 = 4; // bias[row]
// @ts-ignore: decorator
@inline const F_BIAS_COL: i32 = 8; // bias[col]

/** Panel geometry of this build, for the TypeScript packers. */
export function f32_gemm_mr(): i32 {
  return GEMM_MR;
}
export function f32_gemm_nr(): i32 {
  return GEMM_NR;
}
/** Tuning hook for the micro-benchmarks: force a K block size (0: the automatic choice). */
export function f32_gemm_set_kc(kc: i32): void {
  gemmKC = kc < 0 ? 0 : kc;
}

// @ts-ignore: decorator
@inline function act1(v: f32, act: i32, alpha: f32): f32 {
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
@inline function fma4(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
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
 * 6×8 SIMD microkernel (the relaxed build's tile): 12 accumulators, B row as two v128.load, A as six
 * load32_splat (A panel stride MR floats per k). C[6×8] at c, row stride ldc floats.
 */
function ukernel_6x8_simd(a: usize, b: usize, kc: i32, c: usize, ldc: i32, flags: i32): void {
  const ld = <usize>ldc << 2;
  let x00: v128, x01: v128, x10: v128, x11: v128, x20: v128, x21: v128;
  let x30: v128, x31: v128, x40: v128, x41: v128, x50: v128, x51: v128;
  if (flags & F_LOAD) {
    x00 = v128.load(c);
    x01 = v128.load(c, 16);
    x10 = v128.load(c + ld);
    x11 = v128.load(c + ld, 16);
    x20 = v128.load(c + 2 * ld);
    x21 = v128.load(c + 2 * ld, 16);
    x30 = v128.load(c + 3 * ld);
    x31 = v128.load(c + 3 * ld, 16);
    x40 = v128.load(c + 4 * ld);
    x41 = v128.load(c + 4 * ld, 16);
    x50 = v128.load(c + 5 * ld);
    x51 = v128.load(c + 5 * ld, 16);
  } else {
    x00 = f32x4.splat(0);
    x01 = x00;
    x10 = x00;
    x11 = x00;
    x20 = x00;
    x21 = x00;
    x30 = x00;
    x31 = x00;
    x40 = x00;
    x41 = x00;
    x50 = x00;
    x51 = x00;
  }
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(b);
    const b1 = v128.load(b, 16);
    const a0 = v128.load32_splat(a);
    x00 = fma4(a0, b0, x00);
    x01 = fma4(a0, b1, x01);
    const a1 = v128.load32_splat(a, 4);
    x10 = fma4(a1, b0, x10);
    x11 = fma4(a1, b1, x11);
    const a2 = v128.load32_splat(a, 8);
    x20 = fma4(a2, b0, x20);
    x21 = fma4(a2, b1, x21);
    const a3 = v128.load32_splat(a, 12);
    x30 = fma4(a3, b0, x30);
    x31 = fma4(a3, b1, x31);
    const a4 = v128.load32_splat(a, 16);
    x40 = fma4(a4, b0, x40);
    x41 = fma4(a4, b1, x41);
    const a5 = v128.load32_splat(a, 20);
    x50 = fma4(a5, b0, x50);
    x51 = fma4(a5, b1, x51);
    a += GEMM_MR << 2;
    b += 32;
  }

  v128.store(c, x00);
  v128.store(c, x01, 16);
  v128.store(c + ld, x10);
  v128.store(c + ld, x11, 16);
  v128.store(c + 2 * ld, x20);
  v128.store(c + 2 * ld, x21, 16);
  v128.store(c + 3 * ld, x30);
  v128.store(c + 3 * ld, x31, 16);
  v128.store(c + 4 * ld, x40);
  v128.store(c + 4 * ld, x41, 16);
  v128.store(c + 5 * ld, x50);
  v128.store(c + 5 * ld, x51, 16);
}

/** 4×8 SIMD microkernel (the simd build's tile; the relaxed build's 4-row remainder), A stride MR floats. */
// Inlined into the driver: as a called function V8 ran this loop at 52 GFLOP/s, inlined at 63 (the
// 6×8 is the opposite: inlined into the driver it spills and halves, so it stays a call).
// @ts-ignore: decorator
@inline function ukernel_4x8_simd(a: usize, b: usize, kc: i32, c: usize, ldc: i32, flags: i32): void {
  const ld = <usize>ldc << 2;
  const c1 = c + ld;
  const c2 = c1 + ld;
  const c3 = c2 + ld;
  let x00: v128, x01: v128, x10: v128, x11: v128, x20: v128, x21: v128, x30: v128, x31: v128;
  if (flags & F_LOAD) {
    x00 = v128.load(c);
    x01 = v128.load(c, 16);
    x10 = v128.load(c1);
    x11 = v128.load(c1, 16);
    x20 = v128.load(c2);
    x21 = v128.load(c2, 16);
    x30 = v128.load(c3);
    x31 = v128.load(c3, 16);
  } else {
    x00 = f32x4.splat(0);
    x01 = x00;
    x10 = x00;
    x11 = x00;
    x20 = x00;
    x21 = x00;
    x30 = x00;
    x31 = x00;
  }
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(b);
    const b1 = v128.load(b, 16);
    const a0 = v128.load32_splat(a);
    x00 = fma4(a0, b0, x00);
    x01 = fma4(a0, b1, x01);
    const a1 = v128.load32_splat(a, 4);
    x10 = fma4(a1, b0, x10);
    x11 = fma4(a1, b1, x11);
    const a2 = v128.load32_splat(a, 8);
    x20 = fma4(a2, b0, x20);
    x21 = fma4(a2, b1, x21);
    const a3 = v128.load32_splat(a, 12);
    x30 = fma4(a3, b0, x30);
    x31 = fma4(a3, b1, x31);
    a += GEMM_MR << 2;
    b += 32;
  }

  v128.store(c, x00);
  v128.store(c, x01, 16);
  v128.store(c1, x10);
  v128.store(c1, x11, 16);
  v128.store(c2, x20);
  v128.store(c2, x21, 16);
  v128.store(c3, x30);
  v128.store(c3, x31, 16);
}

/** 2×8 SIMD kernel for remainder rows (A stride MR floats). */
function ukernel_2x8_simd(a: usize, b: usize, kc: i32, c: usize, ldc: i32, flags: i32): void {
  const c1 = c + (<usize>ldc << 2);
  let x00 = f32x4.splat(0);
  let x01 = x00;
  let x10 = x00;
  let x11 = x00;
  if (flags & F_LOAD) {
    x00 = v128.load(c);
    x01 = v128.load(c, 16);
    x10 = v128.load(c1);
    x11 = v128.load(c1, 16);
  }
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(b);
    const b1 = v128.load(b, 16);
    const a0 = v128.load32_splat(a);
    x00 = fma4(a0, b0, x00);
    x01 = fma4(a0, b1, x01);
    const a1 = v128.load32_splat(a, 4);
    x10 = fma4(a1, b0, x10);
    x11 = fma4(a1, b1, x11);
    a += GEMM_MR << 2;
    b += 32;
  }

  v128.store(c, x00);
  v128.store(c, x01, 16);
  v128.store(c1, x10);
  v128.store(c1, x11, 16);
}

/** 1×8 SIMD kernel for leftover rows: A values at stride MR floats; even and odd k in separate chains. */
function ukernel_1x8_simd(a: usize, b: usize, kc: i32, c: usize, flags: i32): void {
  let x0 = f32x4.splat(0);
  let x1 = x0;
  let y0 = x0;
  let y1 = x0;
  if (flags & F_LOAD) {
    x0 = v128.load(c);
    x1 = v128.load(c, 16);
  }
  let k = 0;
  for (; k + 2 <= kc; k += 2) {
    const a0 = v128.load32_splat(a);
    x0 = fma4(a0, v128.load(b), x0);
    x1 = fma4(a0, v128.load(b, 16), x1);
    const a1 = v128.load32_splat(a, GEMM_MR << 2);
    y0 = fma4(a1, v128.load(b, 32), y0);
    y1 = fma4(a1, v128.load(b, 48), y1);
    a += GEMM_MR << 3;
    b += 64;
  }
  if (k < kc) {
    const a0 = v128.load32_splat(a);
    x0 = fma4(a0, v128.load(b), x0);
    x1 = fma4(a0, v128.load(b, 16), x1);
  }
  x0 = f32x4.add(x0, y0);
  x1 = f32x4.add(x1, y1);

  v128.store(c, x0);
  v128.store(c, x1, 16);
}

/**
 * One row of A times four B panels at once (the batch-1 linear layer: a GEMV over K·N weights that
 * come from memory): four concurrent sequential streams and 8 independent accumulators. C: 32 floats.
 */
function ukernel_1x32_4panels_simd(a: usize, b: usize, panelB: usize, kc: i32, c: usize, flags: i32): void {
  const b1 = b + panelB;
  const b2 = b1 + panelB;
  const b3 = b2 + panelB;
  let x0 = f32x4.splat(0);
  let x1 = x0;
  let x2 = x0;
  let x3 = x0;
  let x4 = x0;
  let x5 = x0;
  let x6 = x0;
  let x7 = x0;
  if (flags & F_LOAD) {
    x0 = v128.load(c);
    x1 = v128.load(c, 16);
    x2 = v128.load(c, 32);
    x3 = v128.load(c, 48);
    x4 = v128.load(c, 64);
    x5 = v128.load(c, 80);
    x6 = v128.load(c, 96);
    x7 = v128.load(c, 112);
  }
  let o: usize = 0;
  for (let k = 0; k < kc; k++) {
    const av = v128.load32_splat(a);
    x0 = fma4(av, v128.load(b + o), x0);
    x1 = fma4(av, v128.load(b + o, 16), x1);
    x2 = fma4(av, v128.load(b1 + o), x2);
    x3 = fma4(av, v128.load(b1 + o, 16), x3);
    x4 = fma4(av, v128.load(b2 + o), x4);
    x5 = fma4(av, v128.load(b2 + o, 16), x5);
    x6 = fma4(av, v128.load(b3 + o), x6);
    x7 = fma4(av, v128.load(b3 + o, 16), x7);
    a += GEMM_MR << 2;
    o += 32;
  }
  v128.store(c, x0);
  v128.store(c, x1, 16);
  v128.store(c, x2, 32);
  v128.store(c, x3, 48);
  v128.store(c, x4, 64);
  v128.store(c, x5, 80);
  v128.store(c, x6, 96);
  v128.store(c, x7, 112);
}

/** Scalar twin of the 4×8 kernel: four passes of a 4×2 tile (8 accumulators fit the registers). */
// @ts-ignore: decorator
@inline function ukernel_4x8_scalar(a: usize, b: usize, kc: i32, c: usize, ldc: i32, flags: i32, bias: usize, act: i32, alpha: f32): void {
  const ld = <usize>ldc << 2;
  for (let jp = 0; jp < 8; jp += 2) {
    const cj = c + (<usize>jp << 2);
    let s00: f32 = 0, s01: f32 = 0, s10: f32 = 0, s11: f32 = 0, s20: f32 = 0, s21: f32 = 0, s30: f32 = 0, s31: f32 = 0;
    if (flags & F_LOAD) {
      s00 = load<f32>(cj);
      s01 = load<f32>(cj, 4);
      s10 = load<f32>(cj + ld);
      s11 = load<f32>(cj + ld, 4);
      s20 = load<f32>(cj + 2 * ld);
      s21 = load<f32>(cj + 2 * ld, 4);
      s30 = load<f32>(cj + 3 * ld);
      s31 = load<f32>(cj + 3 * ld, 4);
    }
    let pa = a;
    let pb = b + (<usize>jp << 2);
    for (let k = 0; k < kc; k++) {
      const b0 = load<f32>(pb);
      const b1 = load<f32>(pb, 4);
      const a0 = load<f32>(pa);
      const a1 = load<f32>(pa, 4);
      const a2 = load<f32>(pa, 8);
      const a3 = load<f32>(pa, 12);
      s00 += a0 * b0;
      s01 += a0 * b1;
      s10 += a1 * b0;
      s11 += a1 * b1;
      s20 += a2 * b0;
      s21 += a2 * b1;
      s30 += a3 * b0;
      s31 += a3 * b1;
      pa += GEMM_MR << 2;
      pb += 32;
    }
    if (flags & F_EPI) {
      if (flags & F_BIAS_ROW) {
        const r0 = load<f32>(bias);
        const r1 = load<f32>(bias, 4);
        const r2 = load<f32>(bias, 8);
        const r3 = load<f32>(bias, 12);
        s00 += r0;
        s01 += r0;
        s10 += r1;
        s11 += r1;
        s20 += r2;
        s21 += r2;
        s30 += r3;
        s31 += r3;
      } else if (flags & F_BIAS_COL) {
        const q0 = load<f32>(bias + (<usize>jp << 2));
        const q1 = load<f32>(bias + (<usize>jp << 2), 4);
        s00 += q0;
        s01 += q1;
        s10 += q0;
        s11 += q1;
        s20 += q0;
        s21 += q1;
        s30 += q0;
        s31 += q1;
      }
      s00 = act1(s00, act, alpha);
      s01 = act1(s01, act, alpha);
      s10 = act1(s10, act, alpha);
      s11 = act1(s11, act, alpha);
      s20 = act1(s20, act, alpha);
      s21 = act1(s21, act, alpha);
      s30 = act1(s30, act, alpha);
      s31 = act1(s31, act, alpha);
    }
    store<f32>(cj, s00);
    store<f32>(cj, s01, 4);
    store<f32>(cj + ld, s10);
    store<f32>(cj + ld, s11, 4);
    store<f32>(cj + 2 * ld, s20);
    store<f32>(cj + 2 * ld, s21, 4);
    store<f32>(cj + 3 * ld, s30);
    store<f32>(cj + 3 * ld, s31, 4);
  }
}

/** Scalar 1×8 kernel for leftover rows (A values at stride MR floats). */
function ukernel_1x8_scalar(a: usize, b: usize, kc: i32, c: usize, flags: i32, bias: usize, act: i32, alpha: f32): void {
  for (let jp = 0; jp < 8; jp += 4) {
    const cj = c + (<usize>jp << 2);
    let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0;
    if (flags & F_LOAD) {
      s0 = load<f32>(cj);
      s1 = load<f32>(cj, 4);
      s2 = load<f32>(cj, 8);
      s3 = load<f32>(cj, 12);
    }
    let pa = a;
    let pb = b + (<usize>jp << 2);
    for (let k = 0; k < kc; k++) {
      const av = load<f32>(pa);
      s0 += av * load<f32>(pb);
      s1 += av * load<f32>(pb, 4);
      s2 += av * load<f32>(pb, 8);
      s3 += av * load<f32>(pb, 12);
      pa += GEMM_MR << 2;
      pb += 32;
    }
    if (flags & F_EPI) {
      if (flags & F_BIAS_ROW) {
        const r = load<f32>(bias);
        s0 += r;
        s1 += r;
        s2 += r;
        s3 += r;
      } else if (flags & F_BIAS_COL) {
        const q = bias + (<usize>jp << 2);
        s0 += load<f32>(q);
        s1 += load<f32>(q, 4);
        s2 += load<f32>(q, 8);
        s3 += load<f32>(q, 12);
      }
      s0 = act1(s0, act, alpha);
      s1 = act1(s1, act, alpha);
      s2 = act1(s2, act, alpha);
      s3 = act1(s3, act, alpha);
    }
    store<f32>(cj, s0);
    store<f32>(cj, s1, 4);
    store<f32>(cj, s2, 8);
    store<f32>(cj, s3, 12);
  }
}

/**
 * The fused epilogue as its own pass over a just-written rows×8 tile of C (still in L1): bias, then the
 * activation. Kept out of the microkernels, whose 8–12 live accumulators leave V8 no registers for the
 * activation's temporaries (inlined there, the 6×8 kernel spilled and ran at half speed).
 */
// @ts-ignore: decorator
@inline function wantEpilogue(flags: i32, act: i32): bool {
  return (flags & F_EPI) != 0 && ((flags & (F_BIAS_ROW | F_BIAS_COL)) != 0 || act != ACT_NONE);
}

function epilogue_rows_simd(c: usize, ldc: i32, rows: i32, flags: i32, bias: usize, act: i32, alpha: f32): void {
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

// The build's microkernels: the full-panel tile (MR rows) and the remainder rows (r < MR) of a panel.
// @ts-ignore: decorator
@inline function ukernelMR(a: usize, b: usize, kc: i32, c: usize, ldc: i32, flags: i32, bias: usize, act: i32, alpha: f32): void {
  if (ASC_FEATURE_SIMD) {
    if (GEMM_MR == 6) ukernel_6x8_simd(a, b, kc, c, ldc, flags);
    else ukernel_4x8_simd(a, b, kc, c, ldc, flags);
    if (wantEpilogue(flags, act)) epilogue_rows_simd(c, ldc, GEMM_MR, flags, bias, act, alpha);
  } else {
    ukernel_4x8_scalar(a, b, kc, c, ldc, flags, bias, act, alpha);
  }
}

/**
 * Rows [r0, r0 + rows) of an A panel (rows < MR) times one B panel block: 4-, 2- and 1-row kernels.
 * c: the first row's tile; biasRow: whether bias advances per row (row bias) or stays (column bias).
 */
function remainderRows(a: usize, b: usize, kc: i32, c: usize, ldc: i32, rows: i32, flags: i32, bias: usize, act: i32, alpha: f32): void {
  const rowStep: usize = flags & F_BIAS_ROW ? 4 : 0;
  if (ASC_FEATURE_SIMD) {
    if (GEMM_MR > 4 && rows >= 4) {
      ukernel_4x8_simd(a, b, kc, c, ldc, flags);
      if (wantEpilogue(flags, act)) epilogue_rows_simd(c, ldc, 4, flags, bias, act, alpha);
      a += 16;
      c += <usize>ldc << 4;
      bias += rowStep * 4;
      rows -= 4;
    }
    if (rows >= 2) {
      ukernel_2x8_simd(a, b, kc, c, ldc, flags);
      if (wantEpilogue(flags, act)) epilogue_rows_simd(c, ldc, 2, flags, bias, act, alpha);
      a += 8;
      c += <usize>ldc << 3;
      bias += rowStep * 2;
      rows -= 2;
    }
  }
  for (let r = 0; r < rows; r++) {
    if (ASC_FEATURE_SIMD) {
      ukernel_1x8_simd(a, b, kc, c, flags);
      if (wantEpilogue(flags, act)) epilogue_rows_simd(c, ldc, 1, flags, bias, act, alpha);
    } else {
      ukernel_1x8_scalar(a, b, kc, c, flags, bias, act, alpha);
    }
    a += 4;
    c += <usize>ldc << 2;
    bias += rowStep;
  }
}

/** Floats of a packed A (M rows) or B (N columns) for K. */
export function f32_gemm_packed_a_floats(M: i32, K: i32): i32 {
  return ((M + GEMM_MR - 1) / GEMM_MR) * GEMM_MR * K;
}
export function f32_gemm_packed_b_floats(N: i32, K: i32): i32 {
  return ((N + GEMM_NR - 1) / GEMM_NR) * GEMM_NR * K;
}

/**
 * C[M×N] (row stride ldc) = (accumulate ? C : 0) + Apacked·Bpacked, then on the result bias
 * (biasMode 1: bias[row], 2: bias[col], 0: none) and the activation act (0 none, 1 relu, 2 relu6,
 * 3 leakyRelu(alpha), 4 sigmoid, 5 tanh). A column bias must be readable up to N rounded up to NR.
 * tile: scratch for an MR×NR tile (the right edge when N is not a multiple of NR).
 */
export function f32_gemm_packed(
  M: i32, N: i32, K: i32, ap: usize, bp: usize, c: usize, ldc: i32, accumulate: i32,
  bias: usize, biasMode: i32, act: i32, alpha: f32, tile: usize,
): void {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    // Nothing to multiply: C = C (accumulate) or 0, then the epilogue on a zero-K tile.
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        const p = c + ((<usize>i * ldc + j) << 2);
        let v: f32 = accumulate ? load<f32>(p) : 0;
        if (biasMode == 1) v += load<f32>(bias + (<usize>i << 2));
        else if (biasMode == 2) v += load<f32>(bias + (<usize>j << 2));
        store<f32>(p, act1(v, act, alpha));
      }
    }
    return;
  }
  const nFull = N / GEMM_NR;
  const nRem = N - nFull * GEMM_NR;
  const mFull = M / GEMM_MR;
  const mRem = M - mFull * GEMM_MR;
  const biasFlag = biasMode == 1 ? F_BIAS_ROW : biasMode == 2 ? F_BIAS_COL : 0;
  const KC = gemmKC > 0 ? gemmKC : <i64>M * K <= A_L2_FLOATS ? K : KC_DEFAULT;
  const panelA = <usize>K * GEMM_MR << 2; // bytes per A panel
  const panelB = <usize>K * GEMM_NR << 2;
  const ldcB = <usize>ldc << 2;
  if (nFull > 0) {
    for (let k0 = 0; k0 < K; k0 += KC) {
      const kc = min(KC, K - k0);
      let flags = k0 > 0 || accumulate ? F_LOAD : 0;
      if (k0 + kc >= K) flags |= F_EPI | biasFlag;
      const aOff = <usize>k0 * GEMM_MR << 2;
      let bj = bp + (<usize>k0 * GEMM_NR << 2);
      let j = 0;
      if (ASC_FEATURE_SIMD && M == 1 && <i64>K * N > GEMV_STREAMS_FLOATS) {
        // GEMV over weights that come from memory: four panels per call (four streams), bias + activation
        // per 8-column tile after. From DRAM (fc 4096→1024) 0.70 → 0.54 ms; with the weights still in
        // cache one stream is faster (0.34 vs 0.41 ms), hence the size threshold.
        for (; j + 4 <= nFull; j += 4) {
          const cj = c + (<usize>(j * GEMM_NR) << 2);
          ukernel_1x32_4panels_simd(ap + aOff, bj, panelB, kc, cj, flags);
          if (wantEpilogue(flags, act)) {
            for (let q = 0; q < 4; q++) {
              const cq = cj + (<usize>(q * GEMM_NR) << 2);
              const bq = biasMode == 1 ? bias : bias + (<usize>((j + q) * GEMM_NR) << 2);
              epilogue_rows_simd(cq, ldc, 1, flags, bq, act, alpha);
            }
          }
          bj += panelB * 4;
        }
      }
      for (; j < nFull; j++) {
        const cj = c + (<usize>(j * GEMM_NR) << 2);
        const biasCol = bias + (<usize>(j * GEMM_NR) << 2);
        let ai = ap + aOff;
        let ci = cj;
        for (let i = 0; i < mFull; i++) {
          ukernelMR(ai, bj, kc, ci, ldc, flags, biasMode == 1 ? bias + (<usize>(i * GEMM_MR) << 2) : biasCol, act, alpha);
          ai += panelA;
          ci += ldcB * GEMM_MR;
        }
        if (mRem > 0) {
          remainderRows(ai, bj, kc, ci, ldc, mRem, flags, biasMode == 1 ? bias + (<usize>(mFull * GEMM_MR) << 2) : biasCol, act, alpha);
        }
        bj += panelB;
      }
    }
  }
  if (nRem > 0) {
    // Right edge: the full K in one call per tile, through the tile buffer (ld = NR).
    const j0 = nFull * GEMM_NR;
    const bj = bp + <usize>nFull * panelB;
    const biasCol = bias + (<usize>j0 << 2);
    const flags0 = (accumulate ? F_LOAD : 0) | F_EPI | biasFlag;
    for (let i0 = 0; i0 < M; i0 += GEMM_MR) {
      const rows = min(GEMM_MR, M - i0);
      const ai = ap + <usize>(i0 / GEMM_MR) * panelA;
      if (accumulate) {
        for (let r = 0; r < rows; r++) {
          for (let l = 0; l < nRem; l++) {
            store<f32>(tile + (<usize>(r * GEMM_NR + l) << 2), load<f32>(c + ((<usize>(i0 + r) * ldc + j0 + l) << 2)));
          }
        }
      }
      if (rows == GEMM_MR) {
        ukernelMR(ai, bj, K, tile, GEMM_NR, flags0, biasMode == 1 ? bias + (<usize>i0 << 2) : biasCol, act, alpha);
      } else {
        remainderRows(ai, bj, K, tile, GEMM_NR, rows, flags0, biasMode == 1 ? bias + (<usize>i0 << 2) : biasCol, act, alpha);
      }
      for (let r = 0; r < rows; r++) {
        for (let l = 0; l < nRem; l++) {
          store<f32>(c + ((<usize>(i0 + r) * ldc + j0 + l) << 2), load<f32>(tile + (<usize>(r * GEMM_NR + l) << 2)));
        }
      }
    }
  }
}

/** Packs op(A) (M×K; A[i][k] at A + (i·lda + k), or A[k][i] when transA) into MR-row panels. */
export function f32_gemm_pack_a(A: usize, lda: i32, transA: i32, M: i32, K: i32, dst: usize): void {
  const ld = <usize>lda;
  for (let i0 = 0; i0 < M; i0 += GEMM_MR) {
    const rows = min(GEMM_MR, M - i0);
    let d = dst + (<usize>i0 * K << 2);
    if (transA) {
      // Column i of the stored matrix is row i of op(A): MR contiguous values per k.
      for (let k = 0; k < K; k++) {
        const s = A + ((<usize>k * ld + i0) << 2);
        if (rows == 4 && GEMM_MR == 4) {
          if (ASC_FEATURE_SIMD) v128.store(d, v128.load(s));
          else {
            store<f32>(d, load<f32>(s));
            store<f32>(d, load<f32>(s, 4), 4);
            store<f32>(d, load<f32>(s, 8), 8);
            store<f32>(d, load<f32>(s, 12), 12);
          }
        } else {
          for (let r = 0; r < GEMM_MR; r++) store<f32>(d + (<usize>r << 2), r < rows ? load<f32>(s + (<usize>r << 2)) : 0);
        }
        d += GEMM_MR << 2;
      }
    } else if (rows == 4 && GEMM_MR == 4) {
      const s0 = A + ((<usize>i0 * ld) << 2);
      const s1 = s0 + (ld << 2);
      const s2 = s1 + (ld << 2);
      const s3 = s2 + (ld << 2);
      let k = 0;
      if (ASC_FEATURE_SIMD) {
        // 4×4 transpose per step of 4 k.
        for (; k + 4 <= K; k += 4) {
          const o = <usize>k << 2;
          const r0 = v128.load(s0 + o);
          const r1 = v128.load(s1 + o);
          const r2 = v128.load(s2 + o);
          const r3 = v128.load(s3 + o);
          const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
          const t1 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
          const t2 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
          const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
          v128.store(d, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
          v128.store(d, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7), 16);
          v128.store(d, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5), 32);
          v128.store(d, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7), 48);
          d += 64;
        }
      }
      for (; k < K; k++) {
        const o = <usize>k << 2;
        store<f32>(d, load<f32>(s0 + o));
        store<f32>(d, load<f32>(s1 + o), 4);
        store<f32>(d, load<f32>(s2 + o), 8);
        store<f32>(d, load<f32>(s3 + o), 12);
        d += 16;
      }
    } else if (rows == GEMM_MR) {
      // Row by row: sequential reads, writes at stride MR.
      for (let r = 0; r < GEMM_MR; r++) {
        const s = A + ((<usize>(i0 + r) * ld) << 2);
        const q = d + (<usize>r << 2);
        for (let k = 0; k < K; k++) store<f32>(q + (<usize>(k * GEMM_MR) << 2), load<f32>(s + (<usize>k << 2)));
      }
    } else {
      for (let k = 0; k < K; k++) {
        for (let r = 0; r < GEMM_MR; r++) {
          store<f32>(d + (<usize>r << 2), r < rows ? load<f32>(A + ((<usize>(i0 + r) * ld + k) << 2)) : 0);
        }
        d += GEMM_MR << 2;
      }
    }
  }
}

/** Packs op(B) (K×N; B[k][j] at B + (k·ldb + j), or B[j][k] when transB) into NR-column panels. */
export function f32_gemm_pack_b(B: usize, ldb: i32, transB: i32, K: i32, N: i32, dst: usize): void {
  const ld = <usize>ldb;
  for (let j0 = 0; j0 < N; j0 += GEMM_NR) {
    const cols = min(GEMM_NR, N - j0);
    let d = dst + (<usize>j0 * K << 2);
    if (!transB && cols == GEMM_NR) {
      let s = B + (<usize>j0 << 2);
      for (let k = 0; k < K; k++) {
        if (ASC_FEATURE_SIMD) {
          v128.store(d, v128.load(s));
          v128.store(d, v128.load(s, 16), 16);
        } else {
          for (let l = 0; l < GEMM_NR; l++) store<f32>(d + (<usize>l << 2), load<f32>(s + (<usize>l << 2)));
        }
        s += ld << 2;
        d += GEMM_NR << 2;
      }
    } else if (transB) {
      for (let l = 0; l < GEMM_NR; l++) {
        const s = B + ((<usize>(j0 + l) * ld) << 2);
        let q = d + (<usize>l << 2);
        if (l < cols) {
          for (let k = 0; k < K; k++) {
            store<f32>(q, load<f32>(s + (<usize>k << 2)));
            q += GEMM_NR << 2;
          }
        } else {
          for (let k = 0; k < K; k++) {
            store<f32>(q, 0);
            q += GEMM_NR << 2;
          }
        }
      }
    } else {
      for (let k = 0; k < K; k++) {
        const s = B + ((<usize>k * ld + j0) << 2);
        for (let l = 0; l < GEMM_NR; l++) store<f32>(d + (<usize>l << 2), l < cols ? load<f32>(s + (<usize>l << 2)) : 0);
        d += GEMM_NR << 2;
      }
    }
  }
}

// @ts-ignore: decorator
@inline function align16(p: usize): usize {
  return (p + 15) & ~(<usize>15);
}

/** Scratch bytes f32_gemm needs for these sizes (packed A, packed B, an edge tile, alignment). */
export function f32_gemm_scratch_bytes(M: i32, N: i32, K: i32): i32 {
  if (M <= 0 || N <= 0 || K <= 0) return 0;
  return (f32_gemm_packed_a_floats(M, K) + f32_gemm_packed_b_floats(N, K) + GEMM_MR * GEMM_NR) * 4 + 32;
}

/**
 * General entry (training/backward): C[M×N] = (accumulate ? C : 0) + op(A)·op(B), row-major,
 * op = transpose when the flag is 1. op(A) is M×K (stored K×M when transposed, row stride lda),
 * op(B) is K×N (stored N×K when transposed, row stride ldb). scratch: f32_gemm_scratch_bytes(M, N, K).
 */
export function f32_gemm(
  transA: i32, transB: i32, M: i32, N: i32, K: i32, A: usize, lda: i32, B: usize, ldb: i32,
  C: usize, ldc: i32, accumulate: i32, scratch: usize,
): void {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate) for (let i = 0; i < M; i++) memory.fill(C + ((<usize>i * ldc) << 2), 0, <usize>N << 2);
    return;
  }
  const ap = align16(scratch);
  const bp = ap + (<usize>f32_gemm_packed_a_floats(M, K) << 2);
  const tile = bp + (<usize>f32_gemm_packed_b_floats(N, K) << 2);
  f32_gemm_pack_a(A, lda, transA, M, K, ap);
  f32_gemm_pack_b(B, ldb, transB, K, N, bp);
  f32_gemm_packed(M, N, K, ap, bp, C, ldc, accumulate, 0, 0, ACT_NONE, 0, tile);
}
