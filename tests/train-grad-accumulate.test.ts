import { describe, expect, it } from 'vitest';
import { Tensor, manualSeed, nn } from '../src/index.js';
import { randomArray } from './helpers/random.js';

// TrainPlan copies a parameter's gradient when its grad array holds only +0 (after an in-place zeroGrad)
// and adds otherwise: both paths must give what PyTorch's += gives.
function net(): nn.Sequential {
  return new nn.Sequential({
    conv: new nn.Conv2d(2, 4, 3, { padding: 1 }),
    relu: new nn.ReLU(),
    flatten: new nn.Flatten(),
    fc: new nn.Linear(4 * 5 * 5, 3),
  });
}

describe('gradient accumulation into Parameter.grad (wasm)', () => {
  it('zeroed in place: the next backward gives the gradient itself; otherwise it adds', async () => {
    manualSeed(11);
    const m = net();
    await m.to('wasm');
    m.train();
    const x = new Tensor(randomArray(2 * 2 * 5 * 5, 5, 1), [2, 2, 5, 5]);
    const gy = randomArray(6, 6, 1);
    await (await m.forward(x)).backward(gy);
    const once = m.parameters().map((p) => (p.grad as Float32Array).slice());
    expect(once.every((g) => g.some((v) => v !== 0))).toBe(true);

    // zeroGrad in place: the copy path.
    for (const p of m.parameters()) p.grad?.fill(0);
    await (await m.forward(x)).backward(gy);
    m.parameters().forEach((p, i) => expect(Array.from(p.grad as Float32Array)).toEqual(Array.from(once[i])));

    // Zero except one element (the scan must not stop early wrongly), and -0 everywhere else in one tensor.
    const ps = m.parameters();
    for (const p of ps) p.grad?.fill(0);
    (ps[0].grad as Float32Array)[(ps[0].grad as Float32Array).length - 1] = 0.5;
    (ps[2].grad as Float32Array).fill(-0);
    await (await m.forward(x)).backward(gy);
    ps.forEach((p, i) => {
      const g = p.grad as Float32Array;
      for (let k = 0; k < g.length; k++) {
        const want = once[i][k] + (i === 0 && k === g.length - 1 ? 0.5 : 0);
        expect(g[k]).toBeCloseTo(want, 6);
      }
    });

    // Not zeroed: adds.
    await (await m.forward(x)).backward(gy);
    ps.forEach((p, i) => {
      const g = p.grad as Float32Array;
      for (let k = 0; k < g.length; k++) {
        const want = 2 * once[i][k] + (i === 0 && k === g.length - 1 ? 0.5 : 0);
        expect(g[k]).toBeCloseTo(want, 5);
      }
    });
    m.releasePlans();
  });
});
