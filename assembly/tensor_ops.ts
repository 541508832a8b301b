// Layout ops of imported ONNX graphs on raw f32 pointers: N-d transpose and constant padding (scalar
// loops: pure data movement with an index odometer, nothing for SIMD lanes to share), and the derivative
// of clip / hardSwish for training through them. Shapes and strides arrive as i32 arrays in memory.

import { odometerDelta, odometerReset, odometerStep } from './odometer';

// @ts-ignore: decorator
@inline function at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}

// @ts-ignore: decorator
@inline function geti(p: usize, i: i32): i32 {
  return load<i32>(p + (<usize>i << 2));
}

/**
 * y = x transposed: y's dimensions are `outShape` (rank ≥ 1), and stepping dimension d of y moves the
 * read position in x by `inStrides[d]` elements. `idx` is rank i32s of scratch (the odometer).
 */
export function f32_transpose(x: usize, y: usize, n: i32, rank: i32, outShape: usize, inStrides: usize, idx: usize): void {
  odometerReset(idx, rank);
  const inner = geti(outShape, rank - 1);
  const is = geti(inStrides, rank - 1);
  let px = 0;
  for (let py = 0; py < n; py += inner) {
    for (let i = 0; i < inner; i++) store<f32>(at(y, py + i), load<f32>(at(x, px + i * is)));
    px += odometerDelta(inStrides, outShape, odometerStep(idx, outShape, rank - 1), rank - 1);
  }
}

/**
 * y[b][j][i] = x[b][i][j] for b < batch, i < rows, j < cols: the batched 2-D transpose that NCHW ↔ NHWC
 * permutes are ([N, C, H·W] ↔ [N, H·W, C]). The SIMD build moves 4×4 blocks through registers (four row
 * loads, eight shuffles, four column stores) instead of one strided scalar load per element; the rows and
 * columns left over, and the whole of the scalar build, take the element loop.
 */
export function f32_transpose_2d(x: usize, y: usize, batch: i32, rows: i32, cols: i32): void {
  const plane = rows * cols;
  for (let b = 0; b < batch; b++) {
    const xb = at(x, b * plane);
    const yb = at(y, b * plane);
    let i = 0;
    if (ASC_FEATURE_SIMD) {
      const rowBytes = <usize>cols << 2;
      const colBytes = <usize>rows << 2;
      for (; i + 4 <= rows; i += 4) {
        const x0 = at(xb, i * cols);
        let j = 0;
        for (; j + 4 <= cols; j += 4) {
          const p = at(x0, j);
          const r0 = v128.load(p);
          const r1 = v128.load(p + rowBytes);
          const r2 = v128.load(p + 2 * rowBytes);
          const r3 = v128.load(p + 3 * rowBytes);
          const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
          const t1 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
          const t2 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
          const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
          const q = at(yb, j * rows + i);
          v128.store(q, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
          v128.store(q + colBytes, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7));
          v128.store(q + 2 * colBytes, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5));
          v128.store(q + 3 * colBytes, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7));
        }
        for (; j < cols; j++) {
          for (let k = 0; k < 4; k++) store<f32>(at(yb, j * rows + i + k), load<f32>(at(xb, (i + k) * cols + j)));
        }
      }
    }
    for (; i < rows; i++) {
      for (let j = 0; j < cols; j++) store<f32>(at(yb, j * rows + i), load<f32>(at(xb, i * cols + j)));
    }
  }
}

/**
 * Constant padding (ONNX Pad, mode constant): y (`outShape`, m elements) is `value` everywhere, then each
 * element of x (`inShape`, n elements) lands at its index shifted by the begin pads `pads` (negative pads crop).
 * `outStrides` are y's element strides; `idx` is rank i32s of scratch.
 */
