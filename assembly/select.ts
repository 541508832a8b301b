// Kernels that pick values rather than compute them (ONNX Where, Gather on activations) and the backward
// kernels of value-dependent choices: binary max/min/pow/prelu and ReduceMax. Scalar loops with an index
// odometer (shapes and strides arrive as i32 arrays in memory, as in tensor_ops.ts): data movement and
// comparisons, rare in CNNs and off the hot path of the models vireo imports.

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
 * mode 0: y = c ≠ 0 ? x : z (ONNX Where); mode 1: y = c ≠ 0 ? x : 0 and mode 2: y = c ≠ 0 ? 0 : x (the
 * gradients of Where's two branches, x being dY; z unused). `sc`, `sx`, `sz`: each operand's element
 * strides read as broadcast to `outShape` (rank ≥ 1); `idx`: rank i32s of scratch.
 */
export function f32_where_broadcast(
  c: usize, x: usize, z: usize, y: usize, n: i32, rank: i32, outShape: usize, sc: usize, sx: usize, sz: usize, idx: usize, mode: i32,
): void {
  odometerReset(idx, rank);
  const inner = geti(outShape, rank - 1);
  const ic = geti(sc, rank - 1);
  const ix = geti(sx, rank - 1);
  const iz = geti(sz, rank - 1);
  let pc = 0;
  let px = 0;
  let pz = 0;
  for (let py = 0; py < n; py += inner) {
    for (let i = 0; i < inner; i++) {
      const take = load<f32>(at(c, pc + i * ic)) != 0;
      const v = load<f32>(at(x, px + i * ix));
      const r: f32 = mode == 0 ? (take ? v : load<f32>(at(z, pz + i * iz))) : mode == 1 ? (take ? v : 0) : take ? 0 : v;
      store<f32>(at(y, py + i), r);
    }
    const moved = odometerStep(idx, outShape, rank - 1);
    pc += odometerDelta(sc, outShape, moved, rank - 1);
    px += odometerDelta(sx, outShape, moved, rank - 1);
    pz += odometerDelta(sz, outShape, moved, rank - 1);
  }
}

/**
 * Gather over x viewed as [outer, axisSize, inner]: y[o, k, :] = x[o, indices[k], :] for the `count`
 * i32 indices at `indices` (already checked to lie in [0, axisSize)).
 */
export function f32_gather(x: usize, y: usize, outer: i32, axisSize: i32, inner: i32, indices: usize, count: i32): void {
  const bytes = <usize>inner << 2;
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < count; k++) {
      memory.copy(at(y, (o * count + k) * inner), at(x, (o * axisSize + geti(indices, k)) * inner), bytes);
    }
  }
}

/** The gather's gradient: dx = 0, then dx[o, indices[k], :] += dy[o, k, :] (repeated indices add up). */
export function f32_gather_grad(dy: usize, dx: usize, outer: i32, axisSize: i32, inner: i32, indices: usize, count: i32): void {
  memory.fill(dx, 0, <usize>(outer * axisSize * inner) << 2);
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < count; k++) {
      const src = at(dy, (o * count + k) * inner);
      const dst = at(dx, (o * axisSize + geti(indices, k)) * inner);
      for (let i = 0; i < inner; i++) store<f32>(at(dst, i), load<f32>(at(dst, i)) + load<f32>(at(src, i)));
    }
  }
}

/**
 * dL/d(operand) of y = a ∘ b at the output's shape, in f64 as the TypeScript oracle (kind 4 max, 5 min,
 * 6 pow, 7 prelu; torch's conventions: max/min ties split dY in half; pow's exponent gradient is 0 where
 * a = 0 and b ≥ 0, its base gradient 0 where b = 0; prelu's x gradient is dY·(x > 0 ? 1 : slope), its slope
 * gradient dY·(x > 0 ? 0 : x)). Strides and odometer as f32_binary_broadcast (tensor_ops.ts).
 */
export function f32_binary_grad_broadcast(
  dy: usize, a: usize, b: usize, dx: usize, n: i32, rank: i32, outShape: usize, sa: usize, sb: usize, idx: usize, kind: i32, operand: i32,
): void {
  odometerReset(idx, rank);
  const inner = geti(outShape, rank - 1);
  const ia = geti(sa, rank - 1);
  const ib = geti(sb, rank - 1);
  let pa = 0;
  let pb = 0;
  for (let py = 0; py < n; py += inner) {
    for (let i = 0; i < inner; i++) {
      const u = <f64>load<f32>(at(a, pa + i * ia));
      const v = <f64>load<f32>(at(b, pb + i * ib));
      const g = <f64>load<f32>(at(dy, py + i));
      let r: f64 = 0;
      if (kind == 4 || kind == 5) {
        const mine = operand == 0 ? u : v;
        const other = operand == 0 ? v : u;
        const wins = kind == 4 ? mine > other : mine < other;
        r = mine == other ? g / 2 : wins ? g : 0;
      } else if (kind == 6) {
        if (operand == 0) r = v == 0 ? 0 : g * v * Math.pow(u, v - 1);
        else r = u == 0 && v >= 0 ? 0 : g * Math.pow(u, v) * Math.log(u);
      } else {
        if (operand == 0) r = u > 0 ? g : g * v;
        else r = u > 0 ? 0 : g * u;
      }
      store<f32>(at(dx, py + i), <f32>r);
    }
    const moved = odometerStep(idx, outShape, rank - 1);
    pa += odometerDelta(sa, outShape, moved, rank - 1);
    pb += odometerDelta(sb, outShape, moved, rank - 1);
  }
}

/**
 * ReduceMax's gradient: dx[i] = x[i] == y[r] ? dy[r] / (how many x of group r equal y[r]) : 0, where r is
 * i's group. dy and y have the kept shape; `sy` are their strides read as broadcast to x's `shape`.
 * `counts`: m f32s of scratch (m = the groups); `idx`: rank i32s.
 */
export function f32_reduce_max_grad(
  dy: usize, x: usize, y: usize, dx: usize, n: i32, m: i32, rank: i32, shape: usize, sy: usize, idx: usize, counts: usize,
): void {
  memory.fill(counts, 0, <usize>m << 2);
  for (let pass = 0; pass < 2; pass++) {
    odometerReset(idx, rank);
    const inner = geti(shape, rank - 1);
    const iy = geti(sy, rank - 1);
    let pr = 0;
    for (let px = 0; px < n; px += inner) {
      for (let i = 0; i < inner; i++) {
        const r = pr + i * iy;
        const hit = load<f32>(at(x, px + i)) == load<f32>(at(y, r));
        if (pass == 0) {
          if (hit) store<f32>(at(counts, r), load<f32>(at(counts, r)) + 1);
        } else store<f32>(at(dx, px + i), hit ? load<f32>(at(dy, r)) / load<f32>(at(counts, r)) : 0);
      }
      pr += odometerDelta(sy, shape, odometerStep(idx, shape, rank - 1), rank - 1);
    }
  }
}
