// Layer normalization over rows of `cols` contiguous values (ONNX LayerNormalization, torch LayerNorm):
// mean and biased variance per row (two passes, so no E[x²] − E[x]² cancellation), then
// y = (x − mean) · rstd · w + b (w, b per column; affine = 0 leaves them out). 4 lanes and a scalar tail.
// Gradients (training only): plain loops with f64 row sums, as the TypeScript oracle.

// @ts-ignore: decorator
@inline function at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}

// @ts-ignore: decorator
@inline function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

export function f32_layer_norm(x: usize, y: usize, w: usize, b: usize, rows: i32, cols: i32, eps: f32, affine: bool): void {
  for (let r = 0; r < rows; r++) {
    const px = at(x, r * cols);
    const py = at(y, r * cols);
    let j = 0;
    let s: f32 = 0;
    if (ASC_FEATURE_SIMD) {
      let acc = f32x4.splat(0);
      for (; j + 4 <= cols; j += 4) acc = f32x4.add(acc, v128.load(at(px, j)));
      s = hsum(acc);
    }
    for (; j < cols; j++) s += load<f32>(at(px, j));
    const mean = s / <f32>cols;
    j = 0;
    let v: f32 = 0;
    if (ASC_FEATURE_SIMD) {
      const m4 = f32x4.splat(mean);
      let acc = f32x4.splat(0);
      for (; j + 4 <= cols; j += 4) {
        const d = f32x4.sub(v128.load(at(px, j)), m4);
        acc = f32x4.add(acc, f32x4.mul(d, d));
      }
      v = hsum(acc);
    }
    for (; j < cols; j++) {
      const d = load<f32>(at(px, j)) - mean;
      v += d * d;
    }
    const rstd: f32 = 1 / Mathf.sqrt(v / <f32>cols + eps);
    j = 0;
    if (ASC_FEATURE_SIMD) {
      const m4 = f32x4.splat(mean);
      const r4 = f32x4.splat(rstd);
      for (; j + 4 <= cols; j += 4) {
        let h = f32x4.mul(f32x4.sub(v128.load(at(px, j)), m4), r4);
        if (affine) h = f32x4.add(f32x4.mul(h, v128.load(at(w, j))), v128.load(at(b, j)));
        v128.store(at(py, j), h);
      }
    }
    for (; j < cols; j++) {
      let h = (load<f32>(at(px, j)) - mean) * rstd;
      if (affine) h = h * load<f32>(at(w, j)) + load<f32>(at(b, j));
      store<f32>(at(py, j), h);
    }
  }
}

// @ts-ignore: decorator
@inline function rowMean(px: usize, cols: i32): f64 {
  let s: f64 = 0;
  for (let j = 0; j < cols; j++) s += <f64>load<f32>(at(px, j));
  return s / <f64>cols;
}

// @ts-ignore: decorator
@inline function rowRstd(px: usize, cols: i32, mean: f64, eps: f64): f64 {
  let v: f64 = 0;
  for (let j = 0; j < cols; j++) {
    const d = <f64>load<f32>(at(px, j)) - mean;
    v += d * d;
  }
  return 1 / Math.sqrt(v / <f64>cols + eps);
}

/** dx = rstd · (g − mean(g) − x̂ · mean(g · x̂)) per row, g = dy · w (w = 1 without affine). */
export function f32_layer_norm_grad_input(dy: usize, x: usize, dx: usize, w: usize, rows: i32, cols: i32, eps: f64, affine: bool): void {
  for (let r = 0; r < rows; r++) {
    const px = at(x, r * cols);
    const pd = at(dy, r * cols);
    const mean = rowMean(px, cols);
    const rstd = rowRstd(px, cols, mean, eps);
    let sg: f64 = 0;
    let sgh: f64 = 0;
    for (let j = 0; j < cols; j++) {
      const g = <f64>load<f32>(at(pd, j)) * (affine ? <f64>load<f32>(at(w, j)) : 1);
      sg += g;
      sgh += g * (<f64>load<f32>(at(px, j)) - mean) * rstd;
    }
    for (let j = 0; j < cols; j++) {
      const g = <f64>load<f32>(at(pd, j)) * (affine ? <f64>load<f32>(at(w, j)) : 1);
      const h = (<f64>load<f32>(at(px, j)) - mean) * rstd;
      store<f32>(at(dx, r * cols + j), <f32>(rstd * (g - sg / <f64>cols - (h * sgh) / <f64>cols)));
    }
  }
}

/** dw[j] = Σ over rows of dy · x̂. `acc` is cols f64s of scratch. */
export function f32_layer_norm_grad_weight(dy: usize, x: usize, dw: usize, rows: i32, cols: i32, eps: f64, acc: usize): void {
  for (let j = 0; j < cols; j++) store<f64>(acc + (<usize>j << 3), 0);
  for (let r = 0; r < rows; r++) {
    const px = at(x, r * cols);
    const pd = at(dy, r * cols);
    const mean = rowMean(px, cols);
    const rstd = rowRstd(px, cols, mean, eps);
    for (let j = 0; j < cols; j++) {
      const p = acc + (<usize>j << 3);
      store<f64>(p, load<f64>(p) + <f64>load<f32>(at(pd, j)) * (<f64>load<f32>(at(px, j)) - mean) * rstd);
    }
  }
  for (let j = 0; j < cols; j++) store<f32>(at(dw, j), <f32>load<f64>(acc + (<usize>j << 3)));
}
