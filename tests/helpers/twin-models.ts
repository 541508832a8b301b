// What the placement comparisons (webgpu, scheduler, device loss) share: a seeded random input and two
// copies of one model, so that each placement under comparison runs the same weights on the same data.
import { Tensor } from '../../src/index.js';
import type { Module } from '../../src/nn/module.js';
import { randomArray } from './random.js';

/** A tensor of `shape` with values uniform in [-1, 1) from `seed`. */
export function randomInput(shape: number[], seed: number): Tensor {
  return new Tensor(
    randomArray(
      shape.reduce((a, b) => a * b, 1),
      seed,
      1,
    ),
    shape,
  );
}

/**
 * Two models from `build` with the same weights; with `rngState`, the same dropout generators too (for runs
 * that train both and compare every step).
 */
export function twin<T extends Module>(build: () => T, options: { rngState?: boolean } = {}): [T, T] {
  const a = build();
  const b = build();
  b.loadStateDict(a.stateDict());
  if (options.rngState) b.loadRngState(a.rngState());
  return [a, b];
}
