// The GEMM's packers: op(A) into MR-row panels, op(B) into NR-column panels, and the packed sizes.
//
// Packed layouts (f32_gemm_pack_a/b here, im2col.ts, col2im.ts, and the TypeScript glue's packers):
//   A panels: MR rows each; panel i holds, for k = 0..K-1, the MR values A[i·MR + r][k] (rows past M are 0).
//   B panels: NR columns each; panel j holds, for k = 0..K-1, the NR values B[k][j·NR + l] (columns past N are 0).
// A panel's k-range [k0, k0 + kc) starts at k0·MR (k0·NR), so K blocking needs no repacking.
import { GEMM_MR, GEMM_NR } from './gemm_tile';

/** Floats of a packed A (M rows) or B (N columns) for K. */
export function f32_gemm_packed_a_floats(M: i32, K: i32): i32 {
  return ((M + GEMM_MR - 1) / GEMM_MR) * GEMM_MR * K;
}
export function f32_gemm_packed_b_floats(N: i32, K: i32): i32 {
  return ((N + GEMM_NR - 1) / GEMM_NR) * GEMM_NR * K;
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
          transpose4Into(d, s0 + (<usize>k << 2), ld << 2, 16);
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

/** Rows per block of the row-major B pack: its pages stay in the TLB while every panel takes its slice. */
const PACK_B_ROWS: i32 = 32;

/**
 * Packs op(B) (K×N; B[k][j] at B + (k·ldb + j), or B[j][k] when transB) into NR-column panels. Full
 * panels take the paths below; a last partial panel (N % NR columns) is padded with zeros.
 */
export function f32_gemm_pack_b(B: usize, ldb: i32, transB: i32, K: i32, N: i32, dst: usize): void {
  const ld = <usize>ldb;
  const full = N - (N % GEMM_NR);
  if (!transB) packBRowMajor(B, ld, K, full, dst);
  else if (ASC_FEATURE_SIMD) packBTransposedSimd(B, ld, K, full, dst);
  else packBTransposed(B, ld, K, full, dst);
  if (full < N) packBEdge(B, ld, transB, K, N, full, dst);
}

/**
 * Row-major B, full panels. Walking one panel down all K rows (the obvious loop) reads 32 bytes per row at a
 * stride of a whole row: a new page per step, and the other half of each cache line is fetched again for the
 * next panel. Blocks of PACK_B_ROWS rows instead give every panel its slice in turn, so each line is used
 * whole while it is in L1 and the block's pages stay in the TLB (linear dX's 1024×4096 weight pack: 4.4 →
 * 3.0 ms on one thread). A copy: the packed bits are the same either way.
 */
function packBRowMajor(B: usize, ld: usize, K: i32, full: i32, dst: usize): void {
  for (let k0 = 0; k0 < K; k0 += PACK_B_ROWS) {
    const rows = min(PACK_B_ROWS, K - k0);
    for (let j0 = 0; j0 < full; j0 += GEMM_NR) {
      let s = B + ((<usize>k0 * ld + <usize>j0) << 2);
      let d = dst + ((<usize>j0 * K + <usize>k0 * GEMM_NR) << 2);
      for (let k = 0; k < rows; k++) {
        if (ASC_FEATURE_SIMD) {
          v128.store(d, v128.load(s));
          v128.store(d, v128.load(s, 16), 16);
        } else {
          for (let l = 0; l < GEMM_NR; l++) store<f32>(d + (<usize>l << 2), load<f32>(s + (<usize>l << 2)));
        }
        s += ld << 2;
        d += GEMM_NR << 2;
      }
    }
  }
}

/** Transposed B (a panel's NR columns are NR stored rows, contiguous along k), full panels: packBTransposedSimd's scalar twin. */
function packBTransposed(B: usize, ld: usize, K: i32, full: i32, dst: usize): void {
  for (let j0 = 0; j0 < full; j0 += GEMM_NR) {
    const d = dst + ((<usize>j0 * K) << 2);
    for (let l = 0; l < GEMM_NR; l++) {
      const s = B + ((<usize>(j0 + l) * ld) << 2);
      let q = d + (<usize>l << 2);
      for (let k = 0; k < K; k++) {
        store<f32>(q, load<f32>(s + (<usize>k << 2)));
        q += GEMM_NR << 2;
      }
    }
  }
}

/**
 * Transposed B, full panels, SIMD: the panel's 8 stored rows are read side by side, 4 k at a time, and two
 * 4×4 transposes turn them into 4 packed steps written in order (128 contiguous bytes), instead of 8 passes
 * over the panel each writing one float every 32 bytes (linear's forward Wᵀ pack, f32_gemm with transB).
 */
function packBTransposedSimd(B: usize, ld: usize, K: i32, full: i32, dst: usize): void {
  const row = ld << 2;
  for (let j0 = 0; j0 < full; j0 += GEMM_NR) {
    const s0 = B + ((<usize>j0 * ld) << 2);
    let d = dst + ((<usize>j0 * K) << 2);
    let k = 0;
    for (; k + 4 <= K; k += 4) {
      const o = <usize>k << 2;
      transpose4Into(d, s0 + o, row, GEMM_NR << 2);
      transpose4Into(d + 16, s0 + 4 * row + o, row, GEMM_NR << 2);
      d += 128;
    }
    for (; k < K; k++) {
      const o = <usize>k << 2;
      for (let l = 0; l < GEMM_NR; l++) store<f32>(d + (<usize>l << 2), load<f32>(s0 + <usize>l * row + o));
      d += GEMM_NR << 2;
    }
  }
}

/**
 * Four rows (stride `row` bytes) × 4 floats at s, transposed: float c of every row goes to d + c·step bytes
 * (4 lanes). Packs call it with a constant step, which inlining folds into the stores' offsets.
 */
// @ts-ignore: decorator
@inline
function transpose4Into(d: usize, s: usize, row: usize, step: usize): void {
  const r0 = v128.load(s);
  const r1 = v128.load(s + row);
  const r2 = v128.load(s + 2 * row);
  const r3 = v128.load(s + 3 * row);
  const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
  const t1 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
  const t2 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
  const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
  v128.store(d, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
  v128.store(d + step, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7));
  v128.store(d + 2 * step, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5));
  v128.store(d + 3 * step, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7));
}

/** The last, partial panel (columns j0..N-1), padded with zeros to NR columns. */
function packBEdge(B: usize, ld: usize, transB: i32, K: i32, N: i32, j0: i32, dst: usize): void {
  const cols = N - j0;
  let d = dst + ((<usize>j0 * K) << 2);
  for (let k = 0; k < K; k++) {
    for (let l = 0; l < GEMM_NR; l++) {
      let v: f32 = 0;
      if (l < cols) {
        const at = transB ? <usize>(j0 + l) * ld + <usize>k : <usize>k * ld + <usize>(j0 + l);
        v = load<f32>(B + (at << 2));
      }
      store<f32>(d + (<usize>l << 2), v);
    }
    d += GEMM_NR << 2;
  }
}
