import { type Shape, shapeToString } from '../core/shape.js';

export function expectRank(shape: Shape, rank: number, what: string): void {
  if (shape.length !== rank) {
    throw new Error(`expected a rank-${rank} input ${what}, got ${shapeToString(shape)}`);
  }
}

/** PyTorch's pooling/conv output length, with ceil mode's rule that the last window starts inside the input. */
export function windowOutputSize(
  size: number,
  kernel: number,
  stride: number,
  padBegin: number,
  padEnd: number,
  dilation: number,
  ceilMode = false,
): number {
  const span = size + padBegin + padEnd - dilation * (kernel - 1) - 1;
  let out = (ceilMode ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
  if (ceilMode && (out - 1) * stride >= size + padBegin) out--;
  return out;
}
