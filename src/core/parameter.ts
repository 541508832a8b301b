import { ShapeError } from './errors.js';
import { type Shape, shapeToString, shapesEqual, sizeOf } from './shape.js';
import { Tensor } from './tensor.js';

/**
 * A named, trainable (or buffer) array owned by a module. Backends that keep a packed copy watch
 * `version` and repack when it moves, so loading weights never leaves a stale plan behind.
 */
export class Parameter {
  readonly shape: Shape;
  values: Float32Array;
  grad: Float32Array | null = null;
  requiresGrad: boolean;
  /** 'int64' only for PyTorch's integer buffers (num_batches_tracked); stored as float here. */
  readonly dtype: 'float32' | 'int64';
  /** True for buffers (running statistics): saved in the state dict, never trained. */
  readonly isBuffer: boolean;
  version = 0;

  constructor(
    shape: Shape,
    options: { requiresGrad?: boolean; isBuffer?: boolean; dtype?: 'float32' | 'int64'; values?: Float32Array } = {},
  ) {
    this.shape = Object.freeze([...shape]);
    this.values = options.values ?? new Float32Array(sizeOf(shape));
    this.isBuffer = options.isBuffer ?? false;
    this.requiresGrad = options.requiresGrad ?? !this.isBuffer;
    this.dtype = options.dtype ?? 'float32';
  }

  /** Copies values in (shape checked) and marks the parameter changed. */
  set(values: Float32Array | Tensor, what = 'parameter'): void {
    const array = values instanceof Tensor ? values.dataSync() : values;
    if (values instanceof Tensor && !shapesEqual(values.shape, this.shape)) {
      throw new ShapeError(`${what}: expected shape ${shapeToString(this.shape)}, got ${shapeToString(values.shape)}`);
    }
    if (array.length !== this.values.length) {
      throw new ShapeError(`${what}: expected ${this.values.length} values (${shapeToString(this.shape)}), got ${array.length}`);
    }
    this.values.set(array);
    this.version++;
  }

  /** Call after changing `values` in place. */
  markChanged(): void {
    this.version++;
  }

  toTensor(): Tensor {
    return new Tensor(this.values.slice(), this.shape, { integer: this.dtype === 'int64' });
  }
}
