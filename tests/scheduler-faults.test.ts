import { describe, expect, it } from 'vitest';
import { BackendFault, nn, tensor } from '../src/index.js';
import type { Backend, KernelFactory } from '../src/backends/backend.js';
import { createReferenceBackend } from '../src/backends/reference/index.js';
import { registerBackend } from '../src/backends/registry.js';
import { expectClose, randomArray } from './helpers/random.js';

// A candidate that fails mid-run (a lost device, a broken kernel) leaves `auto`'s candidates; the call in
// flight — or the training step's backward — is answered by the rest. 'flaky' is the reference backend with
// kernels that throw once `broken` names them.
const broken = new Set<string>();
function flakyBackend(): Backend {
  const base = createReferenceBackend();
  const fail =
    <K extends 'conv2d' | 'conv2dGradWeight'>(op: K): KernelFactory<K> =>
    (ctx) => {
      const kernel = (base.kernels[op] as KernelFactory<K>)(ctx);
      return {
        ...kernel,
        run(inputs, output, scratch) {
          if (broken.has(op)) throw new Error('device lost');
          kernel.run(inputs, output, scratch);
        },
      };
    };
  return {
    ...base,
    name: 'flaky',
    kernels: { ...base.kernels, conv2d: fail('conv2d'), conv2dGradWeight: fail('conv2dGradWeight') },
  };
}
registerBackend('flaky', async () => flakyBackend());

const tiny = () =>
  new nn.Sequential({
    conv: new nn.Conv2d(3, 4, 3, { padding: 1 }),
    relu: new nn.ReLU(),
    flatten: new nn.Flatten(),
    fc: new nn.Linear(4 * 6 * 6, 3),
  });

describe('auto placement when a candidate fails', () => {
  it('answers the call in flight on the remaining candidates and drops the failed one', async () => {
    process.env.VIREO_CALIBRATION_CACHE = 'off';
    const x = tensor(randomArray(2 * 3 * 6 * 6, 5, 1), [2, 3, 6, 6]);
    const net = tiny();
    net.eval();
    const wasmOnly = tiny();
    wasmOnly.loadStateDict(net.stateDict());
    wasmOnly.eval();
    await wasmOnly.to('wasm');
    const want = await (await wasmOnly.forward(x)).data();

    await net.to('auto', { candidates: ['flaky', 'wasm'] });
    broken.add('conv2d');
    const got = await (await net.forward(x)).data(); // the first call runs on 'flaky', which fails
    broken.clear();
    expect(Array.from(got)).toEqual(Array.from(want));
    const compiled = await net.compiledModel();
    expect(compiled.auto?.candidates.map((b) => b.name)).toEqual(['wasm']);
    expect(compiled.faults).toEqual([{ backend: 'flaky', layer: 'conv', message: expect.stringMatching(/device lost/) }]);
    net.releasePlans();
    wasmOnly.releasePlans();
  });

  it('loses no training step: a backward that fails is run again, forward included, on the rest', async () => {
    const x = tensor(randomArray(2 * 3 * 6 * 6, 6, 1), [2, 3, 6, 6]);
    const labels = tensor([0, 2]);
    const net = tiny();
    const wasmOnly = tiny();
    wasmOnly.loadStateDict(net.stateDict());
    await wasmOnly.to('wasm');
    const loss = new nn.CrossEntropyLoss();
    await loss.forward(await wasmOnly.forward(x), labels).backward();

    await net.to('auto', { candidates: ['flaky', 'wasm'] });
    broken.add('conv2dGradWeight');
    await loss.forward(await net.forward(x), labels).backward();
    broken.clear();
    // The loss gradient came from the failed candidate's forward (the reference's logits), so equal within float32.
    const grads = new Map(wasmOnly.namedParameters().map(([k, p]) => [k, p.grad]));
    for (const [k, p] of net.namedParameters()) expectClose(p.grad as Float32Array, grads.get(k) as Float32Array, 1e-6, 1e-4, k);
    expect((await net.compiledModel()).faults.map((f) => f.backend)).toEqual(['flaky']);
    net.releasePlans();
    wasmOnly.releasePlans();
  });

  it('a fault with nothing left to fall back to reaches the caller as a BackendFault naming backend and layer', async () => {
    const net = tiny();
    net.eval();
    await net.to('flaky');
    broken.add('conv2d');
    await expect(net.forward(tensor(randomArray(3 * 36, 7, 1), [1, 3, 6, 6]))).rejects.toThrow(BackendFault);
    await expect(net.forward(tensor(randomArray(3 * 36, 7, 1), [1, 3, 6, 6]))).rejects.toThrow(
      /backend 'flaky' failed in layer 'conv': device lost/,
    );
    broken.clear();
    net.releasePlans();
  });
});
