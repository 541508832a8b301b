// Layout ops of imported ONNX graphs on raw f32 pointers: N-d transpose and constant padding (scalar
// loops: pure data movement with an index odometer, nothing for SIMD lanes to share), and the derivative
// of clip / hardSwish for training through them. Shapes and strides arrive as i32 arrays in memory.

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
  for (let d = 0; d < rank; d++) store<i32>(idx + (<usize>d << 2), 0);
  const inner = geti(outShape, rank - 1);
  const is = geti(inStrides, rank - 1);
  let px = 0;
  for (let py = 0; py < n; py += inner) {
    for (let i = 0; i < inner; i++) store<f32>(at(y, py + i), load<f32>(at(x, px + i * is)));
    for (let d = rank - 2; d >= 0; d--) {
      const k = geti(idx, d) + 1;
      px += geti(inStrides, d);
      if (k < geti(outShape, d)) {
        store<i32>(idx + (<usize>d << 2), k);
        break;
      }
      px -= geti(inStrides, d) * geti(outShape, d);
      store<i32>(idx + (<usize>d << 2), 0);
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
  for (let d = 0; d < rank; d++) store<i32>(idx + (<usize>d << 2), 0);
  for (let i = 0; i < n; i++) {
    let o = 0;
    let inside = true;
    for (let d = 0; d < rank; d++) {
      const c = geti(idx, d) + geti(pads, d);
      if (c < 0 || c >= geti(outShape, d)) inside = false;
      o += c * geti(outStrides, d);
    }
    if (inside) store<f32>(at(y, o), load<f32>(at(x, i)));
    for (let d = rank - 1; d >= 0; d--) {
      const k = geti(idx, d) + 1;
      if (k < geti(inShape, d)) {
        store<i32>(idx + (<usize>d << 2), k);
        break;
      }
      store<i32>(idx + (<usize>d << 2), 0);
    }
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
  for (let d = 0; d < rank; d++) store<i32>(idx + (<usize>d << 2), 0);
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
