import { describe, expect, it } from 'vitest';
import { WasmArena } from '../src/backends/arena.js';
import { loadWasm } from '../src/backends/wasm/loader.js';
import { wasmBuilds } from './helpers/backends.js';
import { randomArray } from './helpers/random.js';

// The B-panel packers: f32_gemm_pack_b against a plain oracle, and the training-side packers of
// assembly/col2im.ts against f32_gemm_pack_b (bit-identical), on every build, with partial panels and tails.
describe.each(wasmBuilds)('training packers (%s build)', (build) => {
  // An independent oracle for the B-panel layout: panel j, step k, lane l = op(B)[k][j·NR + l], 0 past N.
  it('f32_gemm_pack_b writes the B-panel layout, row-major and transposed (partial panels, K tails, ld > width)', async () => {
    const { exports: e } = await loadWasm(build);
    const arena = new WasmArena(e.memory, e.heap_base());
    const nr = e.f32_gemm_nr();
    // [K, N, extra row stride]: K across the row-major pack's 32-row blocks and the 4-step SIMD transposes.
    for (const [k, n, pad] of [
      [4, 8, 0],
      [12, 16, 0],
      [7, 13, 2],
      [5, 3, 0],
      [33, 24, 7],
      [1, 1, 0],
      [70, 41, 3],
      [64, 8, 0],
    ]) {
      for (const transB of [0, 1]) {
        const rows = transB ? n : k;
        const ld = (transB ? k : n) + pad;
        const s = arena.alloc(4 * rows * ld);
        const src = randomArray(rows * ld, k * 131 + n * 7 + transB, 1);
        arena.f32(s, rows * ld).set(src);
        const floats = e.f32_gemm_packed_b_floats(n, k);
        const got = arena.alloc(4 * floats);
        arena.f32(got, floats).fill(Number.NaN);
        e.f32_gemm_pack_b(s, ld, transB, k, n, got);
        const want = new Float32Array(floats);
        for (let j0 = 0; j0 < n; j0 += nr) {
          for (let kk = 0; kk < k; kk++) {
            for (let l = 0; l < nr; l++) {
              const j = j0 + l;
              want[j0 * k + kk * nr + l] = j < n ? src[transB ? j * ld + kk : kk * ld + j] : 0;
            }
          }
        }
        expect(Array.from(arena.f32(got, floats)), `K ${k}, N ${n}, transB ${transB}`).toEqual(Array.from(want));
        for (const p of [s, got]) arena.free(p);
      }
    }
  });

  it('f32_im2col_nchw_bt_panels = im2col then f32_gemm_pack_b with transB', async () => {
    const { exports: e } = await loadWasm(build);
    const arena = new WasmArena(e.memory, e.heap_base());
    // c, h, w, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow
    for (const g of [
      [3, 7, 9, 3, 3, 1, 1, 1, 1, 1, 1, 7, 9],
      [2, 8, 8, 3, 3, 2, 2, 1, 1, 1, 1, 4, 4],
      [5, 9, 7, 3, 2, 1, 1, 2, 1, 2, 2, 9, 5],
      [1, 5, 6, 1, 1, 1, 1, 0, 0, 1, 1, 5, 6],
    ]) {
      const [c, h, w, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow] = g;
      const p = oh * ow;
      const kk = c * kh * kw;
      const x = arena.alloc(4 * c * h * w);
      arena.f32(x, c * h * w).set(randomArray(c * h * w, c + h + w, 1));
      const col = arena.alloc(4 * kk * p);
      e.f32_im2col_nchw_kxp(x, col, c, h, w, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow);
      const floats = e.f32_gemm_packed_b_floats(kk, p);
      const want = arena.alloc(4 * floats);
      const got = arena.alloc(4 * floats);
      const tmp = arena.alloc(4 * e.f32_im2col_bt_panels_tmp_floats(oh, ow));
      e.f32_gemm_pack_b(col, p, 1, p, kk, want);
      arena.f32(got, floats).fill(Number.NaN);
      e.f32_im2col_nchw_bt_panels(x, got, c, h, w, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow, tmp);
      expect(Array.from(arena.f32(got, floats))).toEqual(Array.from(arena.f32(want, floats)));
      for (const q of [x, col, want, got, tmp]) arena.free(q);
    }
  });
});
