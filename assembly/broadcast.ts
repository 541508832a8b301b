// Broadcasting arithmetic and the ONNX element-wise extras (clip, hardSwish) on raw f32 pointers.
// SIMD loops have a scalar tail; without SIMD the tail is the whole loop. x == y (in place) is allowed.

// @ts-ignore: decorator
@inline function at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}

// @ts-ignore: decorator
@inline function op1(kind: i32, x: f32, s: f32): f32 {
  // 4 max, 5 min (wasm's f32.max/min: NaN if either is), 6 pow (scalar only: no lane-wise pow),
  // 7 prelu (x < 0 ? x·s : x; NaN stays NaN).
  return kind == 0 ? x + s : kind == 1 ? x - s : kind == 2 ? x * s : kind == 3 ? x / s : kind == 4 ? max<f32>(x, s) : kind == 5 ? min<f32>(x, s) : kind == 7 ? (x < 0 ? x * s : x) : Mathf.pow(x, s);
}

// @ts-ignore: decorator
@inline function op4(kind: i32, x: v128, s: v128): v128 {
  return kind == 0 ? f32x4.add(x, s) : kind == 1 ? f32x4.sub(x, s) : kind == 2 ? f32x4.mul(x, s) : kind == 3 ? f32x4.div(x, s) : kind == 4 ? f32x4.max(x, s) : kind == 5 ? f32x4.min(x, s) : v128.bitselect(f32x4.mul(x, s), x, f32x4.lt(x, f32x4.splat(0)));
}

/**
 * y[o, m, i] = a[o, m, i] ∘ b[m] over [outer, mid, inner] (kind 0 add, 1 sub, 2 mul, 3 div, 4 max, 5 min, 7 prelu; not pow); with
 * `swap`, y = b[m] ∘ a[o, m, i]. Covers a per-channel constant over NCHW (outer N, mid C, inner H·W)
 * and a scalar (mid 1). The kind branch is loop-invariant, so each row runs one straight loop.
 */
export function f32_binary_bcast_mid(a: usize, b: usize, y: usize, outer: i32, mid: i32, inner: i32, kind: i32, swap: bool): void {
  let row = 0;
  for (let o = 0; o < outer; o++) {
    for (let m = 0; m < mid; m++) {
      const s = load<f32>(at(b, m));
      const pa = at(a, row);
      const py = at(y, row);
      let i = 0;
      if (ASC_FEATURE_SIMD) {
        const sv = f32x4.splat(s);
        if (swap) for (; i + 4 <= inner; i += 4) v128.store(at(py, i), op4(kind, sv, v128.load(at(pa, i))));
        else for (; i + 4 <= inner; i += 4) v128.store(at(py, i), op4(kind, v128.load(at(pa, i)), sv));
      }
      if (swap) for (; i < inner; i++) store<f32>(at(py, i), op1(kind, s, load<f32>(at(pa, i))));
      else for (; i < inner; i++) store<f32>(at(py, i), op1(kind, load<f32>(at(pa, i)), s));
      row += inner;
    }
  }
}

/** y = a ∘ b element by element (sub and div; add and mul have f32_add / f32_mul). */
export function f32_binary_same(a: usize, b: usize, y: usize, n: i32, kind: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) v128.store(at(y, i), op4(kind, v128.load(at(a, i)), v128.load(at(b, i))));
  }
  for (; i < n; i++) store<f32>(at(y, i), op1(kind, load<f32>(at(a, i)), load<f32>(at(b, i))));
}

/** y = min(max(x, lo), hi), NaN kept (pmax/pmin select x when the comparison is false). */
export function f32_clip(x: usize, y: usize, n: i32, lo: f32, hi: f32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const l = f32x4.splat(lo);
    const h = f32x4.splat(hi);
    for (; i + 4 <= n; i += 4) v128.store(at(y, i), f32x4.pmin(f32x4.pmax(v128.load(at(x, i)), l), h));
  }
  for (; i < n; i++) {
    const v = load<f32>(at(x, i));
    store<f32>(at(y, i), v < lo ? lo : hi < v ? hi : v);
  }
}

/** hardSwish: y = x · clamp(x + 3, 0, 6) / 6 (torch.nn.Hardswish, ONNX HardSwish). */
export function f32_hardswish(x: usize, y: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const three = f32x4.splat(3);
    const zero = f32x4.splat(0);
    const six = f32x4.splat(6);
    for (; i + 4 <= n; i += 4) {
      const v = v128.load(at(x, i));
      const r = f32x4.pmin(f32x4.pmax(f32x4.add(v, three), zero), six);
      v128.store(at(y, i), f32x4.div(f32x4.mul(v, r), six));
    }
  }
  for (; i < n; i++) {
    const v = load<f32>(at(x, i));
    let r: f32 = v + 3;
    r = r < 0 ? 0 : <f32>6 < r ? 6 : r;
    store<f32>(at(y, i), (v * r) / 6);
  }
}
