import { describe, expect, it } from 'vitest';
import { Graph, Tensor, manualSeed, nn } from '../src/index.js';
import type { Parameter } from '../src/core/parameter.js';
import { createReferenceBackend } from '../src/backends/reference/index.js';
import { Plan } from '../src/graph/plan.js';
import { TrainPlan } from '../src/graph/train-plan.js';
import { Random } from '../src/core/random.js';
import { gradCases } from './cases/grad.js';
import { expectClose, randomArray } from './helpers/random.js';
import { caseInputs, caseParams } from './helpers/single-op.js';

/**
 * Analytic gradients (the backward graph on the reference backend) against central finite differences
 * of L = Σ r ⊙ y for a fixed random r. The forward runs in float32, so the finite difference uses a large
 * step (EPS = 1e-2, values are O(1)) and the loss is summed in float64; only the outputs that depend on
 * the perturbed entry change, which keeps the float32 noise under ~1e-3. Tolerance: |analytic − fd| ≤
 * ATOL + RTOL·|fd|. Where an op has kinks (relu, max-pool), an entry whose finite difference changes
 * between EPS and EPS/4 straddles a kink and is skipped (at most a fifth of the entries may be).
 */
const EPS = 1e-2;
const ATOL = 3e-3;
const RTOL = 1e-2;
const SAMPLES = 40;

const reference = createReferenceBackend();

interface Checked {
  checked: number;
  skipped: number;
}

function sampleIndices(n: number, seed: number): number[] {
  if (n <= SAMPLES) return Array.from({ length: n }, (_, i) => i);
  const r = new Random(seed);
  const set = new Set<number>();
  while (set.size < SAMPLES) set.add(r.int(n));
  return [...set];
}

/** Compares analytic[i] with the central difference of `loss` when `values[i]` moves by ±eps. */
function checkTensor(
  what: string,
  analytic: Float32Array,
  values: Float32Array,
  loss: () => number,
  piecewise: boolean,
  touched?: () => void,
): Checked {
  const fd = (i: number, eps: number) => {
    const keep = values[i];
    values[i] = keep + eps;
    touched?.();
    const plus = loss();
    values[i] = keep - eps;
    touched?.();
    const minus = loss();
    values[i] = keep;
    touched?.();
    return (plus - minus) / (2 * eps);
  };
  const result = { checked: 0, skipped: 0 };
  for (const i of sampleIndices(values.length, values.length * 7 + 1)) {
    const estimate = fd(i, EPS);
    if (piecewise) {
      const fine = fd(i, EPS / 4);
      if (Math.abs(fine - estimate) > ATOL + RTOL * Math.abs(fine)) {
        result.skipped++;
        continue;
      }
    }
    const err = Math.abs(analytic[i] - estimate);
    if (err > ATOL + RTOL * Math.abs(estimate)) {
      throw new Error(`${what}[${i}]: analytic ${analytic[i]}, finite difference ${estimate} (|diff| ${err.toExponential(2)})`);
    }
    result.checked++;
  }
  return result;
}

function dot(r: Float32Array, y: Float32Array): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) s += r[i] * y[i];
  return s;
}

