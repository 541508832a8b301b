import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { Graph, VireoError, getBackend, nn, optim, tensor } from '../src/index.js';
import { Plan } from '../src/graph/plan.js';
import { createWebGpuBackend } from '../src/backends/webgpu/index.js';
import type { WebGpuBackend } from '../src/backends/webgpu/index.js';
import { edgeNet, readFixture, smallNet } from './helpers/models.js';
import { expectClose } from './helpers/random.js';
import { webgpuUnderTest } from './helpers/webgpu.js';
import { randomInput as input, twin } from './helpers/twin-models.js';
import { type OpCase, caseInputs, caseParams, runCaseAsync } from './helpers/single-op.js';
import { noActivation } from '../src/ops/types.js';

const run = promisify(execFile);

describe.runIf(webgpuUnderTest)('webgpu backend (SwiftShader in CI: correctness on small shapes)', () => {
  let gpu: WebGpuBackend;
  beforeAll(async () => {
    gpu = (await getBackend('webgpu')) as WebGpuBackend;
  });

  it('reports its adapter, features and the limits it uses', () => {
    const info = gpu.info();
    expect(info.name).toBe('webgpu');
    expect(typeof info.adapter?.description).toBe('string');
    expect(info.limits?.minStorageBufferOffsetAlignment).toBeGreaterThan(0);
    expect(gpu.memory.alignment % (info.limits?.minStorageBufferOffsetAlignment ?? 1)).toBe(0);
    expect(gpu.memory.readSync).toBeUndefined();
  });

  it('has a kernel for every op the wasm backend has, forward and backward (no node falls back to wasm)', async () => {
    const wasm = await getBackend('wasm');
    const missing = Object.keys(wasm.kernels).filter((op) => typeof gpu.kernels[op as never] !== 'function');
    expect(missing).toEqual([]);
  });

  it('memory: upload, copy, fill and download round-trip at aligned offsets', async () => {
    const m = gpu.memory;
    const a = m.alloc(40);
    const b = m.alloc(40);
    expect(a % m.alignment).toBe(0);
    expect(b % m.alignment).toBe(0);
    m.upload(
      a,
      Float32Array.from({ length: 10 }, (_, i) => i + 0.5),
    );
    m.copy(a, b, 24);
    m.fill(b + 24, 4, -2);
    const got = Array.from(await m.download(b, 10));
    expect(got).toEqual([0.5, 1.5, 2.5, 3.5, 4.5, 5.5, -2, -2, -2, -2]);
    m.free(a);
    m.free(b);
  });

  for (const [name, build, shape] of [
    ['small_net (BatchNorm, residual adds, depthwise, avg/max/adaptive pooling)', smallNet, [2, 3, 16, 16]],
    ['edge_net (dilation, groups, asymmetric kernels, tanh/sigmoid/leaky, softmax)', edgeNet, [2, 3, 12, 11]],
  ] as const) {
    it(`${name}: eval forward matches wasm`, async () => {
      const [onGpu, onWasm] = twin(build);
      await onGpu.to('webgpu');
      await onWasm.to('wasm');
      onGpu.eval();
      onWasm.eval();
      const x = input([...shape], 5);
      const want = await (await onWasm.forward(x)).data();
      const got = await (await onGpu.forward(x)).data();
      expectClose(got, want, 1e-5, 1e-4, `${name} on webgpu`);
      // A second run replays the same plan (bind groups and uniforms built once).
      expectClose(await (await onGpu.forward(x)).data(), want, 1e-5, 1e-4, `${name} on webgpu, second run`);
    });
  }

  it('PyTorch parity: small_net eval output from the committed fixture', async () => {
    const net = smallNet();
    net.loadStateDict(readFixture('small_net.safetensors').tensors);
    net.eval();
    await net.to('webgpu');
    const io = readFixture('small_net.io.safetensors').tensors;
    const x = io.get('__input__');
    const want = io.get('__output__');
    if (!x || !want) throw new Error('fixture lacks __input__/__output__');
    expectClose(await (await net.forward(x)).data(), want.dataSync(), 1e-4, 1e-3, 'small_net on webgpu vs PyTorch');
  });

  it('a placement across webgpu and wasm copies both ways and matches wasm alone', async () => {
    const [mixed, onWasm] = twin(smallNet);
    await mixed.to('webgpu', { placement: { pool: 'wasm', smooth: 'wasm' } });
    await onWasm.to('wasm');
    mixed.eval();
    onWasm.eval();
    const x = input([1, 3, 16, 16], 9);
    const got = await (await mixed.forward(x)).data();
    expectClose(got, await (await onWasm.forward(x)).data(), 1e-5, 1e-4, 'webgpu/wasm placement');
    const plan = await mixed.plan([1, 3, 16, 16]);
    const copies = plan.placement.filter((s) => s.kind === 'copy').map((s) => s.backend);
    expect(copies).toContain('webgpu→wasm');
    expect(copies).toContain('wasm→webgpu');
  });

  it('trains: SGD with momentum then Adam steps match wasm within float32 tolerance', async () => {
    const [onGpu, onWasm] = twin(smallNet);
    await onGpu.to('webgpu');
    await onWasm.to('wasm');
    const x = input([4, 3, 16, 16], 21);
    const labels = tensor([1, 7, 3, 0]);
    const losses: number[][] = [];
    for (const net of [onGpu, onWasm]) {
      net.train();
      for (const [, child] of net.namedChildren()) if (child instanceof nn.Dropout) child.eval();
      const criterion = new nn.CrossEntropyLoss();
      const sgd = new optim.SGD(net.parameters(), { lr: 0.05, momentum: 0.9, weightDecay: 5e-4, nesterov: true });
      const adam = new optim.Adam(net.parameters(), { lr: 1e-3, weightDecay: 1e-2, decoupled: true });
      const mine: number[] = [];
      for (let step = 0; step < 5; step++) {
        const opt = step < 3 ? sgd : adam;
        opt.zeroGrad();
        const loss = criterion.forward(await net.forward(x), labels);
        await loss.backward();
        opt.step();
        mine.push((await loss.data())[0]);
      }
      losses.push(mine);
      // State on a GPU cannot be parked on the host synchronously: the error says what to await.
      if (net === onGpu) expect(() => adam.dispose()).toThrow(/syncToHost/);
      await sgd.disposeAsync();
      await adam.disposeAsync();
    }
    expect(losses[0][4]).toBeLessThan(losses[0][0]);
    expectClose(Float32Array.from(losses[0]), Float32Array.from(losses[1]), 1e-4, 1e-3, 'losses webgpu vs wasm');
    // Parameters trained on the GPU reach the host only through an explicit sync.
    expect(() => onGpu.stateDict()).toThrow(/syncToHost/);
    await onGpu.syncToHost();
    const got = onGpu.stateDict();
    const want = onWasm.stateDict();
    for (const [k, w] of Object.entries(want)) expectClose(got[k].dataSync(), w.dataSync(), 1e-4, 1e-3, `${k} after 5 steps`);
  });

  it('a warm run replays the plan: no allocation, one submit per run (kernels and readback together)', async () => {
    const net = smallNet();
    await net.to('webgpu');
    net.eval();
    const x = input([1, 3, 16, 16], 3);
    await net.forward(x);
    const high = gpu.memory.highWater;
    const inUse = gpu.memory.bytesInUse;
    const submits = gpu.queue.submits;
    for (let i = 0; i < 3; i++) await net.forward(x);
    expect(gpu.memory.highWater).toBe(high);
    expect(gpu.memory.bytesInUse).toBe(inUse);
    // Per run: the input upload flushes nothing pending; the kernels and the output's copy to staging go in one submit.
    expect(gpu.queue.submits - submits).toBeLessThanOrEqual(3 * 1);
    await net.syncToHost();
    net.releasePlans();
  });

  it('a warm training step submits a handful of times, not once per parameter (SGD and Adam)', async () => {
    const net = smallNet();
    const params = net.parameters().length;
    expect(params).toBeGreaterThan(12);
    await net.to('webgpu');
    net.train();
    const x = input([2, 3, 16, 16], 5);
    const labels = tensor([1, 3]);
    const criterion = new nn.CrossEntropyLoss();
    for (const opt of [
      new optim.SGD(net.parameters(), { lr: 0.01, momentum: 0.9, weightDecay: 1e-4 }),
      new optim.Adam(net.parameters(), { lr: 1e-3 }),
    ]) {
      const step = async () => {
        opt.zeroGrad();
        const loss = criterion.forward(await net.forward(x), labels);
        await loss.backward();
        opt.step();
        await loss.data();
      };
      await step(); // cold: plans, pipelines, optimizer state
      await step();
      const before = gpu.queue.submits;
      const steps = 3;
      for (let i = 0; i < steps; i++) await step();
      const perStep = (gpu.queue.submits - before) / steps;
      // Forward (kernels + loss readback), backward, the update: each phase is one batch; Adam's step size
      // changes every step but lives in each parameter's own uniform buffer, written without a flush.
      expect(perStep, `${opt.constructor.name}: submits per warm step with ${params} parameters`).toBeLessThanOrEqual(4);
      await opt.disposeAsync();
    }
    await net.syncToHost();
    net.releasePlans();
  });

  it('split-K GEMMs reduce in a fixed order: the same inputs give the same bits, run after run', async () => {
    // fc1-like at batch 1 (one row, K split into many slices) and a weight gradient with a long K.
    const cases: OpCase[] = [
      {
        name: 'split linear',
        op: 'linear',
        attrs: { inFeatures: 2000, outFeatures: 70, bias: true, activation: noActivation },
        inputs: [[1, 2000]],
      },
      {
        name: 'split linear grad weight',
        op: 'linearGradWeight',
        attrs: { inFeatures: 9, outFeatures: 6, bias: true, activation: noActivation },
        inputs: [
          [300, 6],
          [300, 9],
        ],
      },
    ];
    for (const c of cases) {
      const params = caseParams(c);
      const inputs = caseInputs(c);
      const first = await runCaseAsync(c, gpu, params, inputs);
      for (let i = 0; i < 2; i++)
        expect(Array.from(await runCaseAsync(c, gpu, params, inputs)), c.name).toEqual(Array.from(first));
    }
  });

  it('clipGradNorm on a GPU says why it cannot, instead of stalling', async () => {
    const net = new nn.Sequential({ fc: new nn.Linear(3, 2) });
    await net.to('webgpu');
    net.train();
    const loss = new nn.CrossEntropyLoss().forward(await net.forward(input([2, 3], 1)), tensor([0, 1]));
    await loss.backward();
    const { clipGradNorm } = await import('../src/index.js');
    expect(() => clipGradNorm(net.parameters(), 1)).toThrow(VireoError);
  });

  it('a model with Dropout on net.to(webgpu) places every node on webgpu, in training and eval', async () => {
    const build = () =>
      new nn.Sequential({ fc: new nn.Linear(6, 5), act: new nn.ReLU(), drop: new nn.Dropout(0.5), out: new nn.Linear(5, 3) });
    const [onGpu, onWasm] = twin(build);
    await onGpu.to('webgpu');
    await onWasm.to('wasm');
    const x = input([4, 6], 2);
    onGpu.train();
    const y = await onGpu.forward(x);
    await y.backward(new Float32Array(12).fill(1));
    const plan = await onGpu.trainPlan([4, 6]);
    const kernels = plan.placement.filter((s) => s.kind === 'kernel');
    expect(kernels.filter((s) => s.backend !== 'webgpu').map((s) => `${s.name}: ${s.op}@${s.backend}`)).toEqual([]);
    expect(plan.placement.filter((s) => s.kind === 'copy')).toEqual([]);
    // Training lowers dropout to a mask and a multiply (forward and backward), all three on the GPU.
    const drop = kernels.filter((s) => s.name === 'drop');
    expect(drop.map((s) => `${s.op}@${s.backend}`).sort()).toEqual(['dropoutMask@webgpu', 'mul@webgpu', 'mul@webgpu']);
    onGpu.eval();
    onWasm.eval();
    expectClose(await (await onGpu.forward(x)).data(), await (await onWasm.forward(x)).data(), 1e-5, 1e-4, 'eval');
  });

  it('a plan placed on webgpu by hand with an op it lacks names the layer and the op', () => {
    // Every op has a webgpu kernel now: a backend without the dropout kernel stands for a future op without one.
    const { dropout: _, ...kernels } = gpu.kernels;
    const lacking = { ...gpu, kernels };
    const g = new Graph();
    const v = g.addInput();
    g.outputs = [g.addNode('dropout', 'drop', { p: 0.5, training: true, seed: 1 }, [v], {})];
    expect(() => new Plan(g, [[2, 3]], lacking)).toThrow(/drop.*webgpu.*dropout/i);
  });

  it('a bad VIREO_WEBGPU_ADAPTER is a VireoError naming the variable', async () => {
    const before = process.env.VIREO_WEBGPU_ADAPTER;
    process.env.VIREO_WEBGPU_ADAPTER = 'fastest';
    try {
      await expect(createWebGpuBackend()).rejects.toThrow(/VIREO_WEBGPU_ADAPTER='fastest'/);
    } finally {
      if (before === undefined) delete process.env.VIREO_WEBGPU_ADAPTER;
      else process.env.VIREO_WEBGPU_ADAPTER = before;
    }
  });

  it('no adapter (no Vulkan driver) is a VireoError that says what to do, answered at once', async () => {
    const env = { ...process.env, VK_ICD_FILENAMES: '/nonexistent/icd.json', VK_DRIVER_FILES: '/nonexistent/icd.json' };
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'tests/helpers/webgpu-no-adapter-child.ts'], {
      env,
      timeout: 60_000,
      killSignal: 'SIGKILL',
    });
    expect(stdout).toMatch(/^VireoError: webgpu: no adapter .*VK_ICD_FILENAMES/);
  });

  it('a process that used webgpu exits on its own, with and without disposeBackend', async () => {
    for (const arg of ['', 'dispose']) {
      const { stdout } = await run(process.execPath, ['--import', 'tsx', 'tests/helpers/webgpu-exit-child.ts', arg], {
        timeout: 60_000,
        killSignal: 'SIGKILL',
      });
      expect(stdout).toContain('3 values');
    }
  });
});

describe.runIf(webgpuUnderTest)('webgpu and auto placement', () => {
  it('webgpu is registered, and auto takes it as a candidate when an adapter exists (wasm first: the warm start)', async () => {
    const { backendNames, nn } = await import('../src/index.js');
    expect(backendNames()).toContain('webgpu');
    const net = new nn.Sequential({ fc: new nn.Linear(2, 2) });
    await net.to('auto');
    expect((await net.compiledModel()).auto?.candidates.map((b) => b.name)).toEqual(['wasm', 'webgpu']);
    net.releasePlans();
  });
});
