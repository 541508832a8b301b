import type { ActivationKind } from './types.js';

/** Scalar definition of every activation: the reference backend's and the tests' oracle. */
export function activate(x: number, kind: ActivationKind, alpha: number): number {
  switch (kind) {
    case 'none':
      return x;
    case 'relu':
      // torch.relu(nan) is nan: keep NaN rather than mapping it to 0.
      return x > 0 || Number.isNaN(x) ? x : 0;
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

/**
 * f'(·) of an activation, as a function of the value its backward reads: the output for relu,
 * relu6, sigmoid and tanh; the input (or, for a positive slope, the output) for leakyRelu. At the
 * kinks it follows PyTorch: relu'(0) = 0, relu6'(0) = relu6'(6) = 0, leakyRelu'(0) = alpha.
 */
export function activationDerivative(v: number, kind: ActivationKind, alpha: number): number {
  switch (kind) {
    case 'none':
      return 1;
    case 'relu':
      return v > 0 ? 1 : 0;
    case 'relu6':
      return v > 0 && v < 6 ? 1 : 0;
    case 'leakyRelu':
      return v > 0 ? 1 : alpha;
    case 'sigmoid':
      return v * (1 - v);
    case 'tanh':
      return 1 - v * v;
  }
}
