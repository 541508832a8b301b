import type { ActivationKind } from '../../../ops/types.js';
import type { WasmContext } from '../context.js';

/** Activation codes of the GEMM / depthwise epilogues (assembly/gemm.ts). */
const activationCodes: Record<ActivationKind, number> = {
  none: 0,
  relu: 1,
  relu6: 2,
  leakyRelu: 3,
  sigmoid: 4,
  tanh: 5,
};

export function activationCode(kind: ActivationKind): number {
  return activationCodes[kind];
}

export const align16 = (p: number): number => (p + 15) & ~15;

/** The build's register tile (assembly/gemm_tile.ts): A panels of mr rows, B panels of nr columns. */
export function gemmTile(ctx: WasmContext): { mr: number; nr: number } {
  return { mr: ctx.exports.f32_gemm_mr(), nr: ctx.exports.f32_gemm_nr() };
}

/**
 * Packs rows [row0, row0 + m) of a row-major matrix src (row stride ld, columns [col0, col0 + k)) into
 * mr-row A panels at dst: panel i, step p, lane r = src[row0 + i·mr + r][col0 + p] (0 past m).
 */
export function packAPanels(
  dst: Float32Array,
  src: Float32Array,
  ld: number,
  row0: number,
  m: number,
  k: number,
  mr: number,
): void {
  let d = 0;
  for (let i0 = 0; i0 < m; i0 += mr) {
    for (let p = 0; p < k; p++) {
      for (let r = 0; r < mr; r++) dst[d++] = i0 + r < m ? src[(row0 + i0 + r) * ld + p] : 0;
    }
  }
}

/**
 * Packs Bᵀ into nr-column B panels, where the stored matrix w is n×k row-major (a linear layer's
 * weight [out, in]): panel j, step p, lane l = w[j·nr + l][p] (0 past n).
 */
export function packTransposedBPanels(dst: Float32Array, w: Float32Array, n: number, k: number, nr: number): void {
  for (let j0 = 0; j0 < n; j0 += nr) {
    const base = j0 * k;
    for (let l = 0; l < nr; l++) {
      const col = j0 + l;
      if (col < n) {
        const src = col * k;
        for (let p = 0; p < k; p++) dst[base + p * nr + l] = w[src + p];
      } else {
        for (let p = 0; p < k; p++) dst[base + p * nr + l] = 0;
      }
    }
  }
}
