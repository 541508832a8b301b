import { describe, expect, it } from 'vitest';
import { metrics, tensor } from '../src/index.js';

// Hand-computed case, 4 classes; class 3 is never predicted. Over both batches:
// y    = 0 0 1 1 2 3 3 0 | 2 1
// pred = 0 1 1 1 2 0 2 0 | 2 0
// confusion (rows actual, cols predicted): [2 1 0 0], [1 2 0 0], [0 0 2 0], [1 0 1 0]
// tp = 2 2 2 0, predicted = 4 3 3 0, support = 3 3 2 2
const y1 = [0, 0, 1, 1, 2, 3, 3, 0];
const p1 = [0, 1, 1, 1, 2, 0, 2, 0];
const y2 = [2, 1];
const p2 = [2, 0];

function logits(pred: number[], c: number) {
  const v = new Float32Array(pred.length * c);
  pred.forEach((k, i) => {
    for (let j = 0; j < c; j++) v[i * c + j] = j === k ? 2 : -0.5 * j;
  });
  return tensor(v, [pred.length, c]);
}

function feed<M extends metrics.Metric>(m: M, classes = 4): M {
  m.update(logits(p1, classes), tensor(y1)); // batch 1 as logits [N, C]
  m.update(tensor(p2), tensor(y2)); // batch 2 as predicted class indices [N]
  return m;
}

describe('metrics accumulate over batches (hand-computed confusion matrix)', () => {
  it('confusion matrix', () => {
    expect(feed(new metrics.ConfusionMatrix(4)).compute()).toEqual([
      [2, 1, 0, 0],
      [1, 2, 0, 0],
      [0, 0, 2, 0],
      [1, 0, 1, 0],
    ]);
  });

  it('accuracy and micro averages', () => {
    expect(feed(new metrics.Accuracy()).compute()).toBeCloseTo(0.6, 12);
    for (const M of [metrics.Precision, metrics.Recall, metrics.F1Score]) {
      expect(feed(new M({ numClasses: 4, average: 'micro' })).compute()).toBeCloseTo(0.6, 12);
    }
  });

  it('per class: the never-predicted class has precision 0 and F1 0, not NaN', () => {
    const close = (a: number | number[], b: number[]) => (a as number[]).forEach((v, i) => expect(v).toBeCloseTo(b[i], 12));
    close(feed(new metrics.Precision({ numClasses: 4, average: 'none' })).compute(), [2 / 4, 2 / 3, 2 / 3, 0]);
    close(feed(new metrics.Recall({ numClasses: 4, average: 'none' })).compute(), [2 / 3, 2 / 3, 1, 0]);
    close(feed(new metrics.F1Score({ numClasses: 4, average: 'none' })).compute(), [4 / 7, 4 / 6, 4 / 5, 0]);
  });

  it('macro and weighted averages', () => {
    expect(feed(new metrics.Precision({ numClasses: 4 })).compute()).toBeCloseTo((0.5 + 2 / 3 + 2 / 3 + 0) / 4, 12);
    expect(feed(new metrics.Recall({ numClasses: 4 })).compute()).toBeCloseTo((2 / 3 + 2 / 3 + 1 + 0) / 4, 12);
    const f1Macro = (4 / 7 + 4 / 6 + 4 / 5 + 0) / 4;
    expect(feed(new metrics.F1Score({ numClasses: 4 })).compute()).toBeCloseTo(f1Macro, 12);
    expect(feed(new metrics.F1Score({ numClasses: 4, average: 'weighted' })).compute()).toBeCloseTo(
      ((3 * 4) / 7 + (3 * 4) / 6 + (2 * 4) / 5 + 0) / 10,
      12,
    );
    expect(feed(new metrics.Recall({ numClasses: 4, average: 'weighted' })).compute()).toBeCloseTo(0.6, 12);
    // A fifth class absent from both targets and predictions does not dilute the macro mean (sklearn's label set).
    expect(feed(new metrics.F1Score({ numClasses: 5 }), 5).compute()).toBeCloseTo(f1Macro, 12);
  });

  it('names, reset, and a class-less start', () => {
    const f1 = feed(new metrics.F1Score({ numClasses: 4 }));
    expect(f1.name).toBe('f1Macro');
    f1.reset();
    expect(f1.compute()).toBe(0);
    expect(new metrics.Accuracy().compute()).toBe(0);
  });

  it('top-k accuracy (ties count for the target)', () => {
    const out = tensor([0.1, 0.5, 0.3, 0.2, 1, 0, 0, 0, 0.4, 0.3, 0.2, 0.1], [3, 4]);
    const y = tensor([2, 0, 3]);
    const at = (k: number) => {
      const m = new metrics.TopKAccuracy(k);
      m.update(out, y);
      return m.compute();
    };
    expect(at(1)).toBeCloseTo(1 / 3, 12);
    expect(at(2)).toBeCloseTo(2 / 3, 12);
    expect(at(3)).toBeCloseTo(2 / 3, 12);
    expect(at(4)).toBe(1);
    const tie = new metrics.TopKAccuracy(1);
    tie.update(tensor([1, 1], [1, 2]), tensor([1]));
    expect(tie.compute()).toBe(1);
    expect(new metrics.TopKAccuracy(5).name).toBe('top5Accuracy');
  });

  it('bad input: targets out of range, mismatched sizes', () => {
    expect(() => new metrics.ConfusionMatrix(3).update(tensor([0, 1]), tensor([0, 3]))).toThrow(/target at index 1 is 3/);
    expect(() => new metrics.Accuracy().update(tensor([0, 1]), tensor([0]))).toThrow(/1 targets for 2 outputs/);
    expect(() => new metrics.ConfusionMatrix(3).update(tensor(new Float32Array(8), [2, 4]), tensor([0, 1]))).toThrow(/4 classes/);
    expect(() => new metrics.TopKAccuracy(0)).toThrow(/positive integer/);
  });
});
