// The index odometer shared by the strided kernels (transpose, pad, broadcast arithmetic, where, the
// value-dependent gradients): an N-d index held as rank i32s in scratch memory, stepped like a car's
// odometer with the last dimension fastest. Kernels keep one running read position per operand and move
// it by odometerDelta after each step instead of recomputing it from the index (the same few adds per
// row as a hand-written carry loop). Not re-exported from index.ts: these are building blocks, not kernels.

// @ts-ignore: decorator
@inline function geti(p: usize, i: i32): i32 {
  return load<i32>(p + (<usize>i << 2));
}

/** Sets the first `dims` counters of the odometer at `idx` to 0. */
// @ts-ignore: decorator
@inline export function odometerReset(idx: usize, dims: i32): void {
  for (let d = 0; d < dims; d++) store<i32>(idx + (<usize>d << 2), 0);
}

/**
 * Steps the odometer at `idx` over dimensions [0, dims) of `shape` by one and returns the dimension that
 * moved up (every dimension after it wrapped back to 0), or -1 when all of them wrapped: the walk is over.
 */
// @ts-ignore: decorator
@inline export function odometerStep(idx: usize, shape: usize, dims: i32): i32 {
  for (let d = dims - 1; d >= 0; d--) {
    const k = geti(idx, d) + 1;
    if (k < geti(shape, d)) {
      store<i32>(idx + (<usize>d << 2), k);
      return d;
    }
    store<i32>(idx + (<usize>d << 2), 0);
  }
  return -1;
}

/**
 * How far, in elements, a read position with element `strides` moves when odometerStep returned `moved`:
 * one stride along `moved`, less the whole span walked along each dimension after it (those wrapped to 0).
 * 0 once the walk is over, when no position is read again.
 */
// @ts-ignore: decorator
@inline export function odometerDelta(strides: usize, shape: usize, moved: i32, dims: i32): i32 {
  if (moved < 0) return 0;
  let delta = geti(strides, moved);
  for (let d = moved + 1; d < dims; d++) delta -= geti(strides, d) * (geti(shape, d) - 1);
  return delta;
}
