// Packed-panel GEMM: C[M×N] (=|+=) A[M×K]·B[K×N], row-major C, with a register-tiled microkernel and
// a fused epilogue (per-row or per-column bias, then an activation) run on each tile right after its
// last K block, while the tile is in L1.
//
// The GEMM by responsibility (each file a table of what it holds):
//   gemm_tile.ts          the register tile MR×NR per build (the one place it is chosen, with measurements)
//   gemm_pack.ts          A/B panel packers and packed sizes (f32_gemm_pack_a/b, f32_gemm_packed_a/b_floats)
//   gemm_microkernels.ts  the MR×8 microkernels per build, the remainder-row kernels, their scalar twins
//   gemm_epilogue.ts      activation codes, microkernel flags, the bias + activation pass
//   gemm.ts (this file)   the drivers: K blocking, tile dispatch, f32_gemm_packed, f32_gemm (+ scratch size)
// Rows past the last full MR panel use 4-, 2- and 1-row kernels; a single row (batch-1 linear) reads four
// B panels per call; columns past the last full NR panel go through a small tile buffer.
import { ACT_NONE, F_BIAS_COL, F_BIAS_ROW, F_EPI, F_LOAD, act1, epilogue_rows_simd, wantEpilogue } from './gemm_epilogue';
import {
  ukernel_1x32_4panels_simd,
  ukernel_1x8_scalar,
  ukernel_1x8_simd,
  ukernel_2x8_simd,
  ukernel_4x8_scalar,
  ukernel_4x8_simd,
  ukernel_6x8_simd,
} from './gemm_microkernels';
import { f32_gemm_pack_a, f32_gemm_pack_b, f32_gemm_packed_a_floats, f32_gemm_packed_b_floats } from './gemm_pack';
import { GEMM_MR, GEMM_NR } from './gemm_tile';

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
  f32_gemm_packed_range(M, N, K, ap, bp, c, ldc, accumulate, bias, biasMode, act, alpha, tile, 0, (N + GEMM_NR - 1) / GEMM_NR);
}

/**
 * f32_gemm_packed restricted to the B panels [p0, p1) (output columns p0·NR up to min(p1·NR, N)): what one
 * thread of the threaded backend computes. Every choice (K blocking, the GEMV streams, which kernel a
 * column goes through) is made from the whole M, N, K, so a column comes out bit for bit as the full
 * call computes it, whatever the split; with M = 1 split at multiples of 4 panels (the GEMV's groups).
 */
export function f32_gemm_packed_range(
  M: i32, N: i32, K: i32, ap: usize, bp: usize, c: usize, ldc: i32, accumulate: i32,
  bias: usize, biasMode: i32, act: i32, alpha: f32, tile: usize, p0: i32, p1: i32,
): void {
  if (M <= 0 || N <= 0 || p1 <= p0) return;
  if (K <= 0) {
    // Nothing to multiply: C = C (accumulate) or 0, then the epilogue on a zero-K tile.
    for (let i = 0; i < M; i++) {
      for (let j = p0 * GEMM_NR; j < min(N, p1 * GEMM_NR); j++) {
        const p = c + ((<usize>i * ldc + j) << 2);
        let v: f32 = accumulate ? load<f32>(p) : 0;
        if (biasMode == 1) v += load<f32>(bias + (<usize>i << 2));
        else if (biasMode == 2) v += load<f32>(bias + (<usize>j << 2));
        store<f32>(p, act1(v, act, alpha));
      }
    }
    return;
  }
  const nAll = N / GEMM_NR;
  const nFull = min(nAll, p1);
  const nRem = p1 > nAll ? N - nAll * GEMM_NR : 0;
  const mFull = M / GEMM_MR;
  const mRem = M - mFull * GEMM_MR;
  const biasFlag = biasMode == 1 ? F_BIAS_ROW : biasMode == 2 ? F_BIAS_COL : 0;
  const KC = gemmKC > 0 ? gemmKC : <i64>M * K <= A_L2_FLOATS ? K : KC_DEFAULT;
  const panelA = <usize>K * GEMM_MR << 2; // bytes per A panel
  const panelB = <usize>K * GEMM_NR << 2;
  const ldcB = <usize>ldc << 2;
  if (nFull > p0) {
    for (let k0 = 0; k0 < K; k0 += KC) {
      const kc = min(KC, K - k0);
      let flags = k0 > 0 || accumulate ? F_LOAD : 0;
      if (k0 + kc >= K) flags |= F_EPI | biasFlag;
      const aOff = <usize>k0 * GEMM_MR << 2;
      let j = p0;
      let bj = bp + (<usize>k0 * GEMM_NR << 2) + <usize>j * panelB;
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
