import { describe, expect, it } from 'vitest';
import { arrayBatches, clipGradNorm, evaluate, fit as fitModel, metrics, nn, optim, tensor } from '../src/index.js';
import { backendsUnderTest } from './helpers/backends.js';
import { randomArray } from './helpers/random.js';

function tinyCnn(): nn.Sequential {
  return new nn.Sequential({
    conv: new nn.Conv2d(1, 4, 3, { padding: 1 }),
    bn: new nn.BatchNorm2d(4),
    relu: new nn.ReLU(),
    pool: new nn.MaxPool2d(2),
    flatten: new nn.Flatten(),
    fc: new nn.Linear(4 * 4 * 4, 3),
  });
}

/** 8×8 images of three classes: a bright top half, left half, or diagonal, plus noise. */
function images(n: number, seed: number) {
  const noise = randomArray(n * 64, seed, 0.3);
  const x = new Float32Array(n * 64);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const k = i % 3;
    y[i] = k;
    for (let r = 0; r < 8; r++) {
      for (let c = 0; c < 8; c++) {
        const on = k === 0 ? r < 4 : k === 1 ? c < 4 : Math.abs(r - c) < 2;
        x[i * 64 + r * 8 + c] = (on ? 1 : 0) + noise[i * 64 + r * 8 + c];
      }
    }
  }
  return { x: tensor(x, [n, 1, 8, 8]), y: tensor(y) };
}

describe('training a real nn.Sequential through the plan backward', () => {
  for (const b of backendsUnderTest) {
    it(`the issue's PyTorch-style loop on ${b.label}: loss falls, parameters move, a warm step allocates nothing`, async () => {
      const net = tinyCnn();
      await net.to(b.name, b.build ? { build: b.build } : {});
      const opt = new optim.SGD(net.parameters(), { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 });
      await opt.to(await net.currentBackend());
      const criterion = new nn.CrossEntropyLoss();
      const { x, y } = images(24, 1);
      net.train();
      const losses: number[] = [];
      const arena = (await net.currentBackend()).arena;
      let high = 0;
      for (let step = 0; step < 12; step++) {
        opt.zeroGrad();
        const loss = criterion.forward(await net.forward(x), y);
        await loss.backward();
        clipGradNorm(net.parameters(), 1.0);
        opt.step();
        losses.push((await loss.data())[0]);
        if (step === 2) high = arena.highWater;
      }
      expect(arena.highWater).toBe(high);
      expect(losses[11]).toBeLessThan(losses[0] * 0.7);
      opt.dispose();
    });
  }

  it('fit + evaluate on the wasm backend reaches high accuracy on a separable image task', async () => {
    const net = tinyCnn();
    const train = images(60, 2);
    const test = images(30, 3);
    const h = await fitModel(net, {
      train: arrayBatches(train.x, train.y, 10, { shuffle: true, seed: 3 }),
      epochs: 4,
      optimizer: new optim.Adam(net.parameters(), { lr: 0.02 }),
      loss: new nn.CrossEntropyLoss({ labelSmoothing: 0.05 }),
      metrics: [new metrics.Accuracy()],
    });
    expect(h.epochs[3].loss).toBeLessThan(h.epochs[0].loss);
    const r = await evaluate(net, arrayBatches(test.x, test.y, 'full'), {
      metrics: [new metrics.Accuracy(), new metrics.F1Score({ numClasses: 3 })],
    });
    expect(r.metrics.accuracy).toBeGreaterThan(0.9);
  });

  it("early stopping with restoreBest loads the best epoch's weights back", async () => {
    const net = tinyCnn();
    const data = images(30, 4);
    const snapshots: Record<string, Float32Array>[] = [];
    const h = await fitModel(net, {
      train: arrayBatches(data.x, data.y, 10),
      val: arrayBatches(data.x, data.y, 'full'),
      epochs: 6,
      optimizer: new optim.SGD(net.parameters(), { lr: 0.05 }),
      loss: new nn.CrossEntropyLoss(),
      // A monitor that is best at epoch 2 and never improves after it.
      onEpochEnd: (r) => {
        snapshots.push(Object.fromEntries(Object.entries(net.stateDict()).map(([k, t]) => [k, t.dataSync().slice()])));
        r.logs.score = r.epoch === 2 ? 1 : 0;
        return undefined;
      },
      earlyStopping: { monitor: 'score', mode: 'max', patience: 1, restoreBest: true },
    });
    expect(h.bestEpoch).toBe(2);
    expect(h.epochs.length).toBe(4);
    for (const [k, t] of Object.entries(net.stateDict())) expect(t.dataSync()).toEqual(snapshots[1][k]);
  });
});
