import { describe, expect, it } from 'vitest';
import { WasmArena } from '../src/backends/arena.js';
import { loadWasm } from '../src/backends/wasm/loader.js';
import { wasmBuilds } from './helpers/backends.js';
import { expectClose, randomArray } from './helpers/random.js';

/** Geometry: c, h, w, kh, kw, sh, sw, pt, pl, dh, dw (bottom/right padding follow from the output size). */
const geometries: number[][] = [
  [3, 7, 9, 3, 3, 1, 1, 1, 1, 1, 1],
  [2, 8, 8, 3, 3, 2, 2, 1, 1, 1, 1],
  [5, 9, 7, 3, 2, 1, 1, 2, 1, 2, 2],
  [2, 8, 8, 3, 3, 3, 3, 0, 0, 1, 1],
  [4, 6, 5, 4, 4, 1, 1, 1, 1, 1, 1],
  [3, 5, 11, 1, 5, 1, 2, 0, 2, 1, 1],
  [3, 9, 21, 3, 3, 2, 2, 1, 1, 1, 1],
  [2, 6, 19, 1, 1, 2, 2, 0, 0, 1, 1],
  [2, 7, 24, 3, 5, 2, 2, 1, 2, 1, 2],
];

function outSize(size: number, k: number, s: number, pad: number, d: number): number {
  return Math.floor((size + 2 * pad - d * (k - 1) - 1) / s) + 1;
}

/** Plain im2col: col[(ci·kh + ky)·kw + kx][oy·ow + ox]. */
function im2colJs(x: Float32Array, g: number[], oh: number, ow: number): Float32Array {
  const [c, h, w, kh, kw, sh, sw, pt, pl, dh, dw] = g;
  const col = new Float32Array(c * kh * kw * oh * ow);
  for (let ci = 0; ci < c; ci++)
    for (let ky = 0; ky < kh; ky++)
      for (let kx = 0; kx < kw; kx++)
        for (let oy = 0; oy < oh; oy++)
          for (let ox = 0; ox < ow; ox++) {
            const iy = oy * sh - pt + ky * dh;
            const ix = ox * sw - pl + kx * dw;
            const v = iy >= 0 && iy < h && ix >= 0 && ix < w ? x[(ci * h + iy) * w + ix] : 0;
            col[(((ci * kh + ky) * kw + kx) * oh + oy) * ow + ox] = v;
          }
  return col;
}

function col2imJs(col: Float32Array, g: number[], oh: number, ow: number): Float32Array {
  const [c, h, w, kh, kw, sh, sw, pt, pl, dh, dw] = g;
  const x = new Float64Array(c * h * w);
  for (let ci = 0; ci < c; ci++)
    for (let ky = 0; ky < kh; ky++)
      for (let kx = 0; kx < kw; kx++)
        for (let oy = 0; oy < oh; oy++)
          for (let ox = 0; ox < ow; ox++) {
            const iy = oy * sh - pt + ky * dh;
            const ix = ox * sw - pl + kx * dw;
            if (iy >= 0 && iy < h && ix >= 0 && ix < w)
              x[(ci * h + iy) * w + ix] += col[(((ci * kh + ky) * kw + kx) * oh + oy) * ow + ox];
          }
  return Float32Array.from(x);
}

for (const build of wasmBuilds) {
  describe(`im2col / col2im on wasm:${build}`, () => {
    for (const g of geometries) {
      it(`geometry ${g.join(',')}`, async () => {
        const { exports: ex } = await loadWasm(build);
        const arena = new WasmArena(ex.memory, ex.heap_base());
        const [c, h, w, kh, kw, sh, sw, pt, pl, dh, dw] = g;
        const oh = outSize(h, kh, sh, pt, dh);
        const ow = outSize(w, kw, sw, pl, dw);
        const k = c * kh * kw * oh * ow;
        const xp = arena.alloc(4 * c * h * w);
        const cp = arena.alloc(4 * k);
        try {
          const x = randomArray(c * h * w, 3, 1);
          arena.f32(xp, x.length).set(x);
          ex.f32_im2col_nchw_kxp(xp, cp, c, h, w, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow);
          expect(Array.from(arena.f32(cp, k))).toEqual(Array.from(im2colJs(x, g, oh, ow)));
          const col = randomArray(k, 4, 1);
          arena.f32(cp, k).set(col);
          ex.f32_col2im_nchw_kxp(cp, xp, c, h, w, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow);
          expectClose(arena.f32(xp, c * h * w), col2imJs(col, g, oh, ow), 1e-6, 1e-5, 'col2im');
        } finally {
          arena.free(xp);
          arena.free(cp);
        }
      });
    }
  });
}
