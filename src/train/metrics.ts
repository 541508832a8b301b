// Classification metrics that accumulate over batches: update(output, target) per batch, compute() at
// the end, reset() between epochs. Output is logits/probabilities [N, C] (argmax is the prediction) or
// class indices [N]; target is class indices [N]. Precision/recall/F1 follow sklearn with
// zero_division=0: a class never predicted has precision 0 and F1 0, never NaN.
import { ArgumentError, ShapeError } from '../core/errors.js';
import { shapeToString } from '../core/shape.js';
import type { Tensor } from '../core/tensor.js';

export type MetricValue = number | number[] | number[][];

export interface Metric {
  readonly name: string;
  reset(): void;
  update(output: Tensor, target: Tensor): void;
  compute(): MetricValue;
}

function rows(output: Tensor, target: Tensor, what: string): { n: number; c: number } {
  const n = output.rank === 1 ? output.size : output.shape[0];
  if (output.rank !== 1 && output.rank !== 2)
    throw new ShapeError(`${what}: expected output [N, C] or [N], got ${shapeToString(output.shape)}`);
  if (target.size !== n) throw new ShapeError(`${what}: ${target.size} targets for ${n} outputs`);
  return { n, c: output.rank === 2 ? output.shape[1] : 0 };
}

function checkLabel(y: number, classes: number, i: number, what: string): void {
  if (!Number.isInteger(y) || y < 0 || (classes > 0 && y >= classes)) {
    throw new ArgumentError(`${what}: target at index ${i} is ${y}; class indices must be integers in [0, ${classes || '∞'})`);
  }
}

/** Predicted class per row: argmax of [N, C] (first maximum), or the values of [N]. */
export function predictions(output: Tensor): Int32Array {
  const v = output.dataSync();
  if (output.rank === 1) return Int32Array.from(v);
  const [n, c] = output.shape;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let k = 1; k < c; k++) if (v[i * c + k] > v[i * c + best]) best = k;
    out[i] = best;
  }
  return out;
}

export class Accuracy implements Metric {
  private correct = 0;
  private total = 0;
  constructor(readonly name = 'accuracy') {}
  reset(): void {
    this.correct = 0;
    this.total = 0;
  }
  update(output: Tensor, target: Tensor): void {
    const { n } = rows(output, target, this.name);
    const pred = predictions(output);
    const y = target.dataSync();
    for (let i = 0; i < n; i++) if (pred[i] === y[i]) this.correct++;
    this.total += n;
  }
  compute(): number {
    return this.total ? this.correct / this.total : 0;
  }
}

/** Fraction of rows whose target is among the k largest outputs (ties counted in the target's favour). */
export class TopKAccuracy implements Metric {
  private correct = 0;
  private total = 0;
  readonly name: string;
  constructor(
    readonly k: number,
    name?: string,
  ) {
    if (!(Number.isInteger(k) && k > 0)) throw new ArgumentError(`TopKAccuracy: k must be a positive integer, got ${k}`);
    this.name = name ?? `top${k}Accuracy`;
  }
  reset(): void {
    this.correct = 0;
    this.total = 0;
  }
  update(output: Tensor, target: Tensor): void {
    const { n, c } = rows(output, target, this.name);
    if (output.rank !== 2) throw new ShapeError(`${this.name}: needs scores [N, C], got ${shapeToString(output.shape)}`);
    const v = output.dataSync();
    const y = target.dataSync();
    for (let i = 0; i < n; i++) {
      checkLabel(y[i], c, i, this.name);
      const t = v[i * c + y[i]];
      let above = 0;
      for (let k = 0; k < c; k++) if (v[i * c + k] > t) above++;
      if (above < this.k) this.correct++;
    }
    this.total += n;
  }
  compute(): number {
    return this.total ? this.correct / this.total : 0;
  }
}

