// Losses computed on the host from the logits' values; each returns a scalar Tensor whose gradient
// function computes dL/dinput and hands it to the input's own backward (the model's plan).
import { ArgumentError, ShapeError, VireoError } from '../core/errors.js';
import { shapeToString, shapesEqual } from '../core/shape.js';
import { Tensor } from '../core/tensor.js';

/** A loss (or its input) is NaN or infinite. The trainer stops on it or skips the step (`onNaN`). */
export class NonFiniteError extends VireoError {}

export type Reduction = 'mean' | 'sum';

export interface CrossEntropyOptions {
  /** ε in [0, 1): the target is (1 − ε)·one-hot + ε/C, as in torch.nn.CrossEntropyLoss. */
  labelSmoothing?: number;
  /** Per-class weights, length C. */
  weight?: Float32Array | readonly number[] | Tensor;
  reduction?: Reduction;
  /** Rows whose label equals this are left out of the loss and of the mean's denominator (torch default −100). */
  ignoreIndex?: number;
}

function checkReduction(reduction: string, what: string): Reduction {
  if (reduction !== 'mean' && reduction !== 'sum')
    throw new ArgumentError(`${what}: reduction must be 'mean' or 'sum', got '${reduction}'`);
  return reduction;
}

function checkFinite(values: Float32Array, what: string, name: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) throw new NonFiniteError(`${what}: ${name} holds ${values[i]} at index ${i}`);
  }
}

/**
 * Cross entropy of logits [N, C] against class indices (PyTorch's semantics for class weights and
 * label smoothing, ignore_index not supported). Returns the loss and dL/dlogits, both computed in float64.
 * With reduction 'mean' and weights, both the NLL and smoothing terms are divided by Σ_i weight[label_i]
 * (as torch does); without weights by N.
 */
export function crossEntropy(
  logits: Float32Array,
  n: number,
  c: number,
  labels: ArrayLike<number>,
  options: CrossEntropyOptions = {},
): { loss: number; grad: Float32Array } {
  const what = 'CrossEntropyLoss';
  const eps = options.labelSmoothing ?? 0;
  const ignore = options.ignoreIndex ?? -100;
  const reduction = checkReduction(options.reduction ?? 'mean', what);
  const weight = options.weight instanceof Tensor ? options.weight.dataSync() : options.weight;
  if (logits.length !== n * c) throw new ShapeError(`${what}: ${logits.length} logits do not fill [${n}, ${c}]`);
  if (labels.length !== n) throw new ShapeError(`${what}: ${labels.length} labels for a batch of ${n}`);
  if (weight && weight.length !== c)
    throw new ShapeError(`${what}: weight has ${weight.length} entries, expected one per class (${c})`);
  for (let i = 0; i < n; i++) {
    const y = labels[i];
    if (y !== ignore && (!Number.isInteger(y) || y < 0 || y >= c)) {
      throw new ArgumentError(
        `${what}: label at index ${i} is ${y}; class indices must be integers in [0, ${c}) (or ignoreIndex ${ignore})`,
      );
    }
  }
  checkFinite(logits, what, 'the input (logits)');
  const w = (k: number) => (weight ? weight[k] : 1);
  let wSum = 0;
  for (let k = 0; k < c; k++) wSum += w(k);
  let denom = 1;
  if (reduction === 'mean') {
    denom = 0;
    for (let i = 0; i < n; i++) if (labels[i] !== ignore) denom += weight ? weight[labels[i]] : 1;
  }
  if (denom === 0) {
    throw new NonFiniteError(`${what}: the loss is NaN (every label equals ignoreIndex, or the weights of the labels sum to 0)`);
  }
  const a = (1 - eps) / denom;
  const b = eps / c / denom;
  const grad = new Float32Array(n * c);
  const logp = new Float64Array(c);
  let loss = 0;
  for (let i = 0; i < n; i++) {
    if (labels[i] === ignore) continue;
    const row = i * c;
    let max = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < c; k++) max = Math.max(max, logits[row + k]);
    let sum = 0;
    for (let k = 0; k < c; k++) sum += Math.exp(logits[row + k] - max);
    const lse = max + Math.log(sum);
    let smooth = 0;
    for (let k = 0; k < c; k++) {
      logp[k] = logits[row + k] - lse;
      smooth -= w(k) * logp[k];
    }
    const y = labels[i];
    const wy = w(y);
    loss += a * wy * -logp[y] + b * smooth;
    // d/dz_j of a·w_y·(−log p_y) + b·Σ_k w_k·(−log p_k) = p_j·(a·w_y + b·W) − a·w_y·[j = y] − b·w_j.
    const scale = a * wy + b * wSum;
    for (let k = 0; k < c; k++) grad[row + k] = Math.exp(logp[k]) * scale - b * w(k);
    grad[row + y] -= a * wy;
  }
  if (!Number.isFinite(loss)) throw new NonFiniteError(`${what}: the loss is ${loss}`);
  return { loss, grad };
}

