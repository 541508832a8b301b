// Element-wise kernels on raw pointers: f32 arrays of length n.

/** y[i] = max(x[i], 0), SIMD with a scalar tail (or scalar only when built without SIMD). */
export function f32_relu(x: usize, y: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const zero = f32x4.splat(0);
    for (; i + 4 <= n; i += 4) {
      v128.store(y + (<usize>i << 2), f32x4.max(v128.load(x + (<usize>i << 2)), zero));
    }
  }
  for (; i < n; i++) {
    const v = load<f32>(x + (<usize>i << 2));
    store<f32>(y + (<usize>i << 2), v > 0 ? v : 0);
  }
}