/** counts[actual][predicted], accumulated over batches. */
export class ConfusionMatrix implements Metric {
  readonly counts: Float64Array;
  constructor(
    readonly numClasses: number,
    readonly name = 'confusionMatrix',
  ) {
    if (!(Number.isInteger(numClasses) && numClasses > 0))
      throw new ArgumentError(`${name}: numClasses must be a positive integer, got ${numClasses}`);
    this.counts = new Float64Array(numClasses * numClasses);
  }
  reset(): void {
    this.counts.fill(0);
  }
  update(output: Tensor, target: Tensor): void {
    const { n, c } = rows(output, target, this.name);
    if (c && c !== this.numClasses) throw new ShapeError(`${this.name}: output has ${c} classes, the metric ${this.numClasses}`);
    const pred = predictions(output);
    const y = target.dataSync();
    const k = this.numClasses;
    for (let i = 0; i < n; i++) {
      checkLabel(y[i], k, i, this.name);
      checkLabel(pred[i], k, i, `${this.name} (prediction)`);
      this.counts[y[i] * k + pred[i]]++;
    }
  }
  compute(): number[][] {
    const k = this.numClasses;
    return Array.from({ length: k }, (_, r) => Array.from(this.counts.subarray(r * k, r * k + k)));
  }
  /** Per class: true positives, predicted count (column sum), actual count (row sum = support). */
  perClass(): { tp: number[]; predicted: number[]; actual: number[] } {
    const k = this.numClasses;
    const tp = new Array<number>(k).fill(0);
    const predicted = new Array<number>(k).fill(0);
    const actual = new Array<number>(k).fill(0);
    for (let a = 0; a < k; a++) {
      for (let p = 0; p < k; p++) {
        const v = this.counts[a * k + p];
        actual[a] += v;
        predicted[p] += v;
      }
      tp[a] = this.counts[a * k + a];
    }
    return { tp, predicted, actual };
  }
}

/**
 * 'none' → one value per class; 'macro' → unweighted mean over the classes present in targets or
 * predictions (sklearn's default label set); 'weighted' → mean weighted by support; 'micro' → from
 * the pooled counts (equals accuracy for single-label classification).
 */
export type Average = 'none' | 'macro' | 'micro' | 'weighted';

type Kind = 'precision' | 'recall' | 'f1';

const safeDiv = (a: number, b: number) => (b > 0 ? a / b : 0);

/** Precision, recall or F1 of every class from a confusion matrix's counts, averaged as asked. */
export function classificationScore(cm: ConfusionMatrix, kind: Kind, average: Average): number | number[] {
  const { tp, predicted, actual } = cm.perClass();
  const score = (t: number, p: number, a: number) => {
    const precision = safeDiv(t, p);
    const recall = safeDiv(t, a);
    if (kind === 'precision') return precision;
    if (kind === 'recall') return recall;
    return safeDiv(2 * t, p + a); // = 2PR/(P+R), 0 when both are 0
  };
  if (average === 'micro') {
    const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
    return score(sum(tp), sum(predicted), sum(actual));
  }
  const per = tp.map((t, c) => score(t, predicted[c], actual[c]));
  if (average === 'none') return per;
  if (average === 'weighted') {
    const total = actual.reduce((s, x) => s + x, 0);
    return safeDiv(
      per.reduce((s, v, c) => s + v * actual[c], 0),
      total,
    );
  }
  const present = per.filter((_, c) => predicted[c] > 0 || actual[c] > 0);
  return present.length ? present.reduce((s, v) => s + v, 0) / present.length : 0;
}

abstract class ScoreMetric implements Metric {
  readonly matrix: ConfusionMatrix;
  readonly name: string;
  constructor(
    private readonly kind: Kind,
    numClasses: number,
    readonly average: Average,
    name?: string,
  ) {
    if (!['none', 'macro', 'micro', 'weighted'].includes(average))
      throw new ArgumentError(`${kind}: average must be none, macro, micro or weighted, got ${average}`);
    this.name = name ?? (average === 'none' ? kind : `${kind}${average[0].toUpperCase()}${average.slice(1)}`);
    this.matrix = new ConfusionMatrix(numClasses, this.name);
  }
  reset(): void {
    this.matrix.reset();
  }
  update(output: Tensor, target: Tensor): void {
    this.matrix.update(output, target);
  }
  compute(): number | number[] {
    return classificationScore(this.matrix, this.kind, this.average);
  }
}

export interface ScoreOptions {
  numClasses: number;
  average?: Average;
  name?: string;
}

export class Precision extends ScoreMetric {
  constructor(o: ScoreOptions) {
    super('precision', o.numClasses, o.average ?? 'macro', o.name);
  }
}
export class Recall extends ScoreMetric {
  constructor(o: ScoreOptions) {
    super('recall', o.numClasses, o.average ?? 'macro', o.name);
  }
}
export class F1Score extends ScoreMetric {
  constructor(o: ScoreOptions) {
    super('f1', o.numClasses, o.average ?? 'macro', o.name);
  }
}
