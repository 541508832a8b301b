// The machine's WebAssembly SIMD peak: register-only multiply-add loops over 12 independent v128
// accumulators (no loads or stores in the loop), so the only limit is the FP units. Each iteration
// does 12 x 4 lanes x 2 FLOPs = 96 FLOPs. a <- a * 0.999 + 0.001 converges to 1, so values stay
// normal (no denormal slow paths) and finite. Compiled by bench/run.mjs with asc into build/peak.wasm.

/** FLOPs per loop iteration, for the caller's GFLOP/s. */
export function flops_per_iteration(): i32 {
  return 96;
}

/** SIMD multiply then add (two instructions per accumulator). */
export function peak_f32x4_mul_add(iterations: i32): f32 {
  let a0 = f32x4.splat(<f32>1 * 0.01);
  let a1 = f32x4.splat(<f32>2 * 0.01);
  let a2 = f32x4.splat(<f32>3 * 0.01);
  let a3 = f32x4.splat(<f32>4 * 0.01);
  let a4 = f32x4.splat(<f32>5 * 0.01);
  let a5 = f32x4.splat(<f32>6 * 0.01);
  let a6 = f32x4.splat(<f32>7 * 0.01);
  let a7 = f32x4.splat(<f32>8 * 0.01);
  let a8 = f32x4.splat(<f32>9 * 0.01);
  let a9 = f32x4.splat(<f32>10 * 0.01);
  let a10 = f32x4.splat(<f32>11 * 0.01);
  let a11 = f32x4.splat(<f32>12 * 0.01);
  const b = f32x4.splat(0.999);
  const c = f32x4.splat(0.001);
  for (let i = 0; i < iterations; i++) {
    a0 = f32x4.add(f32x4.mul(a0, b), c);
    a1 = f32x4.add(f32x4.mul(a1, b), c);
    a2 = f32x4.add(f32x4.mul(a2, b), c);
    a3 = f32x4.add(f32x4.mul(a3, b), c);
    a4 = f32x4.add(f32x4.mul(a4, b), c);
    a5 = f32x4.add(f32x4.mul(a5, b), c);
    a6 = f32x4.add(f32x4.mul(a6, b), c);
    a7 = f32x4.add(f32x4.mul(a7, b), c);
    a8 = f32x4.add(f32x4.mul(a8, b), c);
    a9 = f32x4.add(f32x4.mul(a9, b), c);
    a10 = f32x4.add(f32x4.mul(a10, b), c);
    a11 = f32x4.add(f32x4.mul(a11, b), c);
  }
  let s = a0;
  s = f32x4.add(s, a1);
  s = f32x4.add(s, a2);
  s = f32x4.add(s, a3);
  s = f32x4.add(s, a4);
  s = f32x4.add(s, a5);
  s = f32x4.add(s, a6);
  s = f32x4.add(s, a7);
  s = f32x4.add(s, a8);
  s = f32x4.add(s, a9);
  s = f32x4.add(s, a10);
  s = f32x4.add(s, a11);
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
}

/** Relaxed-SIMD fused multiply-add (one instruction per accumulator; FMA where the CPU has it). */
export function peak_f32x4_relaxed_madd(iterations: i32): f32 {
  let a0 = f32x4.splat(<f32>1 * 0.01);
  let a1 = f32x4.splat(<f32>2 * 0.01);
  let a2 = f32x4.splat(<f32>3 * 0.01);
  let a3 = f32x4.splat(<f32>4 * 0.01);
  let a4 = f32x4.splat(<f32>5 * 0.01);
  let a5 = f32x4.splat(<f32>6 * 0.01);
  let a6 = f32x4.splat(<f32>7 * 0.01);
  let a7 = f32x4.splat(<f32>8 * 0.01);
  let a8 = f32x4.splat(<f32>9 * 0.01);
  let a9 = f32x4.splat(<f32>10 * 0.01);
  let a10 = f32x4.splat(<f32>11 * 0.01);
  let a11 = f32x4.splat(<f32>12 * 0.01);
  const b = f32x4.splat(0.999);
  const c = f32x4.splat(0.001);
  for (let i = 0; i < iterations; i++) {
    a0 = f32x4.relaxed_madd(a0, b, c);
    a1 = f32x4.relaxed_madd(a1, b, c);
    a2 = f32x4.relaxed_madd(a2, b, c);
    a3 = f32x4.relaxed_madd(a3, b, c);
    a4 = f32x4.relaxed_madd(a4, b, c);
    a5 = f32x4.relaxed_madd(a5, b, c);
    a6 = f32x4.relaxed_madd(a6, b, c);
    a7 = f32x4.relaxed_madd(a7, b, c);
    a8 = f32x4.relaxed_madd(a8, b, c);
    a9 = f32x4.relaxed_madd(a9, b, c);
    a10 = f32x4.relaxed_madd(a10, b, c);
    a11 = f32x4.relaxed_madd(a11, b, c);
  }
  let s = a0;
  s = f32x4.add(s, a1);
  s = f32x4.add(s, a2);
  s = f32x4.add(s, a3);
  s = f32x4.add(s, a4);
  s = f32x4.add(s, a5);
  s = f32x4.add(s, a6);
  s = f32x4.add(s, a7);
  s = f32x4.add(s, a8);
  s = f32x4.add(s, a9);
  s = f32x4.add(s, a10);
  s = f32x4.add(s, a11);
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
}
