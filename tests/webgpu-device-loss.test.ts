// A lost GPU device: an inference call in flight is answered from wasm (the same values wasm gives), and fit
// finishes a run whose device is lost mid-epoch by restoring its last host copy on wasm and re-running the
// steps since it with the same batches — ending where an uninterrupted run that resumed on wasm from that
// copy ends. The loss is simulated by the backend's test hook (a destroy that runs the unexpected-loss path).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DeviceLostError, disposeBackend, fit as fitModel, getBackend, nn, optim, tensor } from '../src/index.js';
import type { WebGpuBackend } from '../src/backends/webgpu/index.js';
import type { Module } from '../src/nn/module.js';
import { smallNet } from './helpers/models.js';
import { expectClose } from './helpers/random.js';
import { webgpuUnderTest } from './helpers/webgpu.js';
import { randomInput as input, twin } from './helpers/twin-models.js';

const batches = Array.from({ length: 4 }, (_, i) => ({
  x: input([2, 3, 16, 16], 40 + i),
  y: tensor([i % 10, (3 * i + 1) % 10]),
}));
const sgd = (net: Module) => new optim.SGD(net.parameters(), { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 });

describe.runIf(webgpuUnderTest)('webgpu device loss', () => {
  afterEach(() => vi.restoreAllMocks());

  it('an inference call in flight is answered from wasm; told once; a later to(webgpu) gets a new device', async () => {
    const [net, ref] = twin(smallNet, { rngState: true });
    await net.to('webgpu');
    await ref.to('wasm');
    net.eval();
    ref.eval();
    const x = input([2, 3, 16, 16], 7);
    const want = await (await ref.forward(x)).data();
    await net.forward(x);
    const gpu = (await getBackend('webgpu')) as WebGpuBackend;
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    // Lose the device once the call's work is submitted: it is waiting on the GPU for its output.
    const submits = gpu.queue.submits;
    const pending = net.forward(x);
    for (let i = 0; i < 10_000 && gpu.queue.submits === submits; i++) await Promise.resolve();
    expect(gpu.queue.submits).toBeGreaterThan(submits);
    gpu.simulateDeviceLoss();
    const got = await (await pending).data();
    expectClose(got, want, 0, 0, 'answered from wasm after the loss');
    expect((await net.currentBackend()).name).toBe('wasm');
    await net.forward(x);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0][0])).toMatch(/device was lost .*continues on wasm/);
    // The lost device is forgotten: asking for webgpu again gets a new one, which works.
    await net.to('webgpu');
    const fresh = (await getBackend('webgpu')) as WebGpuBackend;
    expect(fresh).not.toBe(gpu);
    expect(fresh.deviceLost).toBeNull();
    expectClose(await (await net.forward(x)).data(), want, 1e-4, 1e-4, 'on the new device');
  });

  it('a loss right after the call (work recorded on a dead device) is answered from wasm too', async () => {
    const [net, ref] = twin(smallNet, { rngState: true });
    await net.to('webgpu');
    net.eval();
    ref.eval();
    const x = input([1, 3, 16, 16], 9);
    const want = await (await ref.forward(x)).data();
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    const pending = net.forward(x);
    ((await getBackend('webgpu')) as WebGpuBackend).simulateDeviceLoss();
    expectClose(await (await pending).data(), want, 0, 0, 'answered from wasm');
  });

  it('a device destroyed under vireo (not by its dispose) takes the same path: the device reports the loss itself', async () => {
    const [net, ref] = twin(smallNet, { rngState: true });
    await net.to('webgpu');
    net.eval();
    ref.eval();
    const x = input([1, 3, 16, 16], 11);
    const want = await (await ref.forward(x)).data();
    const gpu = (await getBackend('webgpu')) as WebGpuBackend;
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    gpu.gpu.device.destroy();
    expectClose(await (await net.forward(x)).data(), want, 0, 0, 'answered from wasm');
    expect(gpu.deviceLost).toMatch(/destroyed/);
  });

  it("vireo's own dispose is not a loss", async () => {
    const gpu = (await getBackend('webgpu')) as WebGpuBackend;
    gpu.dispose();
    await expect(gpu.confirmDeviceLost()).resolves.toBe(false);
    expect(gpu.deviceLost).toBeNull();
    await disposeBackend('webgpu');
  });

  for (const everySteps of [0, 2]) {
    it(`fit: lost mid-epoch 2, the run ends as one resumed on wasm from the last host copy (copies every ${everySteps ? `${everySteps} steps` : 'epoch'})`, async () => {
      const [lost, resumed] = twin(smallNet, { rngState: true });
      const loss = new nn.CrossEntropyLoss();
      const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});

      // The run that loses its device after a step of epoch 2 (noticed in the next one's forward).
      const lossAfter = everySteps ? 3 : 2;
      await lost.to('webgpu');
      const gpu = (await getBackend('webgpu')) as WebGpuBackend;
      const history = await fitModel(lost, {
        train: batches,
        epochs: 2,
        optimizer: sgd(lost),
        loss,
        recovery: everySteps ? { everySteps } : {},
        onProgress: (e) => {
          if (e.epoch === 2 && e.step === lossAfter && !gpu.deviceLost) gpu.simulateDeviceLoss();
        },
      });
      expect(warn).toHaveBeenCalledTimes(1);
      expect(history.epochs).toHaveLength(2);
      expect(history.epochs[1].images).toBe(8);
      expect(Number.isFinite(history.epochs[1].loss)).toBe(true);
      expect(history.deviceLosses).toHaveLength(1);
      // Copies every epoch: lost after step 2, back to epoch 2's start, steps 1-3 again; every 2 steps: lost
      // after step 3, back to the copy after step 2, steps 3-4 again.
      expect(history.deviceLosses?.[0]).toMatchObject({
        epoch: 2,
        step: lossAfter + 1,
        restoredAfterStep: everySteps ? 2 : 0,
        replayedSteps: everySteps ? 2 : 3,
      });
      expect((await lost.currentBackend()).name).toBe('wasm');

      // The expected run: the same steps on webgpu up to that copy, then on wasm from it.
      await resumed.to('webgpu');
      const opt = sgd(resumed);
      const upTo = everySteps ? [...batches, ...batches.slice(0, 2)] : batches;
      await fitModel(resumed, { train: upTo, epochs: 1, optimizer: opt, loss });
      await resumed.syncToHost();
      await opt.syncToHost();
      await resumed.to('wasm');
      await fitModel(resumed, { train: everySteps ? batches.slice(2) : batches, epochs: 1, optimizer: opt, loss });

      const got = lost.stateDict();
      const want = resumed.stateDict();
      for (const [k, w] of Object.entries(want)) expectClose(got[k].dataSync(), w.dataSync(), 1e-6, 1e-6, k);
    });
  }

  it('fit with returnToDevice: lost in epoch 1, it finishes that epoch on wasm and goes back to a new device', async () => {
    const [lost, resumed] = twin(smallNet, { rngState: true });
    const loss = new nn.CrossEntropyLoss();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    await lost.to('webgpu');
    const gpu = (await getBackend('webgpu')) as WebGpuBackend;
    const history = await fitModel(lost, {
      train: batches,
      epochs: 3,
      optimizer: sgd(lost),
      loss,
      recovery: { returnToDevice: true },
      onProgress: (e) => {
        if (e.epoch === 1 && e.step === 2 && !gpu.deviceLost) gpu.simulateDeviceLoss();
      },
    });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(history.deviceLosses).toEqual([
      {
        epoch: 1,
        step: 3,
        reason: expect.stringMatching(/simulated/),
        restoredAfterStep: 0,
        replayedSteps: 3,
        returnedAtEpoch: 2,
      },
    ]);
    const fresh = (await lost.currentBackend()) as WebGpuBackend;
    expect(fresh.name).toBe('webgpu');
    expect(fresh).not.toBe(gpu);

    // Expected: epoch 1 on wasm from the start, then epochs 2 and 3 on a GPU.
    await resumed.to('wasm');
    const opt = sgd(resumed);
    await fitModel(resumed, { train: batches, epochs: 1, optimizer: opt, loss });
    await resumed.to('webgpu');
    await fitModel(resumed, { train: batches, epochs: 2, optimizer: opt, loss });
    await lost.syncToHost();
    await resumed.syncToHost();
    const got = lost.stateDict();
    for (const [k, w] of Object.entries(resumed.stateDict())) expectClose(got[k].dataSync(), w.dataSync(), 1e-6, 1e-6, k);
  });

  it('fit with recovery off stops with a DeviceLostError naming the parameters it lost', async () => {
    const net = smallNet();
    await net.to('webgpu');
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    const gpu = (await getBackend('webgpu')) as WebGpuBackend;
    const run = fitModel(net, {
      train: batches,
      epochs: 1,
      optimizer: sgd(net),
      loss: new nn.CrossEntropyLoss(),
      recovery: false,
      onProgress: (e) => {
        if (e.step === 1) gpu.simulateDeviceLoss();
      },
    });
    await expect(run).rejects.toThrow(DeviceLostError);
    await expect(run).rejects.toThrow(/misses the updates since the last sync \(\w+/);
  });
});
