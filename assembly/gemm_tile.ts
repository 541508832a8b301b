// The GEMM's register tile, the one place each build's microkernel geometry is chosen. Packers
// (gemm_pack.ts, im2col.ts and the TypeScript glue through f32_gemm_mr/nr) all follow it.
// Measured with bench/gemm-variants.mjs (V8, conv-shaped problems, GFLOP/s of the kernel loop):
//   relaxed: 6×8 68, 3×12 65, 2×16 62, 4×8 61, 8×8 41, 4×12 29, 5×8 25 — with a fused multiply-add
//     12 accumulators + 2 B rows + 1 A splat fit the 15 usable xmm registers; 6×8 it is.
//   simd: 2×16 64, 4×8 60, 8×8 45, 4×4 43, 6×8 34, 4×12 34 — mul + add needs a temporary register, so
//     12-accumulator tiles spill; 4×8 (the B panel width shared with relaxed) is within 6% of the best.
//   scalar: the same 4×8 panels, walked in 4×2 passes (8 scalar accumulators).
// Whether a kernel is inlined into the driver matters as much (see gemm_microkernels.ts): the 4×8
// kernels are, the 6×8 is not.
export const GEMM_MR: i32 = ASC_FEATURE_RELAXED_SIMD ? 6 : 4;
export const GEMM_NR: i32 = 8;
