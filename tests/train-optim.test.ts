import { describe, expect, it } from 'vitest';
import { ArgumentError, Parameter, optim } from '../src/index.js';
import { type WasmBuild, getBackend } from '../src/backends/registry.js';
import { wasmBuilds } from './helpers/backends.js';
import { expectClose, randomArray } from './helpers/random.js';
import { trainFixture } from './helpers/train-fixtures.js';

interface OptCase {
  optimizer: 'SGD' | 'Adam' | 'AdamW';
  options: Record<string, unknown>;
  trajectory: number[][][];
}
const fx = trainFixture<{ shapes: number[][]; params: number[][]; grads: number[][][]; cases: OptCase[] }>('optimizers.json');

function makeParams(): Parameter[] {
  return fx.shapes.map((s, i) => new Parameter(s, { values: Float32Array.from(fx.params[i]) }));
}

function make(c: OptCase, params: Parameter[]): optim.Optimizer<optim.GroupBase> {
  const o = c.options as { lr: number };
  if (c.optimizer === 'SGD') return new optim.SGD(params, o);
  if (c.optimizer === 'Adam') return new optim.Adam(params, o as Partial<optim.AdamOptions>);
  return new optim.AdamW(params, o as Partial<optim.AdamOptions>);
}

async function runTrajectory(c: OptCase, device: 'reference' | WasmBuild): Promise<void> {
  const params = makeParams();
  const opt = make(c, params);
  if (device !== 'reference') await opt.to('wasm', { build: device });
  expect(opt.device).toBe(device === 'reference' ? 'reference' : `wasm:${device}`);
  for (let s = 0; s < fx.grads.length; s++) {
    const versions = params.map((p) => p.version);
    params.forEach((p, i) => {
      p.grad = Float32Array.from(fx.grads[s][i]);
    });
    opt.step();
    params.forEach((p, i) => {
      expect(p.version).toBeGreaterThan(versions[i]);
      expectClose(
        p.values,
        Float32Array.from(c.trajectory[s][i]),
        1e-6,
        2e-5,
        `${c.optimizer} ${JSON.stringify(c.options)} step ${s + 1} param ${i}`,
      );
    });
  }
  opt.dispose();
}

describe('optimizer trajectories vs PyTorch (4 steps on fixed gradients)', () => {
  for (const c of fx.cases) {
    for (const device of ['reference', ...wasmBuilds] as const) {
      it(`${c.optimizer} ${JSON.stringify(c.options)} on ${device}`, () => runTrajectory(c, device));
    }
  }
});