describe('gradients match finite differences (reference backend)', () => {
  for (const c of gradCases) {
    it(c.name, () => {
      const params = caseParams(c);
      const inputs = caseInputs(c);
      const g = new Graph();
      const ins = c.inputs.map(() => g.addInput());
      g.outputs = [g.addNode(c.op, c.name, c.attrs as never, ins, params)];

      const train = new TrainPlan(g, c.inputs, reference, { inputGrads: true });
      const forward = new Plan(g, c.inputs, reference);
      try {
        const y = train.run(inputs);
        expect(Array.from(y)).toEqual(Array.from(forward.run(inputs)[0]));
        const r = randomArray(y.length, 99, 1);
        train.backward(r);
        const dInputs = train.inputGradients();
        const loss = () => dot(r, forward.run(inputs)[0]);
        const piecewise = c.piecewise ?? false;
        const totals: Checked = { checked: 0, skipped: 0 };
        const add = (x: Checked) => {
          totals.checked += x.checked;
          totals.skipped += x.skipped;
        };
        inputs.forEach((x, k) => add(checkTensor(`dL/dinput${k}`, dInputs[k], x, loss, piecewise)));
        for (const [key, p] of Object.entries(params)) {
          if (p.isBuffer) {
            expect(p.grad, `${key} is a buffer`).toBeNull();
            continue;
          }
          expect(p.grad, `${key} got a gradient`).not.toBeNull();
          add(checkTensor(`dL/d${key}`, p.grad as Float32Array, p.values, loss, piecewise, () => p.markChanged()));
        }
        expect(totals.checked).toBeGreaterThan(0);
        expect(totals.skipped).toBeLessThanOrEqual(totals.checked / 4);
      } finally {
        train.dispose();
        forward.dispose();
      }
    });
  }

  it('binary: the gradient of a broadcast operand is dY summed over the broadcast dimensions', () => {
    // A per-channel bias [3, 1, 1] added to [2, 3, 4, 4] (the squeeze-excitation gate's shape pattern):
    // dBias[c] = Σ_{n,h,w} dY[n, c, h, w], written out here as the oracle.
    const g = new Graph();
    const x = g.addInput();
    const bias = g.addInput();
    g.outputs = [g.addNode('binary', 'add_bias', { kind: 'add' }, [x, bias])];
    const plan = new TrainPlan(
      g,
      [
        [2, 3, 4, 4],
        [3, 1, 1],
      ],
      reference,
      { inputGrads: true },
    );
    try {
      plan.run([randomArray(96, 11, 1), randomArray(3, 12, 1)]);
      const dy = randomArray(96, 13, 1);
      plan.backward(dy);
      const [dx, dbias] = plan.inputGradients();
      expect(Array.from(dx)).toEqual(Array.from(dy));
      const want = new Float32Array(3);
      for (let n = 0; n < 2; n++) for (let c = 0; c < 3; c++) for (let i = 0; i < 16; i++) want[c] += dy[(n * 3 + c) * 16 + i];
      expectClose(dbias, want, 1e-6, 1e-5, 'dBias');
    } finally {
      plan.dispose();
    }
  });

  it('training dropout: the backward multiplies by the very mask the forward drew', () => {
    const attrs = { p: 0.3, training: true, seed: 42 };
    const g = new Graph();
    const x = g.addInput();
    g.outputs = [g.addNode('dropout', 'drop', attrs, [x])];
    const shape = [3, 50];
    const input = randomArray(150, 5, 1).map((v) => (v === 0 ? 0.5 : v));
    const train = new TrainPlan(g, [shape], reference, { inputGrads: true });
    const plain = new Plan(g, [shape], reference);
    try {
      for (let step = 0; step < 3; step++) {
        const y = train.run([input]);
        // Same draws as the dropout kernel's own forward on the same call.
        // (x·mask with mask = float32(1/(1−p)), as PyTorch does; the dropout kernel rounds x/(1−p) once.)
        const direct = plain.run([input])[0];
        for (let i = 0; i < 150; i++) expect(Math.abs(y[i] - direct[i])).toBeLessThanOrEqual(1e-6 * Math.abs(direct[i]));
        const r = randomArray(150, 6 + step, 1);
        train.backward(r);
        const [dx] = train.inputGradients();
        let dropped = 0;
        for (let i = 0; i < 150; i++) {
          const mask = y[i] / input[i];
          if (y[i] === 0) dropped++;
          expect(dx[i]).toBeCloseTo(r[i] * (y[i] === 0 ? 0 : 1 / 0.7), 5);
          expect(Math.abs(mask) < 1e-6 || Math.abs(mask - 1 / 0.7) < 1e-5).toBe(true);
        }
        expect(dropped).toBeGreaterThan(20);
        expect(dropped).toBeLessThan(80);
      }
    } finally {
      train.dispose();
      plain.dispose();
    }
  });
});

/**
 * A small CNN with BatchNorm (batch statistics), depthwise conv, a residual add, pooling and a head. Its
 * activations are smooth: with BatchNorm every weight moves a whole channel, so a piecewise-linear model
 * would put kinks inside almost every finite-difference step (relu and max-pool are checked op by op).
 */
function smallBnCnn(): nn.Sequential {
  return new nn.Sequential(
    new nn.Conv2d(3, 4, 3, { padding: 1 }),
    new nn.BatchNorm2d(4),
    new nn.Tanh(),
    new nn.AvgPool2d(2, { ceilMode: true, countIncludePad: false }),
    new nn.Residual(
      new nn.Sequential(new nn.Conv2d(4, 4, 3, { padding: 1, groups: 4, bias: false }), new nn.BatchNorm2d(4), new nn.Sigmoid()),
    ),
    new nn.Conv2d(4, 6, 3, { stride: 2, padding: 1, groups: 2 }),
    new nn.Tanh(),
    new nn.AdaptiveAvgPool2d(1),
    new nn.Flatten(),
    new nn.Linear(6, 5),
    new nn.Softmax(1),
  );
}

describe('whole-model gradient check', () => {
  it('a small CNN with BatchNorm in training mode: every parameter against finite differences', async () => {
    manualSeed(7);
    const net = smallBnCnn();
    await net.to('reference');
    net.train();
    const shape = [3, 3, 7, 7];
    const x = new Tensor(randomArray(3 * 3 * 49, 21, 1), shape);
    const out = await net.forward(x);
    expect(out.shape).toEqual([3, 5]);
    const r = randomArray(15, 22, 1);
    await out.backward(r);
    const loss = () => {
      // Synchronous forward through the same training plan (batch statistics), no backward.
      return dot(r, planOf(net).run([x.dataSync()]));
    };
    const train = await net.trainPlan(shape);
    const planOf = (_: nn.Module) => train;
    let checked = 0;
    let skipped = 0;
    for (const [name, p] of net.namedParameters() as [string, Parameter][]) {
      expect(p.grad, name).not.toBeNull();
      const result = checkTensor(name, p.grad as Float32Array, p.values, loss, false, () => p.markChanged());
      checked += result.checked;
      skipped += result.skipped;
    }
    expect(checked).toBeGreaterThan(100);
    expect(skipped).toBe(0);
    for (const [name, b] of net.namedBuffers()) expect(b.grad, name).toBeNull();
    net.releasePlans();
  });
});
