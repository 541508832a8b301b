// In-memory batches for tests and small sets: the data side of `batchSize: 'full'`.
import { ArgumentError, ShapeError } from '../core/errors.js';
import { Random } from '../core/random.js';
import { shapeToString } from '../core/shape.js';
import { Tensor } from '../core/tensor.js';

export interface Batch {
  x: Tensor;
  y: Tensor;
  /** DataLoader batches: hands the batch's memory back once used (fit and evaluate call it). */
  release?(): void;
}

/**
 * Splits x [N, ...] and y [N, ...] into batches along the first dimension. Returns a function: each
 * call is a fresh epoch (with `shuffle`, a new permutation drawn from `seed` and the epoch number, so
 * runs repeat). 'full' = one batch of all N (full-batch gradient descent). The last batch may be short
 * unless `dropLast`.
 */
export function arrayBatches(
  x: Tensor,
  y: Tensor,
  batchSize: number | 'full',
  options: { shuffle?: boolean; seed?: number; dropLast?: boolean } = {},
): () => Iterable<Batch> {
  const n = x.shape[0];
  if (x.rank === 0 || y.rank === 0 || y.shape[0] !== n) {
    throw new ShapeError(
      `arrayBatches: x ${shapeToString(x.shape)} and y ${shapeToString(y.shape)} must share their first dimension`,
    );
  }
  const size = batchSize === 'full' ? n : batchSize;
  if (!(Number.isInteger(size) && size > 0))
    throw new ArgumentError(`arrayBatches: batchSize must be a positive integer or 'full', got ${batchSize}`);
  const xRow = x.size / Math.max(n, 1);
  const yRow = y.size / Math.max(n, 1);
  const xv = x.dataSync();
  const yv = y.dataSync();
  let epoch = 0;
  return function* () {
    const order = Array.from({ length: n }, (_, i) => i);
    if (options.shuffle) {
      const r = new Random((options.seed ?? 0) * 1000003 + epoch);
      for (let i = n - 1; i > 0; i--) {
        const j = r.int(i + 1);
        [order[i], order[j]] = [order[j], order[i]];
      }
    }
    epoch++;
    for (let start = 0; start < n; start += size) {
      const count = Math.min(size, n - start);
      if (count < size && options.dropLast) break;
      const bx = new Float32Array(count * xRow);
      const by = new Float32Array(count * yRow);
      for (let i = 0; i < count; i++) {
        const src = order[start + i];
        bx.set(xv.subarray(src * xRow, (src + 1) * xRow), i * xRow);
        by.set(yv.subarray(src * yRow, (src + 1) * yRow), i * yRow);
      }
      yield { x: new Tensor(bx, [count, ...x.shape.slice(1)]), y: new Tensor(by, [count, ...y.shape.slice(1)]) };
    }
  };
}
