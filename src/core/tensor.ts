import { ShapeError, VireoError } from './errors.js';
import { type Shape, assertValidShape, shapeToString, shapesEqual, sizeOf } from './shape.js';

/**
 * Backward function of a tensor produced by a differentiable computation: receives dL/d(this tensor)
 * (same length as the tensor, row-major) and propagates it, accumulating into `Parameter.grad`.
 * `net.forward(x)` in training mode attaches one that runs the plan's backward pass; a loss attaches
 * one that computes dL/dlogits on the host and calls `await logits.backward(dLogits)`.
 */
export type GradFn = (grad: Float32Array) => void | Promise<void>;

export interface TensorOptions {
  integer?: boolean;
  /** Makes the tensor differentiable: `backward(grad)` calls it. */
  gradFn?: GradFn;
  /** Called with the values when the tensor is disposed (a DataLoader takes batch memory back this way). */
  onDispose?: (values: Float32Array) => void;
}

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

  /** Set on tensors that come out of a differentiable computation (PyTorch's grad_fn). */
  readonly gradFn: GradFn | null;

  private onDispose: ((values: Float32Array) => void) | null;
  private disposed = false;

  constructor(values: Float32Array, shape: Shape, options: TensorOptions = {}) {
    this.integer = options.integer ?? false;
    this.gradFn = options.gradFn ?? null;
    this.onDispose = options.onDispose ?? null;
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
    return this.dataSync();
  }

  /** Synchronous read, for host-resident tensors (every tensor today). */
  dataSync(): Float32Array {
    if (this.disposed) {
      throw new VireoError(
        `tensor ${shapeToString(this.shape)} was disposed (its memory may already hold other values); copy what you need to keep before dispose() or a DataLoader batch's release()`,
      );
    }
    return this.values;
  }

  /**
   * Gives up the tensor: reading it afterwards throws. A DataLoader batch's tensors hand their
   * memory back to the loader, which writes a later batch there instead of allocating a fresh one.
   * Views made with `reshape` share the values and are not guarded: dispose those together.
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const hook = this.onDispose;
    this.onDispose = null;
    hook?.(this.values);
  }

  /** True once `dispose()` ran. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  /** True when `backward` can run (the tensor has a gradient function). */
  get requiresGrad(): boolean {
    return this.gradFn !== null;
  }

  /**
   * Backpropagates `grad` = dL/d(this) (defaults to 1 for a single-element tensor, as in PyTorch) and
   * accumulates (+=) the gradient of every trainable parameter into `Parameter.grad`.
   */
  async backward(grad?: Float32Array | Tensor): Promise<void> {
    if (!this.gradFn) {
      throw new VireoError(
        'backward: this tensor does not require grad (it has no gradient function); call it on the output of a module in training mode or on a loss',
      );
    }
    let g: Float32Array;
    if (grad === undefined) {
      if (this.size !== 1) {
        throw new VireoError(
          `backward: grad can be implicitly created only for a single-element tensor; this one has shape ${shapeToString(this.shape)}, pass the gradient explicitly`,
        );
      }
      g = new Float32Array([1]);
    } else {
      if (grad instanceof Tensor && this.size !== 1 && !shapesEqual(grad.shape, this.shape)) {
        throw new ShapeError(
          `backward: gradient shape ${shapeToString(grad.shape)} does not match tensor shape ${shapeToString(this.shape)}`,
        );
      }
      g = grad instanceof Tensor ? grad.dataSync() : grad;
      if (g.length !== this.size) {
        throw new ShapeError(
          `backward: gradient has ${g.length} values, the tensor ${shapeToString(this.shape)} has ${this.size}`,
        );
      }
    }
    await this.gradFn(g);
  }

  reshape(shape: Shape): Tensor {
    return new Tensor(this.dataSync(), shape, { gradFn: this.gradFn ?? undefined });
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
  // Checked before the allocation: new Float32Array(-5) would be a raw RangeError.
  assertValidShape(shape, 'zeros');
  return new Tensor(new Float32Array(sizeOf(shape)), shape);
}
