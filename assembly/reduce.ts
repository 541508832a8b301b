// Reductions over one contiguous block of axes, seen as [outer, r, inner] (kind 0 sum, 1 mean, 2 max):
// y[o, i] = reduce over j of x[o, j, i]. inner = 1 (a row: global pooling, a channels-last mean) sums
// 4 lanes then folds them; inner > 1 reduces whole rows of lanes at once. Reductions over several separate
// blocks of axes run as passes of this (src/backends/wasm/kernels/reduce.ts). max propagates NaN.

// @ts-ignore: decorator
@inline function at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}

// @ts-ignore: decorator
@inline function comb(kind: i32, a: f32, b: f32): f32 {
  return kind == 2 ? (a != a || b != b ? NaN : max<f32>(a, b)) : a + b;
}

// @ts-ignore: decorator
@inline function comb4(kind: i32, a: v128, b: v128): v128 {
  return kind == 2 ? f32x4.max(a, b) : f32x4.add(a, b);
}

export function f32_reduce(x: usize, y: usize, outer: i32, r: i32, inner: i32, kind: i32): void {
  const scale: f32 = kind == 1 ? <f32>1 / <f32>r : 1;
  for (let o = 0; o < outer; o++) {
    const px = at(x, o * r * inner);
    const py = at(y, o * inner);
    if (inner == 1) {
      let j = 0;
      let s: f32 = kind == 2 ? -Infinity : 0;
      if (ASC_FEATURE_SIMD && r >= 4) {
        let acc = v128.load(px);
        for (j = 4; j + 4 <= r; j += 4) acc = comb4(kind, acc, v128.load(at(px, j)));
        s = comb(kind, comb(kind, f32x4.extract_lane(acc, 0), f32x4.extract_lane(acc, 1)), comb(kind, f32x4.extract_lane(acc, 2), f32x4.extract_lane(acc, 3)));
      }
      for (; j < r; j++) s = comb(kind, s, load<f32>(at(px, j)));
      store<f32>(py, s * scale);
      continue;
    }
    memory.copy(py, px, <usize>inner << 2);
    for (let j = 1; j < r; j++) {
      const row = at(px, j * inner);
      let i = 0;
      if (ASC_FEATURE_SIMD) for (; i + 4 <= inner; i += 4) v128.store(at(py, i), comb4(kind, v128.load(at(py, i)), v128.load(at(row, i))));
      for (; i < inner; i++) store<f32>(at(py, i), comb(kind, load<f32>(at(py, i)), load<f32>(at(row, i))));
    }
    if (kind == 1) {
      let i = 0;
      if (ASC_FEATURE_SIMD) {
        const sv = f32x4.splat(scale);
        for (; i + 4 <= inner; i += 4) v128.store(at(py, i), f32x4.mul(v128.load(at(py, i)), sv));
      }
      for (; i < inner; i++) store<f32>(at(py, i), load<f32>(at(py, i)) * scale);
    }
  }
}
