// The GEMM's register tile, the one place each build's microkernel geometry is chosen. Packers
// (gemm.ts, im2col.ts and the TypeScript glue through f32_gemm_mr/nr) all follow it.
// simd / relaxed: 4×8 (8 v128 accumulators). Measured under V8 on conv-shaped problems, tiles with
// more accumulators spill (see bench/conv-layers.mjs and the notes in gemm.ts). The scalar build keeps
// the same panels and walks the tile in 4×2 passes.
export const GEMM_MR: i32 = 4;
export const GEMM_NR: i32 = 8;
