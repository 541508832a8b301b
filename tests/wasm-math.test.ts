import { beforeAll, describe, expect, it } from 'vitest';
import { WasmArena } from '../src/backends/arena.js';
import { type LoadedWasm, loadWasm } from '../src/backends/wasm/loader.js';
import { wasmBuilds } from './helpers/backends.js';

/**
 * Kernel-level checks of the wasm element-wise math on every build: the accuracy that
 * assembly/mathf.ts documents (exp, sigmoid, tanh against Math.*), NaN propagation like PyTorch, and
 * max pooling's NaN rule.
 */
function worstRelativeError(x: Float32Array, y: Float32Array, f: (v: number) => number): number {
  let worst = 0;
  for (let i = 0; i < x.length; i++) {
    const t = f(x[i]);
    if (Math.abs(t) < 1e-30) continue;
    worst = Math.max(worst, Math.abs(y[i] - t) / Math.abs(t));
  }
  return worst;
}

for (const build of wasmBuilds) {
  describe(`wasm math on ${build}`, () => {
    let w: LoadedWasm;
    let arena: WasmArena;
    beforeAll(async () => {
      w = await loadWasm(build);
      arena = new WasmArena(w.exports.memory, w.exports.heap_base());
    });

    // An odd length so the SIMD body and the scalar tail both run.
    const n = 65537;
    const cases: [string, number, number, (v: number) => number, number][] = [
      ['f32_exp', -87, 88, Math.exp, 2e-7],
      ['f32_exp', -1, 1, Math.exp, 2e-7],
      ['f32_sigmoid', -80, 80, (v) => 1 / (1 + Math.exp(-v)), 2.5e-7],
      ['f32_tanh', -10, 10, Math.tanh, 2e-7],
      ['f32_tanh', -1e-3, 1e-3, Math.tanh, 2e-7],
    ];
    for (const [fn, lo, hi, f, bound] of cases) {
      it(`${fn} on [${lo}, ${hi}] within ${bound} relative`, () => {
        const xp = arena.alloc(4 * n);
        const yp = arena.alloc(4 * n);
        const x = arena.f32(xp, n);
        for (let i = 0; i < n; i++) x[i] = lo + ((hi - lo) * i) / (n - 1);
        w.exports[fn](xp, yp, n);
        const err = worstRelativeError(arena.f32(xp, n), arena.f32(yp, n), f);
        arena.free(yp);
        arena.free(xp);
        expect(err).toBeLessThan(bound);
      });
    }

    it('activations propagate NaN and saturate at ±Infinity', () => {
      const xp = arena.alloc(64);
      const yp = arena.alloc(64);
      // 7 values: the first 4 go through the SIMD body, the rest through the scalar tail.
      const input = [Number.NaN, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, 0, Number.NaN, -1000, 1000];
      arena.f32(xp, 7).set(input);
      const expected: Record<string, number[]> = {
        f32_relu: [Number.NaN, 0, Number.POSITIVE_INFINITY, 0, Number.NaN, 0, 1000],
        f32_relu6: [Number.NaN, 0, 6, 0, Number.NaN, 0, 6],
        f32_sigmoid: [Number.NaN, 0, 1, 0.5, Number.NaN, 0, 1],
        f32_tanh: [Number.NaN, -1, 1, 0, Number.NaN, -1, 1],
      };
      for (const [fn, want] of Object.entries(expected)) {
        w.exports[fn](xp, yp, 7);
        const got = [...arena.f32(yp, 7)];
        got.forEach((v, i) => {
          if (Number.isNaN(want[i])) expect(v, `${fn}[${i}]`).toBeNaN();
          else expect(v, `${fn}[${i}]`).toBeCloseTo(want[i], 30);
        });
      }
      arena.free(yp);
      arena.free(xp);
    });

    it('max pooling propagates NaN (in the SIMD interior and in the border)', () => {
      // One 2x10 plane, 2x2 stride 2: outputs 0-3 from the SIMD path, output 4 from the scalar tail.
      const xp = arena.alloc(4 * 20);
      const yp = arena.alloc(4 * 5);
      const x = arena.f32(xp, 20);
      for (let i = 0; i < 20; i++) x[i] = i;
      x[3] = Number.NaN; // window 1
      x[19] = Number.NaN; // window 4
      w.exports.f32_maxpool2d_nchw(xp, yp, 1, 2, 10, 1, 5, 2, 2, 2, 2, 0, 0, 1, 1);
      const y = [...arena.f32(yp, 5)];
      expect(y[0]).toBe(11);
      expect(y[1]).toBeNaN();
      expect(y[2]).toBe(15);
      expect(y[3]).toBe(17);
      expect(y[4]).toBeNaN();
      arena.free(yp);
      arena.free(xp);
    });

    it('3x3 stride-2 max pooling propagates NaN from each tap (SIMD shuffles and scalar tail)', () => {
      // One 3x20 plane: 9 outputs, two SIMD blocks of 4 and one scalar column.
      const xp = arena.alloc(4 * 60);
      const yp = arena.alloc(4 * 9);
      const x = arena.f32(xp, 60);
      for (let i = 0; i < 60; i++) x[i] = (i * 7) % 11;
      x[20 + 8] = Number.NaN; // row 1, column 8: third tap of output 3, first tap of output 4
      x[40 + 17] = Number.NaN; // row 2, column 17: middle tap of output 8
      w.exports.f32_maxpool2d_nchw(xp, yp, 1, 3, 20, 1, 9, 3, 3, 2, 2, 0, 0, 1, 1);
      const y = [...arena.f32(yp, 9)];
      y.forEach((v, i) => {
        if (i === 3 || i === 4 || i === 8) expect(v, `output ${i}`).toBeNaN();
        else {
          let best = Number.NEGATIVE_INFINITY;
          for (let r = 0; r < 3; r++) for (let c = 2 * i; c < 2 * i + 3; c++) best = Math.max(best, x[r * 20 + c]);
          expect(v, `output ${i}`).toBe(best);
        }
      });
      arena.free(yp);
      arena.free(xp);
    });

    it('softmax of a row holding NaN is NaN, other rows unaffected', () => {
      const xp = arena.alloc(4 * 10);
      const yp = arena.alloc(4 * 10);
      arena.f32(xp, 10).set([1, 2, Number.NaN, 3, 4, 0, 0, 0, 0, 0]);
      w.exports.f32_softmax(xp, yp, 2, 5, 1);
      const y = arena.f32(yp, 10);
      for (let i = 0; i < 5; i++) expect(y[i]).toBeNaN();
      for (let i = 5; i < 10; i++) expect(y[i]).toBeCloseTo(0.2, 6);
      arena.free(yp);
      arena.free(xp);
    });
  });
}
