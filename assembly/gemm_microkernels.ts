// The GEMM's microkernels: a C tile (=|+=) an A panel (stride MR floats per k) times a B panel (stride
// NR = 8 floats per k) over one K block; layouts in gemm_pack.ts, the drivers in gemm.ts.
//
// The tile per build is chosen in gemm_tile.ts, with the measurements: relaxed 6×8 (12 accumulators,
// f32x4.relaxed_madd), simd 4×8 (8 accumulators, mul + add), both with the B row as two v128.load and A
// as v128.load32_splat; scalar 4×8 walked as four 4×2 passes. Under V8 register pressure decides: more
// accumulators spill, an activation inlined into the kernel spills, and so does the 6×8 inlined into the
// driver (it stays a call) while the 4×8 runs faster inlined. Keep these choices: ukernel_4x8_simd and
// ukernel_4x8_scalar are @inline, every other kernel here is a call. Rows past the last full MR panel
// use the 4-, 2- and 1-row kernels; a single row (batch-1 linear) the 1×32 four-panel kernel.
// The scalar twins fuse the epilogue (act1); the SIMD kernels leave it to epilogue_rows_simd.
import { F_BIAS_COL, F_BIAS_ROW, F_EPI, F_LOAD, act1 } from './gemm_epilogue';
import { GEMM_MR } from './gemm_tile';

// @ts-ignore: decorator
@inline function fma4(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/**
 * 6×8 SIMD microkernel (the relaxed build's tile): 12 accumulators, B row as two v128.load, A as six
 * load32_splat (A panel stride MR floats per k). C[6×8] at c, row stride ldc floats.
 */
export function ukernel_6x8_simd(a: usize, b: usize, kc: i32, c: usize, ldc: i32, flags: i32): void {
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
@inline export function ukernel_4x8_simd(a: usize, b: usize, kc: i32, c: usize, ldc: i32, flags: i32): void {
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
export function ukernel_2x8_simd(a: usize, b: usize, kc: i32, c: usize, ldc: i32, flags: i32): void {
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
export function ukernel_1x8_simd(a: usize, b: usize, kc: i32, c: usize, flags: i32): void {
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
export function ukernel_1x32_4panels_simd(a: usize, b: usize, panelB: usize, kc: i32, c: usize, flags: i32): void {
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
@inline export function ukernel_4x8_scalar(a: usize, b: usize, kc: i32, c: usize, ldc: i32, flags: i32, bias: usize, act: i32, alpha: f32): void {
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
export function ukernel_1x8_scalar(a: usize, b: usize, kc: i32, c: usize, flags: i32, bias: usize, act: i32, alpha: f32): void {
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