/** Mean (or summed) squared error and its gradient with respect to the input. */
export function meanSquaredError(
  input: Float32Array,
  target: Float32Array,
  reduction: Reduction = 'mean',
): { loss: number; grad: Float32Array } {
  const what = 'MSELoss';
  checkReduction(reduction, what);
  if (input.length !== target.length) throw new ShapeError(`${what}: input has ${input.length} values, target ${target.length}`);
  checkFinite(input, what, 'the input');
  const scale = reduction === 'mean' ? 1 / Math.max(input.length, 1) : 1;
  const grad = new Float32Array(input.length);
  let loss = 0;
  for (let i = 0; i < input.length; i++) {
    const d = input[i] - target[i];
    loss += d * d;
    grad[i] = 2 * d * scale;
  }
  loss *= scale;
  if (!Number.isFinite(loss)) throw new NonFiniteError(`${what}: the loss is ${loss}`);
  return { loss, grad };
}

/** A scalar (shape []) loss tensor whose backward scales `grad` by the incoming gradient and feeds `input`. */
function lossTensor(loss: number, input: Tensor, grad: Float32Array): Tensor {
  const gradFn = input.gradFn
    ? async (g: Float32Array) => {
        const scale = g[0];
        const d = scale === 1 ? grad : grad.map((v) => v * scale);
        await input.backward(d);
      }
    : undefined;
  return new Tensor(new Float32Array([loss]), [], { gradFn });
}

/** Base of the loss modules: `forward(input, target)` (also callable as `call`). */
export abstract class Loss {
  abstract forward(input: Tensor, target: Tensor): Tensor;
}

/** torch.nn.CrossEntropyLoss over logits [N, C] and a float Tensor of class indices [N]. */
export class CrossEntropyLoss extends Loss {
  readonly labelSmoothing: number;
  readonly weight: Float32Array | null;
  readonly reduction: Reduction;
  readonly ignoreIndex: number;

  constructor(options: CrossEntropyOptions = {}) {
    super();
    const ls = options.labelSmoothing ?? 0;
    if (!(ls >= 0 && ls <= 1)) throw new ArgumentError(`CrossEntropyLoss: labelSmoothing must be in [0, 1], got ${ls}`);
    this.labelSmoothing = ls;
    const w = options.weight;
    this.weight = w === undefined ? null : Float32Array.from(w instanceof Tensor ? w.dataSync() : w);
    this.reduction = checkReduction(options.reduction ?? 'mean', 'CrossEntropyLoss');
    this.ignoreIndex = options.ignoreIndex ?? -100;
  }

  forward(logits: Tensor, target: Tensor): Tensor {
    if (logits.rank !== 2) throw new ShapeError(`CrossEntropyLoss: expected logits [N, C], got ${shapeToString(logits.shape)}`);
    const [n, c] = logits.shape;
    if (target.size !== n)
      throw new ShapeError(
        `CrossEntropyLoss: target ${shapeToString(target.shape)} does not hold one class index per row of logits ${shapeToString(logits.shape)}`,
      );
    const { loss, grad } = crossEntropy(logits.dataSync(), n, c, target.dataSync(), {
      labelSmoothing: this.labelSmoothing,
      weight: this.weight ?? undefined,
      reduction: this.reduction,
      ignoreIndex: this.ignoreIndex,
    });
    return lossTensor(loss, logits, grad);
  }
}

/** torch.nn.MSELoss: input and target of the same shape. */
export class MSELoss extends Loss {
  readonly reduction: Reduction;

  constructor(options: { reduction?: Reduction } = {}) {
    super();
    this.reduction = checkReduction(options.reduction ?? 'mean', 'MSELoss');
  }

  forward(input: Tensor, target: Tensor): Tensor {
    if (!shapesEqual(input.shape, target.shape)) {
      throw new ShapeError(
        `MSELoss: input ${shapeToString(input.shape)} and target ${shapeToString(target.shape)} differ in shape`,
      );
    }
    const { loss, grad } = meanSquaredError(input.dataSync(), target.dataSync(), this.reduction);
    return lossTensor(loss, input, grad);
  }
}
