import { afterEach, describe, expect, it } from 'vitest';
import { ArgumentError, Graph, Plan, VireoError, getBackend, nn, optim, tensor } from '../src/index.js';
import type { Backend } from '../src/backends/backend.js';
import type { KernelFactory } from '../src/backends/backend.js';
import { leafLayers, toAlternating } from './helpers/backends.js';
import { referenceCnn, smallNet } from './helpers/models.js';
import { expectClose, randomArray } from './helpers/random.js';

/**
 * One model on several backends: layers placed by name, copy steps where values cross, parameters
 * and their gradients in the memory of their layer's backend, validate mode. The PyTorch parity suites
 * (parity.test.ts, train-step-parity.test.ts) run the alternating placements against the fixtures.
 */

function input(shape: number[], seed: number) {
  return tensor(
    randomArray(
      shape.reduce((a, b) => a * b, 1),
      seed,
      1,
    ),
    shape,
  );
}

describe('placement across the reference and wasm backends', () => {
  it('puts each named layer on its backend and a copy step (with its bytes) at every crossing, shown by runProfiled', async () => {
    const net = smallNet();
    const placement = await toAlternating(net, { label: 'alt', even: 'reference' });
    net.eval();
    const x = input([2, 3, 8, 8], 1);
    const plan = await net.plan(x.shape);
    const kernels = plan.placement.filter((s) => s.kind === 'kernel');
    for (const k of kernels) {
      const layer = Object.keys(placement).find((p) => k.name === p || k.name.startsWith(`${p}.`));
      expect(k.backend, k.name).toBe(layer ? 'reference' : 'wasm');
    }
    const copies = plan.placement.filter((s) => s.kind === 'copy');
    expect(copies.length).toBeGreaterThan(0);
    expect(new Set(copies.map((c) => c.backend))).toEqual(new Set(['wasm→reference', 'reference→wasm']));
    const { outputs, layers } = plan.runProfiled([x.dataSync()]);
    const profiledCopies = layers.filter((l) => l.op === 'copy');
    expect(profiledCopies.length).toBe(copies.length);
    for (const c of profiledCopies) {
      expect(c.bytes).toBe(4 * c.outputShape.reduce((a, b) => a * b, 1));
      expect(c.name).toMatch(/^copy (wasm→reference|reference→wasm)$/);
    }
    // The same model on one backend gives the same outputs (within float32 reassociation: wasm layers sum differently).
    const single = smallNet();
    single.loadStateDict(net.stateDict());
    await single.to('reference');
    single.eval();
    const [want] = (await single.plan(x.shape)).run([x.dataSync()]);
    expectClose(outputs[0], want, 1e-5, 1e-5, 'alternating vs reference');
    net.releasePlans();
    single.releasePlans();
  });

  it('keeps parameters, gradients and optimizer state where their layer runs; a warm step allocates nothing anywhere', async () => {
    const net = referenceCnn();
    const placement = await toAlternating(net, { label: 'alt', even: 'wasm' });
    const wasm = await getBackend('wasm');
    const reference = await getBackend('reference');
    const opt = new optim.SGD(net.parameters(), { lr: 0.01, momentum: 0.9 });
    const criterion = new nn.CrossEntropyLoss();
    const x = input([2, 3, 32, 32], 2);
    const labels = tensor([1, 7]);
    const marks: number[][] = [];
    for (let s = 0; s < 6; s++) {
      opt.zeroGrad();
      const loss = criterion.forward(await net.forward(x), labels);
      await loss.backward();
      opt.step();
      if (s >= 2)
        marks.push([wasm.memory.highWater, reference.memory.highWater, wasm.memory.bytesInUse, reference.memory.bytesInUse]);
    }
    for (const m of marks) expect(m).toEqual(marks[0]);
    for (const [name, p] of net.namedParameters()) {
      const layer = name.slice(0, name.lastIndexOf('.'));
      expect(p.memory, name).toBe(layer in placement ? wasm.memory : reference.memory);
    }
    net.releasePlans();
    // Released: nothing left on a device, the values came home.
    for (const [name, p] of net.namedParameters()) expect(p.memory, name).toBeNull();
    opt.dispose();
  });

  it('a kernel whose later inputs need copies still reads its earlier inputs intact (liveness counts the copies)', async () => {
    // concat(a, b, c) on wasm with b and c made on reference: both copies are pushed after `a` was read. `a`
    // must stay live until the concat itself, or c's copy may be planned into a's memory.
    const wasm = await getBackend('wasm');
    const reference = await getBackend('reference');
    const g = new Graph();
    const x = g.addInput();
    const a = g.addNode('activation', 'a', { kind: 'relu6', alpha: 0 } as never, [x]);
    const b = g.addNode('activation', 'b', { kind: 'sigmoid', alpha: 0 } as never, [x]);
    const c = g.addNode('activation', 'c', { kind: 'tanh', alpha: 0 } as never, [x]);
    g.outputs = [g.addNode('concat', 'cat', { axis: 1 } as never, [a, b, c])];
    const shape = [2, 3, 5, 7];
    const xs = randomArray(2 * 3 * 5 * 7, 4, 2);
    const want = new Plan(g, [shape], wasm).run([xs])[0];
    const mixed = new Plan(g, [shape], (n) => (n.name === 'b' || n.name === 'c' ? reference : wasm) as Backend);
    expect(mixed.placement.filter((s) => s.kind === 'copy')).toHaveLength(3); // x there, b and c back
    expectClose(mixed.run([xs])[0], want, 1e-6, 1e-5, 'concat of a wasm value and two copies');
  });

  it('rejects a placement that names no layer of the model', async () => {
    const net = smallNet();
    await expect(net.to('wasm', { placement: { conv9: 'reference' } })).rejects.toThrow(ArgumentError);
    await expect(net.to('wasm', { placement: { conv9: 'reference' } })).rejects.toThrow(/no layer 'conv9'/);
    expect(leafLayers(net).length).toBeGreaterThan(2);
  });
});

