import { sizeOf } from '../core/shape.js';

/** Element strides of `shape` read as broadcast to `out` (0 along broadcast dimensions). */
export function broadcastStrides(shape: readonly number[], out: readonly number[]): number[] {
  const strides = new Array<number>(out.length).fill(0);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const o = out.length - shape.length + i;
    strides[o] = shape[i] === 1 ? 0 : s;
    s *= shape[i];
  }
  return strides;
}

/**
 * A batched matmul's per-batch element offsets of A [..., m, k] and B [..., k, n] broadcast over the output's
 * leading dimensions, with its sizes: every backend's matmul walks the batch the same way.
 */
export function matmulBatches(
  as: readonly number[],
  bs: readonly number[],
  out: readonly number[],
): { m: number; n: number; k: number; offA: number[]; offB: number[] } {
  const rank = out.length;
  const m = out[rank - 2];
  const n = out[rank - 1];
  const k = as[as.length - 1];
  const batchShape = out.slice(0, -2);
  const sa = broadcastStrides(as.slice(0, -2), batchShape);
  const sb = broadcastStrides(bs.slice(0, -2), batchShape);
  const offA: number[] = [];
  const offB: number[] = [];
  for (let t = 0; t < sizeOf(batchShape); t++) {
    let r = t;
    let oa = 0;
    let ob = 0;
    for (let d = batchShape.length - 1; d >= 0; d--) {
      const i = r % batchShape[d];
      r = Math.floor(r / batchShape[d]);
      oa += i * sa[d];
      ob += i * sb[d];
    }
    offA.push(oa * m * k);
    offB.push(ob * k * n);
  }
  return { m, n, k, offA, offB };
}
