import { describe, expect, it } from 'vitest';
import { WasmArena } from '../src/backends/arena.js';
import { loadWasm } from '../src/backends/wasm/loader.js';
import { wasmBuilds } from './helpers/backends.js';
import { randomArray } from './helpers/random.js';

/**
 * f32_gemm (assembly/gemm.ts), the general entry the backward kernels call:
 * C[M×N] = (accumulate ? C : 0) + op(A)·op(B), row-major, against a plain loop in f64.
 * Sizes cover the microkernel's edges (M, N not multiples of the 4/6×8 tiles, M < 4, K = 1, a K-blocked size)
 * and leading dimensions wider than the matrices.
 */
const sizes: [number, number, number][] = [
  [1, 1, 1],
  [4, 8, 16],
  [5, 13, 37],
  [3, 7, 2],
  [17, 9, 1],
  [8, 24, 300],
  [13, 31, 517],
  [2, 65, 33],
  [33, 2, 19],
  // M = 1 (the batch-1 linear): with B over 4 MB four panels per call, then single panels, then the
  // right edge; smaller B one panel at a time.
  [1, 70, 15000],
  [1, 70, 33],
  [1, 8, 300],
  // M·K past what the driver keeps unblocked (192K floats): K is cut into blocks, C reloaded between them.
  [41, 9, 5000],
];

function gemmJs(
  ta: number,
  tb: number,
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  lda: number,
  b: Float32Array,
  ldb: number,
  c: Float32Array,
  ldc: number,
  acc: boolean,
): Float32Array {
  const out = Float32Array.from(c);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = acc ? c[i * ldc + j] : 0;
      for (let p = 0; p < k; p++) s += (ta ? a[p * lda + i] : a[i * lda + p]) * (tb ? b[j * ldb + p] : b[p * ldb + j]);
      out[i * ldc + j] = s;
    }
  return out;
}

for (const build of wasmBuilds) {
  describe(`f32_gemm on wasm:${build}`, () => {
    for (const [m, n, k] of sizes) {
      for (const [ta, tb] of [
        [0, 0],
        [1, 0],
        [0, 1],
        [1, 1],
      ]) {
        it(`M=${m} N=${n} K=${k} transA=${ta} transB=${tb}`, async () => {
          const { exports: ex } = await loadWasm(build);
          const arena = new WasmArena(ex.memory, ex.heap_base());
          // Leading dimensions with a gap, to prove lda/ldb/ldc are honoured.
          const lda = (ta ? m : k) + 3;
          const ldb = (tb ? k : n) + 1;
          const ldc = n + 2;
          const aRows = ta ? k : m;
          const bRows = tb ? n : k;
          const a = randomArray(aRows * lda, m * 7 + k, 1);
          const b = randomArray(bRows * ldb, n * 5 + k, 1);
          const c0 = randomArray(m * ldc, m + n, 1);
          const absSum = gemmJs(ta, tb, m, n, k, a.map(Math.abs), lda, b.map(Math.abs), ldb, c0.map(Math.abs), ldc, true);
          const ap = arena.alloc(4 * a.length);
          const bp = arena.alloc(4 * b.length);
          const cp = arena.alloc(4 * c0.length);
          const sp = arena.alloc(ex.f32_gemm_scratch_bytes(m, n, k));
          try {
            arena.f32(ap, a.length).set(a);
            arena.f32(bp, b.length).set(b);
            for (const acc of [0, 1]) {
              arena.f32(cp, c0.length).set(c0);
              ex.f32_gemm(ta, tb, m, n, k, ap, lda, bp, ldb, cp, ldc, acc, sp);
              const want = gemmJs(ta, tb, m, n, k, a, lda, b, ldb, c0, ldc, acc === 1);
              const got = arena.f32(cp, c0.length);
              // Padding columns of C (j ≥ n) must be untouched.
              for (let i = 0; i < m; i++) for (let j = n; j < ldc; j++) expect(got[i * ldc + j]).toBe(c0[i * ldc + j]);
              // f32 accumulation: the error is bounded by a few ulps of the sum of |terms| (K = 5000 cancels).
              for (let i = 0; i < got.length; i++) {
                const tol = 1e-5 + 2 ** -22 * absSum[i];
                if (!(Math.abs(got[i] - want[i]) <= tol)) {
                  expect.fail(`gemm acc=${acc}: index ${i}: got ${got[i]}, expected ${want[i]} (tol ${tol})`);
                }
              }
            }
          } finally {
            for (const p of [ap, bp, cp, sp]) arena.free(p);
          }
        });
      }
    }
  });
}
