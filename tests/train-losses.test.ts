import { describe, expect, it } from 'vitest';
import { ArgumentError, NonFiniteError, Tensor, crossEntropy, meanSquaredError, nn, tensor } from '../src/index.js';
import { expectClose } from './helpers/random.js';
import { trainFixture } from './helpers/train-fixtures.js';

interface CeCase {
  labelSmoothing: number;
  weight: number[] | null;
  reduction: 'mean' | 'sum';
  loss: number;
  grad: number[];
}
interface LossFixture {
  crossEntropy: { n: number; c: number; logits: number[]; labels: number[]; cases: CeCase[] };
  crossEntropyIgnore: { labels: number[]; cases: CeCase[] };
  mse: {
    shape: number[];
    input: number[];
    target: number[];
    cases: { reduction: 'mean' | 'sum'; loss: number; grad: number[] }[];
  };
}
const fx = trainFixture<LossFixture>('losses.json');
const ce = fx.crossEntropy;

describe('CrossEntropyLoss vs PyTorch', () => {
  for (const c of ce.cases) {
    const label = `ls=${c.labelSmoothing} weight=${c.weight ? 'yes' : 'no'} ${c.reduction}`;
    it(`value and gradient: ${label}`, () => {
      const r = crossEntropy(Float32Array.from(ce.logits), ce.n, ce.c, ce.labels, {
        labelSmoothing: c.labelSmoothing,
        weight: c.weight ?? undefined,
        reduction: c.reduction,
      });
      expect(r.loss).toBeCloseTo(c.loss, 5);
      expectClose(r.grad, Float32Array.from(c.grad), 1e-6, 1e-5, `dlogits ${label}`);
    });
  }

  for (const c of fx.crossEntropyIgnore.cases) {
    const label = `ignore_index -100, ls=${c.labelSmoothing} weight=${c.weight ? 'yes' : 'no'} ${c.reduction}`;
    it(`value and gradient: ${label}`, () => {
      const r = crossEntropy(Float32Array.from(ce.logits), ce.n, ce.c, fx.crossEntropyIgnore.labels, {
        labelSmoothing: c.labelSmoothing,
        weight: c.weight ?? undefined,
        reduction: c.reduction,
      });
      expect(r.loss).toBeCloseTo(c.loss, 5);
      expectClose(r.grad, Float32Array.from(c.grad), 1e-6, 1e-5, `dlogits ${label}`);
    });
  }

  it('every label ignored: NonFiniteError saying so (torch returns NaN)', () => {
    expect(() => crossEntropy(new Float32Array(4), 2, 2, [-100, -100])).toThrow(/every label equals ignoreIndex/);
    expect(() => new nn.CrossEntropyLoss({ ignoreIndex: 1 }).forward(tensor([0, 0, 0, 0], [2, 2]), tensor([1, 0]))).not.toThrow();
  });

  it('the module returns a scalar whose backward hands dL/dlogits to the logits (scaled by the incoming gradient)', async () => {
    const c = ce.cases.find((k) => k.labelSmoothing === 0.1 && k.weight && k.reduction === 'mean') as CeCase;
    let received: Float32Array | null = null;
    const logits = new Tensor(Float32Array.from(ce.logits), [ce.n, ce.c], {
      gradFn: (g) => {
        received = g.slice();
      },
    });
    const loss = new nn.CrossEntropyLoss({ labelSmoothing: 0.1, weight: c.weight as number[] }).forward(
      logits,
      tensor(ce.labels),
    );
    expect(loss.shape).toEqual([]);
    expect((await loss.data())[0]).toBeCloseTo(c.loss, 5);
    await loss.backward();
    expectClose(received as unknown as Float32Array, Float32Array.from(c.grad), 1e-6, 1e-5, 'backward');
    await loss.backward(new Float32Array([2]));
    expectClose(received as unknown as Float32Array, Float32Array.from(c.grad.map((v) => 2 * v)), 1e-6, 1e-5, 'backward ×2');
  });

  it('gradient matches central finite differences (float64 loss)', () => {
    const logits = Float32Array.from(ce.logits);
    const opts = { labelSmoothing: 0.2, weight: [0.3, 1, 2, 0.7], reduction: 'mean' as const };
    const { grad } = crossEntropy(logits, ce.n, ce.c, ce.labels, opts);
    const h = 1e-2;
    for (const i of [0, 5, 11, 23]) {
      const plus = logits.slice();
      const minus = logits.slice();
      plus[i] += h;
      minus[i] -= h;
      const fd =
        (crossEntropy(plus, ce.n, ce.c, ce.labels, opts).loss - crossEntropy(minus, ce.n, ce.c, ce.labels, opts).loss) / (2 * h);
      expect(grad[i]).toBeCloseTo(fd, 4);
    }
  });

  it('labels out of range or not integers: ArgumentError naming the index and value', () => {
    const loss = new nn.CrossEntropyLoss();
    const logits = tensor(new Float32Array(8), [2, 4]);
    expect(() => loss.forward(logits, tensor([1, 4]))).toThrow(ArgumentError);
    expect(() => loss.forward(logits, tensor([1, 4]))).toThrow(/label at index 1 is 4.*\[0, 4\)/);
    expect(() => loss.forward(logits, tensor([-1, 0]))).toThrow(/label at index 0 is -1/);
    expect(() => loss.forward(logits, tensor([0, 1.5]))).toThrow(/label at index 1 is 1.5/);
    expect(() => loss.forward(logits, tensor([0, 1, 2]))).toThrow(/target \[3\]/);
  });

  it('NaN or infinite logits: NonFiniteError naming the position', () => {
    const v = new Float32Array(8);
    v[5] = Number.NaN;
    expect(() => new nn.CrossEntropyLoss().forward(tensor(v, [2, 4]), tensor([0, 1]))).toThrow(NonFiniteError);
    expect(() => new nn.CrossEntropyLoss().forward(tensor(v, [2, 4]), tensor([0, 1]))).toThrow(/NaN at index 5/);
    v[5] = Number.POSITIVE_INFINITY;
    expect(() => new nn.CrossEntropyLoss().forward(tensor(v, [2, 4]), tensor([0, 1]))).toThrow(/Infinity at index 5/);
  });

  it('bad options', () => {
    expect(() => new nn.CrossEntropyLoss({ labelSmoothing: 1.5 })).toThrow(ArgumentError);
    expect(() => new nn.CrossEntropyLoss({ reduction: 'none' as 'mean' })).toThrow(/reduction/);
    expect(() =>
      new nn.CrossEntropyLoss({ weight: [1, 2] }).forward(tensor(new Float32Array(8), [2, 4]), tensor([0, 1])),
    ).toThrow(/weight has 2/);
  });
});

describe('MSELoss vs PyTorch', () => {
  for (const c of fx.mse.cases) {
    it(`value and gradient: ${c.reduction}`, async () => {
      let received: Float32Array | null = null;
      const input = new Tensor(Float32Array.from(fx.mse.input), fx.mse.shape, {
        gradFn: (g) => {
          received = g.slice();
        },
      });
      const loss = new nn.MSELoss({ reduction: c.reduction }).forward(input, tensor(fx.mse.target, fx.mse.shape));
      expect((await loss.data())[0]).toBeCloseTo(c.loss, 5);
      await loss.backward();
      expectClose(received as unknown as Float32Array, Float32Array.from(c.grad), 1e-6, 1e-5, 'dinput');
      const pure = meanSquaredError(Float32Array.from(fx.mse.input), Float32Array.from(fx.mse.target), c.reduction);
      expect(pure.loss).toBeCloseTo(c.loss, 5);
    });
  }

  it('shape mismatch and NaN input', () => {
    expect(() => new nn.MSELoss().forward(tensor([1, 2]), tensor([1, 2, 3]))).toThrow(/differ in shape/);
    expect(() => new nn.MSELoss().forward(tensor([1, Number.NaN]), tensor([1, 2]))).toThrow(NonFiniteError);
  });
});