describe('validate mode', () => {
  let restore: (() => void) | null = null;
  afterEach(() => {
    restore?.();
    restore = null;
  });

  it('finds a deliberately wrong wasm kernel and names its layer, with both values', async () => {
    const wasm = await getBackend('wasm');
    const original = wasm.kernels.linear as KernelFactory<'linear'>;
    // The test's fault: fc2 (and only fc2) adds 0.5 to its first output.
    const wrong: KernelFactory<'linear'> = (ctx) => {
      const kernel = original(ctx);
      if (ctx.name !== 'fc2') return kernel;
      return {
        ...kernel,
        run(inputs, output, scratch) {
          kernel.run(inputs, output, scratch);
          const view = (wasm.memory.readSync as NonNullable<typeof wasm.memory.readSync>)(output, 1);
          wasm.memory.upload(output, Float32Array.of(view[0] + 0.5));
        },
      };
    };
    wasm.kernels.linear = wrong;
    restore = () => {
      wasm.kernels.linear = original;
    };
    const x = input([2, 3, 32, 32], 3);
    const net = referenceCnn();
    net.eval();
    await net.to('wasm');
    await net.forward(x); // without validate the wrong value goes through unnoticed
    net.releasePlans();
    await net.to('wasm', { validate: true });
    await expect(net.forward(x)).rejects.toThrow(VireoError);
    await expect(net.forward(x)).rejects.toThrow(
      /validate: layer 'fc2' \(Linear\) on 'wasm' differs .* index 0 .*got .*, reference /,
    );
    net.releasePlans();
    // With the right kernel back, the same validated run passes (training too: forward and backward kernels).
    restore();
    restore = null;
    await net.to('wasm', { validate: true });
    await net.forward(x);
    net.train();
    const loss = new nn.CrossEntropyLoss().forward(await net.forward(x), tensor([0, 1]));
    await loss.backward();
    net.releasePlans();
  });
});
