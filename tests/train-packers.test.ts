import { describe, expect, it } from 'vitest';
import { WasmArena } from '../src/backends/arena.js';
import { loadWasm } from '../src/backends/wasm/loader.js';
import { wasmBuilds } from './helpers/backends.js';
import { randomArray } from './helpers/random.js';

// The training-side packers of assembly/col2im.ts write exactly the B panels f32_gemm_pack_b does
// (bit-identical), on every build, for shapes with partial panels and tails.
describe.each(wasmBuilds)('training packers (%s build)', (build) => {
  it('f32_pack_b_transposed = f32_gemm_pack_b with transB', async () => {
    const { exports: e } = await loadWasm(build);
    const arena = new WasmArena(e.memory, e.heap_base());
    for (const [n, k, lds] of [
      [8, 4, 4],
      [16, 12, 12],
      [13, 7, 9],
      [3, 5, 5],
      [24, 33, 40],
      [1, 1, 1],
    ]) {
      const s = arena.alloc(4 * n * lds);
      arena.f32(s, n * lds).set(randomArray(n * lds, n * 31 + k, 1));
      const floats = e.f32_gemm_packed_b_floats(n, k);
      const want = arena.alloc(4 * floats);
      const got = arena.alloc(4 * floats);
      arena.f32(got, floats).fill(Number.NaN);
      e.f32_gemm_pack_b(s, lds, 1, k, n, want);
      e.f32_pack_b_transposed(s, lds, k, n, got);
      expect(Array.from(arena.f32(got, floats))).toEqual(Array.from(arena.f32(want, floats)));
      for (const p of [s, want, got]) arena.free(p);
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