export function f32_pad_constant(
  x: usize, y: usize, n: i32, m: i32, rank: i32, inShape: usize, outShape: usize, outStrides: usize, pads: usize, idx: usize, value: f32,
): void {
  for (let i = 0; i < m; i++) store<f32>(at(y, i), value);
  odometerReset(idx, rank);
  for (let i = 0; i < n; i++) {
    let o = 0;
    let inside = true;
    for (let d = 0; d < rank; d++) {
      const c = geti(idx, d) + geti(pads, d);
      if (c < 0 || c >= geti(outShape, d)) inside = false;
      o += c * geti(outStrides, d);
    }
    if (inside) store<f32>(at(y, o), load<f32>(at(x, i)));
    odometerStep(idx, inShape, rank);
  }
}

/**
 * dx = dy · f'(x): kind 0 clip (1 where min ≤ x ≤ max, as torch.clamp's gradient), kind 1 hardSwish
 * (0 below −3, 1 above 3, (2x + 3)/6 between). The factor is computed in f64 as the TypeScript oracle does.
 */
export function f32_unary_grad(dy: usize, x: usize, dx: usize, n: i32, kind: i32, lo: f64, hi: f64): void {
  for (let i = 0; i < n; i++) {
    const v = <f64>load<f32>(at(x, i));
    let d: f64;
    if (kind == 0) d = v >= lo && v <= hi ? 1 : 0;
    else d = v < -3 ? 0 : v > 3 ? 1 : (2 * v + 3) / 6;
    store<f32>(at(dx, i), <f32>(<f64>load<f32>(at(dy, i)) * d));
  }
}

/**
 * y = a ∘ b with general broadcasting (kind 0 add, 1 sub, 2 mul, 3 div, 4 max, 5 min, 6 pow, 7 prelu): `outShape` has rank dimensions,
 * `sa`/`sb` are a's and b's element strides read as broadcast to it (0 along broadcast dimensions); an
 * odometer over the outer dimensions, a strided loop over the last. `idx` is rank i32s of scratch.
 */
export function f32_binary_broadcast(
  a: usize, b: usize, y: usize, n: i32, rank: i32, outShape: usize, sa: usize, sb: usize, idx: usize, kind: i32,
): void {
  odometerReset(idx, rank);
  const inner = geti(outShape, rank - 1);
  const ia = geti(sa, rank - 1);
  const ib = geti(sb, rank - 1);
  let pa = 0;
  let pb = 0;
  for (let py = 0; py < n; py += inner) {
    for (let i = 0; i < inner; i++) {
      const u = load<f32>(at(a, pa + i * ia));
      const v = load<f32>(at(b, pb + i * ib));
      store<f32>(
        at(y, py + i),
        kind == 0 ? u + v : kind == 1 ? u - v : kind == 2 ? u * v : kind == 3 ? u / v : kind == 4 ? max<f32>(u, v) : kind == 5 ? min<f32>(u, v) : kind == 7 ? (u < 0 ? u * v : u) : Mathf.pow(u, v),
      );
    }
    // The carry is written out here rather than taken from odometer.ts: with the shared helpers V8 compiled
    // this element loop (the same wasm) 1.3× slower on [4,16,32,32] + [16,1,1]; the other odometer kernels
    // measured the same either way.
    for (let d = rank - 2; d >= 0; d--) {
      const k = geti(idx, d) + 1;
      pa += geti(sa, d);
      pb += geti(sb, d);
      if (k < geti(outShape, d)) {
        store<i32>(idx + (<usize>d << 2), k);
        break;
      }
      pa -= geti(sa, d) * geti(outShape, d);
      pb -= geti(sb, d) * geti(outShape, d);
      store<i32>(idx + (<usize>d << 2), 0);
    }
  }
}

/** y = clamp(x, lo, hi) with the bounds compared in f64 (bounds that are not float32 values); NaN kept. */
export function f32_clip_f64(x: usize, y: usize, n: i32, lo: f64, hi: f64): void {
  for (let i = 0; i < n; i++) {
    const v = <f64>load<f32>(at(x, i));
    store<f32>(at(y, i), <f32>(v != v ? v : v < lo ? lo : v > hi ? hi : v));
  }
}