describe('optimizer behaviour', () => {
  it('frozen parameters, buffers and parameters without a gradient are left alone', () => {
    const [a, b] = makeParams();
    const frozen = new Parameter([2], { values: Float32Array.from([1, 2]) });
    frozen.requiresGrad = false;
    frozen.grad = Float32Array.from([1, 1]);
    const buffer = new Parameter([2], { values: Float32Array.from([3, 4]), isBuffer: true });
    buffer.grad = Float32Array.from([1, 1]);
    const opt = new optim.SGD([a, b, frozen, buffer], { lr: 0.1 });
    a.grad = new Float32Array(a.values.length).fill(1);
    const before = b.values.slice();
    opt.step();
    expect([...frozen.values]).toEqual([1, 2]);
    expect([...buffer.values]).toEqual([3, 4]);
    expect([...b.values]).toEqual([...before]);
  });

  it('zeroGrad zeroes in place by default and sets null with setToNone', () => {
    const [a] = makeParams();
    const opt = new optim.Adam([a]);
    const g = new Float32Array(a.values.length).fill(3);
    a.grad = g;
    opt.zeroGrad();
    expect(a.grad).toBe(g);
    expect(g.every((v) => v === 0)).toBe(true);
    opt.zeroGrad(true);
    expect(a.grad).toBeNull();
  });

  it('learning rate ≤ 0 or NaN, bad betas, nesterov without momentum: ArgumentError', () => {
    const ps = makeParams();
    expect(() => new optim.SGD(ps, { lr: 0 })).toThrow(ArgumentError);
    expect(() => new optim.SGD(ps, { lr: -0.1 })).toThrow(/learning rate must be a finite number > 0, got -0.1/);
    expect(() => new optim.Adam(ps, { lr: Number.NaN })).toThrow(/got NaN/);
    expect(() => new optim.AdamW(ps, { betas: [1, 0.9] })).toThrow(/betas\[0\]/);
    expect(() => new optim.SGD(ps, { lr: 0.1, nesterov: true })).toThrow(/nesterov/);
    expect(() => new optim.SGD([], { lr: 0.1 })).toThrow(/empty/);
    const opt = new optim.SGD(ps, { lr: 0.1 });
    opt.paramGroups[0].lr = -1;
    expect(() => opt.step()).toThrow(ArgumentError);
  });

  it('param groups carry their own hyperparameters', () => {
    const [a, b] = makeParams();
    const opt = new optim.SGD([{ params: [a] }, { params: [b], lr: 0.5 }], { lr: 0.1 });
    const a0 = a.values.slice();
    const b0 = b.values.slice();
    a.grad = new Float32Array(a.values.length).fill(1);
    b.grad = new Float32Array(b.values.length).fill(1);
    opt.step();
    expect(a.values[0]).toBeCloseTo(a0[0] - 0.1, 6);
    expect(b.values[0]).toBeCloseTo(b0[0] - 0.5, 6);
    expect(() => opt.addParamGroup({ params: [a] })).toThrow(/more than one group/);
  });

  it('stateDict / loadStateDict resumes a trajectory exactly, across reference and wasm', async () => {
    const c = fx.cases.find((k) => k.optimizer === 'Adam' && k.options.amsgrad) as OptCase;
    const params = makeParams();
    const opt = make(c, params);
    await opt.to('wasm', { build: 'simd' });
    for (let s = 0; s < 2; s++) {
      params.forEach((p, i) => {
        p.grad = Float32Array.from(fx.grads[s][i]);
      });
      opt.step();
    }
    const sd = opt.stateDict();
    expect(sd.state[0].step).toBe(2);
    expect(Object.keys(sd.state[0].buffers).sort()).toEqual(['expAvg', 'expAvgSq', 'maxExpAvgSq']);
    opt.dispose();
    const resumed = make(c, params);
    resumed.loadStateDict(sd);
    for (let s = 2; s < 4; s++) {
      params.forEach((p, i) => {
        p.grad = Float32Array.from(fx.grads[s][i]);
      });
      resumed.step();
      params.forEach((p, i) => expectClose(p.values, Float32Array.from(c.trajectory[s][i]), 1e-6, 2e-5, `resumed step ${s + 1}`));
    }
    expect(() => new optim.Adam([params[0]]).loadStateDict(sd)).toThrow(/params/);
  });

  it('moving to wasm mid-run keeps the momentum; parameters changed outside are re-read', async () => {
    const c = fx.cases.find((k) => k.optimizer === 'SGD' && k.options.nesterov) as OptCase;
    const params = makeParams();
    const opt = make(c, params);
    params.forEach((p, i) => {
      p.grad = Float32Array.from(fx.grads[0][i]);
    });
    opt.step();
    await opt.to('wasm', { build: 'scalar' });
    for (let s = 1; s < 4; s++) {
      params.forEach((p, i) => {
        p.grad = Float32Array.from(fx.grads[s][i]);
      });
      opt.step();
    }
    params.forEach((p, i) => expectClose(p.values, Float32Array.from(c.trajectory[3][i]), 1e-6, 2e-5, 'after move'));
    params[0].set(new Float32Array(params[0].values.length));
    params.forEach((p) => {
      p.grad = new Float32Array(p.values.length);
    });
    const sgd = new optim.SGD([params[0]], { lr: 0.1 });
    await sgd.to('wasm', { build: 'simd' });
    params[0].grad = new Float32Array(params[0].values.length).fill(1);
    sgd.step();
    params[0].set(new Float32Array(params[0].values.length).fill(5));
    sgd.step();
    expect(params[0].values[0]).toBeCloseTo(4.9, 6);
    opt.dispose();
    sgd.dispose();
  });

  it('wasm kernels match the TypeScript twin on a large odd-sized tensor (SIMD body and tail), warm steps allocate nothing', async () => {
    for (const build of wasmBuilds) {
      const n = 1003;
      const init = randomArray(n, 5, 1);
      const pw = new Parameter([n], { values: init.slice() });
      const pt = new Parameter([n], { values: init.slice() });
      const ow = new optim.AdamW([pw], { lr: 0.01, amsgrad: true });
      const ot = new optim.AdamW([pt], { lr: 0.01, amsgrad: true });
      await ow.to('wasm', { build });
      const sw = new optim.SGD([pw], { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-3 });
      const st = new optim.SGD([pt], { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-3 });
      await sw.to('wasm', { build });
      let high = 0;
      for (let s = 0; s < 6; s++) {
        const g = randomArray(n, 100 + s, 2);
        pw.grad = g.slice();
        pt.grad = g.slice();
        ow.step();
        ot.step();
        sw.step();
        st.step();
        const { memory } = await getBackend('wasm', { build });
        if (s === 1) high = memory.highWater;
        if (s > 1) expect(memory.highWater).toBe(high);
      }
      expectClose(pw.values, pt.values, 1e-6, 1e-5, `wasm:${build} vs TS`);
      ow.dispose();
      sw.dispose();
    }
  });
});
