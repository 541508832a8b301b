import { ShapeError } from './errors.js';
import { type Shape, assertValidShape, shapeToString, sizeOf } from './shape.js';

/**
 * A float32 tensor in NCHW order. Values live on the host; backends copy them in and out at graph
 * boundaries. Reading is async (`await t.data()`) on every backend so a GPU backend fits later
 * without changing callers.
 */
export class Tensor {
  readonly shape: Shape;
  readonly dtype = 'float32' as const;
  protected values: Float32Array;
  /**
   * True when the values stand for integers (PyTorch int64 buffers such as num_batches_tracked, or
   * integer tensors read from a file): safetensors writes them back as I64.
   */
  readonly integer: boolean;

  constructor(values: Float32Array, shape: Shape, options: { integer?: boolean } = {}) {
    this.integer = options.integer ?? false;
    assertValidShape(shape, 'tensor');
    if (values.length !== sizeOf(shape)) {
      throw new ShapeError(`tensor: ${values.length} values do not fill shape ${shapeToString(shape)} (${sizeOf(shape)} values)`);
    }
    this.values = values;
    this.shape = Object.freeze([...shape]);
  }

  get size(): number {
    return this.values.length;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** The values, in row-major NCHW order. The array is the tensor's own: copy it before changing it. */
  async data(): Promise<Float32Array> {
    return this.values;
  }

  /** Synchronous read, for host-resident tensors (every tensor today). */
  dataSync(): Float32Array {
    return this.values;
  }

  reshape(shape: Shape): Tensor {
    return new Tensor(this.values, shape);
  }

  toString(): string {
    return `Tensor(${shapeToString(this.shape)})`;
  }
}

/** Makes a tensor from values and a shape; `tensor(values, shape)` mirrors `torch.tensor(...).reshape(shape)`. */
export function tensor(values: Float32Array | ArrayLike<number>, shape?: Shape): Tensor {
  const array = values instanceof Float32Array ? values : Float32Array.from(values as ArrayLike<number>);
  return new Tensor(array, shape ?? [array.length]);
}

export function zeros(shape: Shape): Tensor {
  return new Tensor(new Float32Array(sizeOf(shape)), shape);
}
