import { describe, expect, it } from 'vitest';
import { WasmArena } from '../src/backends/arena.js';
import { loadWasm } from '../src/backends/wasm/loader.js';
import { wasmBuilds } from './helpers/backends.js';
import { randomArray } from './helpers/random.js';

// The forward convolution's im2col into B panels (assembly/im2col.ts) against a plain oracle, and its
// panel-range form (batch 1 on several threads: each thread writes only the panels it multiplies) against
// the oracle panel by panel, with every panel outside the range left untouched. Both code paths: row-aligned
// (ow a multiple of NR, stride 1 or 2) and the padded-plane gather (any other geometry).
describe.each(wasmBuilds)('im2col into B panels (%s build)', (build) => {
  // c, h, w, kh, kw, sh, sw, pt, pl, dh, dw
  const geometries = [
    [3, 8, 16, 3, 3, 1, 1, 1, 1, 1, 1], // row-aligned, stride 1, padded
    [2, 16, 16, 3, 3, 2, 2, 1, 1, 1, 1], // row-aligned, stride 2
    [5, 9, 7, 3, 2, 1, 1, 2, 1, 2, 2], // plane: odd sizes, dilation
    [3, 11, 13, 5, 3, 2, 1, 0, 2, 1, 1], // plane: stride 2 × 1, uneven padding
    [1, 6, 6, 1, 1, 1, 1, 0, 0, 1, 1], // plane: 1×1 (P = 36, a partial last panel)
    [6, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1], // row-aligned, ow = NR
  ];

  it('writes col[k][p] as panel p/NR, row k, lane p%NR; a panel range writes just those panels, the same values', async () => {
    const { exports: e } = await loadWasm(build);
    const arena = new WasmArena(e.memory, e.heap_base());
    const nr = e.f32_gemm_nr();
    for (const [c, h, w, kh, kw, sh, sw, pt, pl, dh, dw] of geometries) {
      const oh = Math.floor((h + 2 * pt - dh * (kh - 1) - 1) / sh) + 1;
      const ow = Math.floor((w + 2 * pl - dw * (kw - 1) - 1) / sw) + 1;
      const k = c * kh * kw;
      const p = oh * ow;
      const panels = Math.ceil(p / nr);
      const floats = panels * nr * k;
      const xs = randomArray(c * h * w, c * 97 + h * 13 + kw, 1);
      const want = new Float32Array(floats);
      for (let ci = 0; ci < c; ci++) {
        for (let ky = 0; ky < kh; ky++) {
          for (let kx = 0; kx < kw; kx++) {
            const row = (ci * kh + ky) * kw + kx;
            for (let q = 0; q < p; q++) {
              const iy = Math.floor(q / ow) * sh - pt + ky * dh;
              const ix = (q % ow) * sw - pl + kx * dw;
              const v = iy >= 0 && iy < h && ix >= 0 && ix < w ? xs[(ci * h + iy) * w + ix] : 0;
              want[(Math.floor(q / nr) * k + row) * nr + (q % nr)] = v;
            }
          }
        }
      }
      const x = arena.alloc(4 * xs.length);
      arena.f32(x, xs.length).set(xs);
      const bp = arena.alloc(4 * floats);
      const tmp = arena.alloc(4 * e.f32_im2col_panels_tmp_floats(kh, kw, sh, sw, dh, dw, oh, ow) + 64);
      const label = `c ${c}, ${h}×${w}, k ${kh}×${kw}, s ${sh}×${sw}, pad ${pt},${pl}, dil ${dh}×${dw}`;
      arena.f32(bp, floats).fill(Number.NaN);
      e.f32_im2col_nchw_panels(x, bp, c, h, w, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow, tmp);
      expect(Array.from(arena.f32(bp, floats)), label).toEqual(Array.from(want));
      // Ranges that cut output rows and ones that do not, a single panel, the last (partial) one.
      const cuts = [
        [0, panels],
        [0, 1],
        [1, Math.max(1, panels - 1)],
        [Math.floor(panels / 3), Math.floor((2 * panels) / 3) + 1],
        [panels - 1, panels],
      ];
      for (const [j0, j1] of cuts) {
        arena.f32(bp, floats).fill(Number.NaN);
        e.f32_im2col_nchw_panels_range(x, bp, c, h, w, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow, tmp, j0, j1);
        const got = arena.f32(bp, floats);
        const inside = (i: number) => {
          const j = Math.floor(i / (k * nr));
          return j >= j0 && j < j1;
        };
        const bad = Array.from(got).findIndex((v, i) => (inside(i) ? !Object.is(v, want[i]) : !Number.isNaN(v)));
        expect(bad, `${label}, panels [${j0}, ${j1}): first wrong float`).toBe(-1);
      }
      for (const ptr of [x, bp, tmp]) arena.free(ptr);
    }
  });
});
