import { describe, expect, it } from 'vitest';
import {
  ArgumentError,
  CosineAnnealingLR,
  LinearLR,
  OneCycleLR,
  Parameter,
  SequentialLR,
  StepLR,
  clipGradNorm,
  clipGradValue,
  optim,
} from '../src/index.js';
import type { LRScheduler } from '../src/index.js';
import { expectClose } from './helpers/random.js';
import { trainFixture } from './helpers/train-fixtures.js';

interface ClipCase {
  kind: 'norm' | 'value';
  normType?: number | 'inf';
  maxNorm?: number;
  value?: number;
  total?: number;
  grads: number[][];
}
const clipFx = trainFixture<{ shapes: number[][]; grads: number[][]; cases: ClipCase[] }>('clipping.json');

function clipParams(): Parameter[] {
  return clipFx.shapes.map((s, i) => {
    const p = new Parameter(s);
    p.grad = Float32Array.from(clipFx.grads[i]);
    return p;
  });
}

describe('gradient clipping vs PyTorch', () => {
  for (const c of clipFx.cases) {
    const label = c.kind === 'norm' ? `clip_grad_norm_ norm=${c.normType} max=${c.maxNorm}` : `clip_grad_value_ ${c.value}`;
    it(label, () => {
      const ps = clipParams();
      if (c.kind === 'norm') {
        const normType = c.normType === 'inf' ? Number.POSITIVE_INFINITY : (c.normType as number);
        const total = clipGradNorm(ps, c.maxNorm as number, normType);
        expect(total).toBeCloseTo(c.total as number, 5);
      } else {
        clipGradValue(ps, c.value as number);
      }
      ps.forEach((p, i) => expectClose(p.grad as Float32Array, Float32Array.from(c.grads[i]), 1e-6, 1e-5, `${label} grad ${i}`));
    });
  }

  it('skips parameters without a gradient, reports NaN norms, rejects bad arguments', () => {
    const ps = clipParams();
    const bare = new Parameter([3]);
    expect(clipGradNorm([...ps, bare], 1e9)).toBeCloseTo(clipGradNorm(ps, 1e9), 6);
    expect(clipGradNorm([bare], 1)).toBe(0);
    (ps[0].grad as Float32Array)[1] = Number.NaN;
    expect(clipGradNorm(ps, 1)).toBeNaN();
    expect(
      clipGradNorm(
        clipParams().map((p, i) => {
          if (i === 1) (p.grad as Float32Array)[0] = Number.NaN;
          return p;
        }),
        1,
        Number.POSITIVE_INFINITY,
      ),
    ).toBeNaN();
    expect(() => clipGradNorm(clipParams(), 1, 2, { errorIfNonfinite: true })).not.toThrow();
    expect(() => clipGradNorm(ps, 1, 2, { errorIfNonfinite: true })).toThrow(/NaN/);
    expect(() => clipGradNorm(ps, -1)).toThrow(ArgumentError);
    expect(() => clipGradValue(ps, -1)).toThrow(ArgumentError);
  });
});

interface SchedCase {
  schedule: string;
  optimizer: 'SGD' | 'Adam';
  options: Record<string, unknown>;
  lrs: number[];
  momentum: number[];
}
const schedFx = trainFixture<{ baseLr: number; sgdMomentum: number; cases: SchedCase[] }>('schedules.json');

function makeScheduler(c: SchedCase): { opt: optim.Optimizer<optim.GroupBase>; sched: LRScheduler } {
  const p = new Parameter([1]);
  const opt: optim.Optimizer<optim.GroupBase> =
    c.optimizer === 'SGD'
      ? new optim.SGD([p], { lr: schedFx.baseLr, momentum: schedFx.sgdMomentum })
      : new optim.Adam([p], { lr: schedFx.baseLr });
  const build = (name: string, o: never): LRScheduler =>
    name === 'StepLR'
      ? new StepLR(opt, o)
      : name === 'CosineAnnealingLR'
        ? new CosineAnnealingLR(opt, o)
        : name === 'LinearLR'
          ? new LinearLR(opt, o)
          : new OneCycleLR(opt, o);
  if (c.schedule === 'SequentialLR') {
    const o = c.options as { schedulers: [string, never][]; milestones: number[] };
    const schedulers = o.schedulers.map(([name, opts]) => build(name, opts));
    return { opt, sched: new SequentialLR(opt, { schedulers, milestones: o.milestones }) };
  }
  return { opt, sched: build(c.schedule, c.options as never) };
}

describe('LR schedules vs PyTorch', () => {
  for (const c of schedFx.cases) {
    it(`${c.schedule} ${JSON.stringify(c.options)} (${c.optimizer})`, () => {
      const { opt, sched } = makeScheduler(c);
      const p = opt.paramGroups[0].params[0];
      for (let i = 0; i < c.lrs.length; i++) {
        expect(sched.getLastLr()[0]).toBeCloseTo(c.lrs[i], 10);
        expect(opt.paramGroups[0].lr).toBeCloseTo(c.lrs[i], 10);
        const g = opt.paramGroups[0];
        const mom = 'betas' in g ? (g.betas as number[])[0] : (g.momentum as number);
        expect(mom).toBeCloseTo(c.momentum[i], 10);
        p.grad = new Float32Array(1);
        opt.step();
        if (i < c.lrs.length - 1 || c.schedule !== 'OneCycleLR') sched.step();
      }
    });
  }

  it('OneCycleLR refuses to step past totalSteps and needs a length', () => {
    const p = new Parameter([1]);
    const opt = new optim.SGD([p], { lr: 0.1, momentum: 0.9 });
    expect(() => new OneCycleLR(opt, { maxLr: 1 })).toThrow(/totalSteps/);
    const s = new OneCycleLR(opt, { maxLr: 1, totalSteps: 3 });
    s.step();
    s.step();
    s.step();
    expect(() => s.step()).toThrow(/more than totalSteps/);
  });

  it('bad arguments are ArgumentErrors', () => {
    const opt = new optim.SGD([new Parameter([1])], { lr: 0.1 });
    expect(() => new StepLR(opt, { stepSize: 0 })).toThrow(ArgumentError);
    expect(() => new LinearLR(opt, { startFactor: 0 })).toThrow(ArgumentError);
    expect(() => new CosineAnnealingLR(opt, { tMax: 0 })).toThrow(ArgumentError);
    expect(() => new SequentialLR(opt, { schedulers: [new StepLR(opt, { stepSize: 1 })], milestones: [2] })).toThrow(
      /milestones/,
    );
    const other = new optim.SGD([new Parameter([1])], { lr: 0.1 });
    expect(() => new SequentialLR(opt, { schedulers: [new StepLR(other, { stepSize: 1 })], milestones: [] })).toThrow(
      /same optimizer/,
    );
  });
});
