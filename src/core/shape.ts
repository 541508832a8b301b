import { ShapeError } from './errors.js';

export type Shape = readonly number[];

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapeToString(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function assertValidShape(shape: Shape, what: string): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new ShapeError(`${what}: shape ${shapeToString(shape)} has a dimension that is not a non-negative integer`);
    }
  }
}

/** Normalizes a possibly negative dimension index against a rank, PyTorch style. */
export function normalizeDim(dim: number, rank: number, what: string): number {
  const d = dim < 0 ? dim + rank : dim;
  if (d < 0 || d >= rank) throw new ShapeError(`${what}: dim ${dim} is out of range for rank ${rank}`);
  return d;
}
