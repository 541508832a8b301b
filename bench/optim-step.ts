// Optimizer step cost on the reference CNN's parameters (5.1M): the reference backend's TypeScript loop vs
// each wasm build, run where the parameters live (`opt.to` moves them). Run: npx tsx bench/optim-step.ts
import { optim } from '../src/index.js';
import { referenceCnn } from '../tests/helpers/models.js';
const net = referenceCnn();
const ps = net.parameters();
const total = ps.reduce((s, p) => s + p.values.length, 0);
for (const p of ps) p.grad = new Float32Array(p.values.length).fill(1e-3);
console.log('params', total);
for (const [name, make] of [
  ['SGD momentum+wd', () => new optim.SGD(ps, { lr: 0.01, momentum: 0.9, weightDecay: 5e-4 })],
  ['Adam', () => new optim.Adam(ps, { lr: 1e-3 })],
  ['AdamW amsgrad', () => new optim.AdamW(ps, { lr: 1e-3, amsgrad: true })],
] as const) {
  for (const dev of ['reference', 'scalar', 'simd', 'relaxed'] as const) {
    const o = make();
    if (dev !== 'reference') await o.to('wasm', { build: dev });
    for (let i = 0; i < 3; i++) o.step();
    const t0 = performance.now();
    const N = 10;
    for (let i = 0; i < N; i++) o.step();
    const ms = (performance.now() - t0) / N;
    console.log(`${name.padEnd(16)} ${dev.padEnd(9)} ${ms.toFixed(2)} ms/step  ${(total / ms / 1e3).toFixed(0)} Mparam/s`);
    o.dispose();
  }
}
