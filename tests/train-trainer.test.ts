import { describe, expect, it } from 'vitest';
import {
  ArgumentError,
  NonFiniteError,
  OneCycleLR,
  Parameter,
  StepLR,
  Tensor,
  arrayBatches,
  evaluate,
  fit as fitModel,
  metrics,
  nn,
  optim,
  tensor,
} from '../src/index.js';
import type { TrainableModel } from '../src/index.js';
import { randomArray } from './helpers/random.js';

/** A linear classifier written by hand: forward x·Wᵀ + b with a gradFn that accumulates into W.grad, b.grad. */
class FakeLinear implements TrainableModel {
  training = true;
  readonly w: Parameter;
  readonly b: Parameter;
  forwardCalls = 0;
  /** Rows of the next forward output to poison with NaN (to test onNaN). */
  poison = new Set<number>();
  /** Forward calls whose gradient gets an infinite entry while the loss stays finite. */
  poisonGrad = new Set<number>();
  constructor(
    readonly d: number,
    readonly c: number,
  ) {
    this.w = new Parameter([c, d], { values: randomArray(c * d, 3, 0.1) });
    this.b = new Parameter([c]);
  }
  train(mode = true) {
    this.training = mode;
    return this;
  }
  eval() {
    return this.train(false);
  }
  parameters() {
    return [this.w, this.b];
  }
  async forward(x: Tensor): Promise<Tensor> {
    this.forwardCalls++;
    const [n] = x.shape;
    const { d, c } = this;
    const xv = x.dataSync().slice();
    const out = new Float32Array(n * c);
    for (let i = 0; i < n; i++)
      for (let k = 0; k < c; k++) {
        let s = this.b.values[k];
        for (let j = 0; j < d; j++) s += xv[i * d + j] * this.w.values[k * d + j];
        out[i * c + k] = s;
      }
    if (this.poison.has(this.forwardCalls)) out[0] = Number.NaN;
    const infiniteGrad = this.poisonGrad.has(this.forwardCalls);
    if (!this.training) return new Tensor(out, [n, c]);
    return new Tensor(out, [n, c], {
      gradFn: (g) => {
        this.w.grad ??= new Float32Array(c * d);
        this.b.grad ??= new Float32Array(c);
        for (let i = 0; i < n; i++)
          for (let k = 0; k < c; k++) {
            this.b.grad[k] += g[i * c + k];
            for (let j = 0; j < d; j++) this.w.grad[k * d + j] += g[i * c + k] * xv[i * d + j];
          }
        if (infiniteGrad) this.w.grad[0] = Number.POSITIVE_INFINITY;
      },
    });
  }
}

/** Three Gaussian blobs in 2-D: linearly separable. */
function blobs(n: number, seed: number): { x: Tensor; y: Tensor } {
  const noise = randomArray(n * 2, seed, 0.4);
  const centers = [
    [2, 0],
    [-1, 1.7],
    [-1, -1.7],
  ];
  const x = new Float32Array(n * 2);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const k = i % 3;
    y[i] = k;
    x[2 * i] = centers[k][0] + noise[2 * i];
    x[2 * i + 1] = centers[k][1] + noise[2 * i + 1];
  }
  return { x: tensor(x, [n, 2]), y: tensor(y) };
}

