import type { ActivationKind } from './types.js';

/** Scalar definition of every activation: the reference backend's and the tests' oracle. */
export function activate(x: number, kind: ActivationKind, alpha: number): number {
  switch (kind) {
    case 'none':
      return x;
    case 'relu':
      return x > 0 ? x : 0;
    case 'relu6':
      return x < 0 ? 0 : x > 6 ? 6 : x;
    case 'leakyRelu':
      return x >= 0 ? x : alpha * x;
    case 'sigmoid':
      return 1 / (1 + Math.exp(-x));
    case 'tanh':
      return Math.tanh(x);
  }
}