describe('fit / evaluate', () => {
  it('trains a separable problem: history per epoch, metrics, lr schedule, val; evaluate agrees', async () => {
    const model = new FakeLinear(2, 3);
    const train = blobs(96, 1);
    const val = blobs(30, 2);
    const opt = new optim.SGD(model.parameters(), { lr: 0.2, momentum: 0.9 });
    const progress: number[] = [];
    const history = await fitModel(model, {
      train: arrayBatches(train.x, train.y, 16, { shuffle: true, seed: 1 }),
      val: arrayBatches(val.x, val.y, 'full'),
      epochs: 4,
      optimizer: opt,
      loss: new nn.CrossEntropyLoss(),
      schedule: new StepLR(opt, { stepSize: 2, gamma: 0.5 }),
      clip: { maxNorm: 5 },
      metrics: [new metrics.Accuracy(), new metrics.F1Score({ numClasses: 3 })],
      onProgress: (e) => progress.push(e.step),
    });
    expect(history.epochs.length).toBe(4);
    expect(history.epochs.map((e) => e.lr)).toEqual([0.2, 0.2, 0.1, 0.1]);
    const last = history.epochs[3];
    expect(last.images).toBe(96);
    expect(last.imagesPerSecond).toBeGreaterThan(0);
    expect(last.loss).toBeLessThan(history.epochs[0].loss);
    expect(last.valMetrics?.accuracy).toBeGreaterThan(0.95);
    expect(last.logs.valF1Macro).toBe(last.valMetrics?.f1Macro);
    expect(progress.filter((s) => s === 6).length).toBe(4);
    expect(model.training).toBe(true);
    const r = await evaluate(model, arrayBatches(val.x, val.y, 7), {
      metrics: [new metrics.Accuracy()],
      loss: new nn.CrossEntropyLoss(),
    });
    expect(r.metrics.accuracy).toBeCloseTo(last.valMetrics?.accuracy as number, 12);
    expect(r.loss).toBeCloseTo(last.valLoss as number, 5);
    expect(r.images).toBe(30);
    const plain = await evaluate(model, arrayBatches(val.x, val.y, 'full'), [new metrics.Accuracy()]);
    expect(plain.metrics.accuracy).toBe(r.metrics.accuracy);
    expect(plain.loss).toBeUndefined();
  });

  it('accepts an async iterable factory and a plain iterable; full-batch gradient descent is SGD over one batch', async () => {
    const model = new FakeLinear(2, 3);
    const data = blobs(30, 4);
    async function* stream() {
      yield { x: data.x, y: data.y };
    }
    const opt = new optim.SGD(model.parameters(), { lr: 0.5 });
    const h1 = await fitModel(model, { train: () => stream(), epochs: 3, optimizer: opt, loss: new nn.CrossEntropyLoss() });
    expect(h1.epochs.every((e) => e.images === 30)).toBe(true);
    const full = [...arrayBatches(data.x, data.y, 'full')()];
    expect(full.length).toBe(1);
    const h2 = await fitModel(model, { train: full, epochs: 2, optimizer: opt, loss: new nn.CrossEntropyLoss() });
    expect(h2.epochs[1].loss).toBeLessThan(h1.epochs[0].loss);
  });

  it('a NaN loss stops with an error naming the epoch and step, or skips the step when asked', async () => {
    const data = blobs(32, 5);
    const model = new FakeLinear(2, 3);
    model.poison.add(7); // epoch 2 (4 batches per epoch), step 3
    const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
    const run = () =>
      fitModel(model, { train: arrayBatches(data.x, data.y, 8), epochs: 3, optimizer: opt, loss: new nn.CrossEntropyLoss() });
    await expect(run()).rejects.toThrow(NonFiniteError);
    model.forwardCalls = 0;
    await expect(run()).rejects.toThrow(/epoch 2, step 3/);

    const skipper = new FakeLinear(2, 3);
    skipper.poison.add(7);
    const before = skipper.w.values.slice();
    const h = await fitModel(skipper, {
      train: arrayBatches(data.x, data.y, 8),
      epochs: 3,
      optimizer: new optim.Adam(skipper.parameters(), { lr: 0.01 }),
      loss: new nn.CrossEntropyLoss(),
      onNaN: 'skip',
    });
    expect(h.epochs.map((e) => e.skippedSteps)).toEqual([0, 1, 0]);
    expect(h.epochs[1].images).toBe(24);
    expect(Number.isFinite(h.epochs[1].loss)).toBe(true);
    expect(skipper.w.values.every((v) => Number.isFinite(v))).toBe(true);
    expect(skipper.w.values).not.toEqual(before);
  });

  it('early stopping on a validation metric with patience', async () => {
    const data = blobs(30, 6);
    const model = new FakeLinear(2, 3);
    const h = await fitModel(model, {
      train: arrayBatches(data.x, data.y, 10),
      val: arrayBatches(data.x, data.y, 'full'),
      epochs: 50,
      optimizer: new optim.SGD(model.parameters(), { lr: 0.5 }),
      loss: new nn.CrossEntropyLoss(),
      metrics: [new metrics.Accuracy()],
      earlyStopping: { monitor: 'valAccuracy', patience: 2, minDelta: 0.001 },
    });
    expect(h.stoppedEarly).toBe(true);
    expect(h.epochs.length).toBe((h.bestEpoch as number) + 3);
    const accs = h.epochs.map((e) => e.logs.valAccuracy);
    expect(Math.max(...accs)).toBe(accs[(h.bestEpoch as number) - 1]);
  });

  it('OneCycleLR steps per batch by default', async () => {
    const data = blobs(30, 7);
    const model = new FakeLinear(2, 3);
    const opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
    const sched = new OneCycleLR(opt, { maxLr: 0.5, totalSteps: 6 });
    await fitModel(model, {
      train: arrayBatches(data.x, data.y, 10),
      epochs: 2,
      optimizer: opt,
      loss: new nn.CrossEntropyLoss(),
      schedule: sched,
    });
    expect(sched.lastEpoch).toBe(6);
  });

  it('bad options', async () => {
    const model = new FakeLinear(2, 3);
    const data = blobs(6, 8);
    const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
    const base = { train: arrayBatches(data.x, data.y, 3), optimizer: opt, loss: new nn.CrossEntropyLoss() };
    await expect(fitModel(model, { ...base, epochs: 0 })).rejects.toThrow(ArgumentError);
    await expect(fitModel(model, { ...base, epochs: 1, earlyStopping: { monitor: 'valLoss' } })).rejects.toThrow(/no val data/);
    await expect(fitModel(model, { ...base, epochs: 1, val: base.train, earlyStopping: { monitor: 'valAcc' } })).rejects.toThrow(
      /not among/,
    );
    expect(() => arrayBatches(data.x, tensor([1, 2]), 2)).toThrow(/first dimension/);
    expect(() => arrayBatches(data.x, data.y, 0)).toThrow(/batchSize/);
  });

  it('a non-finite gradient norm (finite loss) stops with an error when clipping by norm, or skips the step', async () => {
    const data = blobs(32, 9);
    const model = new FakeLinear(2, 3);
    model.poisonGrad.add(6); // epoch 2, step 2
    const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
    const base = { train: arrayBatches(data.x, data.y, 8), epochs: 3, optimizer: opt, loss: new nn.CrossEntropyLoss() };
    await expect(fitModel(model, { ...base, clip: { maxNorm: 1 } })).rejects.toThrow(
      /non-finite loss at epoch 2, step 2 \(the gradient norm is Infinity\)/,
    );
    const skipper = new FakeLinear(2, 3);
    skipper.poisonGrad.add(6);
    const h = await fitModel(skipper, {
      ...base,
      optimizer: new optim.SGD(skipper.parameters(), { lr: 0.1 }),
      clip: { maxNorm: 1 },
      onNaN: 'skip',
    });
    expect(h.epochs.map((e) => e.skippedSteps)).toEqual([0, 1, 0]);
    expect(skipper.w.values.every((v) => Number.isFinite(v))).toBe(true);
  });

  it('onEpochEnd returning false stops after that epoch; any other value goes on', async () => {
    const data = blobs(12, 10);
    const model = new FakeLinear(2, 3);
    const seen: number[] = [];
    const h = await fitModel(model, {
      train: arrayBatches(data.x, data.y, 4),
      epochs: 10,
      optimizer: new optim.SGD(model.parameters(), { lr: 0.1 }),
      loss: new nn.CrossEntropyLoss(),
      onEpochEnd: async (r) => {
        seen.push(r.epoch);
        return r.epoch === 1 ? undefined : r.epoch === 2 ? true : r.epoch < 3;
      },
    });
    expect(seen).toEqual([1, 2, 3]);
    expect(h.epochs.map((e) => e.epoch)).toEqual([1, 2, 3]);
    expect(model.forwardCalls).toBe(9);
  });

  it('clip: { value } clamps every gradient entry before the step', async () => {
    const data = blobs(12, 11);
    const make = () => {
      const m = new FakeLinear(2, 3);
      m.w.values.set(randomArray(6, 12, 3)); // large weights: gradients well beyond the clip value
      return m;
    };
    // The unclipped gradient of one full batch, by hand.
    const probe = make();
    const loss = new nn.CrossEntropyLoss();
    await loss.forward(await probe.forward(data.x), data.y).backward();
    const g = probe.w.grad as Float32Array;
    // A clip value between the gradient's entries: some are clamped, some pass unchanged.
    const sorted = Array.from(g, Math.abs).sort((a, b) => a - b);
    const v = (sorted[2] + sorted[3]) / 2;
    expect(sorted[3] - sorted[2]).toBeGreaterThan(1e-3);
    const model = make();
    const w0 = model.w.values.slice();
    await fitModel(model, {
      train: arrayBatches(data.x, data.y, 'full'),
      epochs: 1,
      optimizer: new optim.SGD(model.parameters(), { lr: 1 }),
      loss,
      clip: { value: v },
    });
    const want = w0.map((w, i) => w - Math.min(v, Math.max(-v, g[i])));
    for (let i = 0; i < 6; i++) expect(model.w.values[i]).toBeCloseTo(want[i], 6);
  });
});
