import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { FormatError, Tensor, importOnnx, optim, readSafetensors, writeSafetensors } from '../src/index.js';
import { CrossEntropyLoss } from '../src/train/losses.js';
import { backendsUnderTest } from './helpers/backends.js';
import { graphModel, init } from './helpers/onnx-build.js';
import { randomArray } from './helpers/random.js';

/**
 * Cross-check: PyTorch-exported ONNX models (scripts/make_onnx_fixtures.py) run by vireo on every
 * backend give onnxruntime-node's outputs within 1e-4 (absolute), at batch 1, 2 and 5 (the files have a
 * dynamic batch, so the Shape/Gather/Concat/Reshape chain is folded per batch size), and PyTorch's.
 */
const dir = new URL('./fixtures/onnx/', import.meta.url);
const models = ['reference_cnn', 'resnet_mini', 'mobilenet_mini'];
const bytesOf = (name: string) => new Uint8Array(readFileSync(new URL(`${name}.onnx`, dir)));

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return a.length === b.length ? m : Number.POSITIVE_INFINITY;
}

describe('ONNX import: PyTorch-exported models vs onnxruntime-node', () => {
  for (const name of models) {
    describe(name, () => {
      const oracle = new Map<number, Float32Array>();
      const inputs = new Map<number, Float32Array>();
      beforeAll(async () => {
        const session = await ort.InferenceSession.create(bytesOf(name));
        for (const batch of [1, 2, 5]) {
          const x = randomArray(batch * 3 * 32 * 32, 100 + batch, 1);
          inputs.set(batch, x);
          const r = await session.run({ input: new ort.Tensor('float32', x, [batch, 3, 32, 32]) });
          oracle.set(batch, r.logits.data as Float32Array);
        }
      });
      for (const b of backendsUnderTest) {
        it(`matches onnxruntime on ${b.label}`, async () => {
          const model = await importOnnx(bytesOf(name));
          await model.to(b.name, b.build ? { build: b.build } : {});
          for (const batch of [1, 2, 5]) {
            const x = new Tensor(inputs.get(batch) as Float32Array, [batch, 3, 32, 32]);
            const { logits } = await model.run({ input: x });
            expect(logits.shape).toEqual([batch, 10]);
            const d = maxAbsDiff(logits.dataSync(), oracle.get(batch) as Float32Array);
            expect(d, `${name} batch ${batch} on ${b.label}: max |vireo - onnxruntime| = ${d}`).toBeLessThan(1e-4);
            const viaForward = await model.forward(x);
            expect(maxAbsDiff(viaForward.dataSync(), logits.dataSync())).toBe(0);
          }
          model.releasePlans();
        });
      }
      it('matches the PyTorch outputs saved by the fixture script', async () => {
        const io = readSafetensors(new Uint8Array(readFileSync(new URL(`${name}.io.safetensors`, dir))));
        const x = io.get('__input__') as Tensor;
        const expected = io.get('__output__') as Tensor;
        const model = await importOnnx(bytesOf(name));
        await model.to('wasm');
        const y = await model.forward(x);
        expect(maxAbsDiff(y.dataSync(), expected.dataSync())).toBeLessThan(1e-4);
        model.releasePlans();
      });
    });
  }
});

describe('ONNX import: the imported model as a Module', () => {
  it('names parameters after the initializers and round-trips them through safetensors', async () => {
    const model = await importOnnx(bytesOf('reference_cnn'));
    const names = model.namedParameters().map(([n]) => n);
    expect(names).toEqual([
      'conv1.weight',
      'conv1.bias',
      'conv2.weight',
      'conv2.bias',
      'conv3.weight',
      'conv3.bias',
      'fc1.weight',
      'fc1.bias',
      'fc2.weight',
      'fc2.bias',
      'fc3.weight',
      'fc3.bias',
    ]);
    const torchState = readSafetensors(new Uint8Array(readFileSync(new URL('../reference_cnn.safetensors', dir))));
    const state = model.stateDict();
    for (const [k, t] of torchState) expect(maxAbsDiff(state[k].dataSync(), t.dataSync()), k).toBe(0);
    const back = readSafetensors(writeSafetensors(state));
    expect([...back.keys()]).toEqual(names);
  });

  it('fine-tunes the head with the backbone frozen (resnet_mini: BN, residual adds, shape chain)', async () => {
    const model = await importOnnx(bytesOf('resnet_mini'));
    await model.to('wasm');
    const params = model.namedParameters();
    const head = params.filter(([n]) => n.startsWith('fc.'));
    expect(head.map(([n]) => n)).toEqual(['fc.weight', 'fc.bias']);
    for (const [n, p] of params) if (!n.startsWith('fc.')) p.requiresGrad = false;
    const frozenBefore = params.filter(([n]) => !n.startsWith('fc.')).map(([, p]) => p.values.slice());
    model.train();
    const opt = new optim.Adam(
      head.map(([, p]) => p),
      { lr: 0.05 },
    );
    const lossFn = new CrossEntropyLoss();
    const x = new Tensor(randomArray(8 * 3 * 32 * 32, 5, 1), [8, 3, 32, 32]);
    const target = new Tensor(Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7]), [8], { integer: true });
    const losses: number[] = [];
    for (let step = 0; step < 15; step++) {
      opt.zeroGrad();
      const loss = await lossFn.forward(await model.forward(x), target);
      losses.push((await loss.data())[0]);
      await loss.backward();
      opt.step();
    }
    // Random inputs give near-identical pooled features: the head cannot separate them all, but the loss must fall.
    expect(losses[losses.length - 1]).toBeLessThan(losses[0] - 0.1);
    for (let i = 1; i < losses.length; i++) expect(losses[i]).toBeLessThan(losses[i - 1] + 1e-3);
    params.filter(([n]) => !n.startsWith('fc.')).forEach(([n, p], i) => expect(maxAbsDiff(p.values, frozenBefore[i]), n).toBe(0));
    model.eval();
    const { logits } = await model.run({ input: x });
    expect(maxAbsDiff(logits.dataSync(), (await model.forward(x)).dataSync())).toBe(0);
    model.releasePlans();
  });
});

describe('ONNX import: training the whole imported model', () => {
  it('resnet_mini trains end to end (residual adds as broadcast-free binary nodes, BN in batch-statistics mode)', async () => {
    const model = await importOnnx(bytesOf('resnet_mini'));
    await model.to('wasm');
    model.train();
    const params = model.parameters();
    const before = params.map((p) => p.values.slice());
    const opt = new optim.Adam(params, { lr: 0.01 });
    const lossFn = new CrossEntropyLoss();
    const x = new Tensor(randomArray(8 * 3 * 32 * 32, 6, 1), [8, 3, 32, 32]);
    const target = new Tensor(Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7]), [8], { integer: true });
    const losses: number[] = [];
    for (let step = 0; step < 10; step++) {
      opt.zeroGrad();
      const loss = await lossFn.forward(await model.forward(x), target);
      losses.push((await loss.data())[0]);
      await loss.backward();
      opt.step();
    }
    expect(losses[losses.length - 1]).toBeLessThan(losses[0] * 0.8);
    // Every parameter, first conv included, moved: gradients flow through every residual add.
    params.forEach((p, i) => expect(maxAbsDiff(p.values, before[i])).toBeGreaterThan(0));
    model.releasePlans();
  });

  it('mobilenet_mini trains end to end (depthwise, ReLU6, HardSwish, residual adds)', async () => {
    const model = await importOnnx(bytesOf('mobilenet_mini'));
    await model.to('wasm');
    model.train();
    const params = model.parameters();
    const opt = new optim.Adam(params, { lr: 0.01 });
    const lossFn = new CrossEntropyLoss();
    const x = new Tensor(randomArray(4 * 3 * 32 * 32, 8, 1), [4, 3, 32, 32]);
    const target = new Tensor(Float32Array.from([1, 3, 5, 7]), [4], { integer: true });
    const losses: number[] = [];
    for (let step = 0; step < 10; step++) {
      opt.zeroGrad();
      const loss = await lossFn.forward(await model.forward(x), target);
      losses.push((await loss.data())[0]);
      await loss.backward();
      opt.step();
    }
    expect(losses[losses.length - 1]).toBeLessThan(losses[0] * 0.8);
    model.releasePlans();
  });

  it('a trainable parameter behind a MatMul of two activations (no gradient rule) is refused with the node named', async () => {
    const bytes = graphModel(
      13,
      [3, 4],
      [
        { op_type: 'Gemm', input: ['x', 'w'], output: ['g'], name: 'head' },
        { op_type: 'Transpose', input: ['g'], output: ['t'] },
        { op_type: 'MatMul', input: ['g', 't'], output: ['y'], name: 'gram' },
      ],
      [init('w', [4, 4], Array.from(randomArray(16, 2, 1)))],
    );
    const model = await importOnnx(bytes);
    await model.to('wasm');
    model.train();
    await expect(model.forward(new Tensor(randomArray(12, 1, 1), [3, 4]))).rejects.toThrow(
      /'gram' \(Matmul\): no gradient definition/,
    );
  });
});

describe('ONNX import: malformed files give errors that name the problem', () => {
  const resnet = () => bytesOf('resnet_mini');
  it('truncated', async () => {
    await expect(importOnnx(resnet().subarray(0, 5000))).rejects.toThrow(FormatError);
    await expect(importOnnx(resnet().subarray(0, 5000))).rejects.toThrow(/truncated or corrupt|not an ONNX model/);
  });
  it('not a ModelProto (wrong magic: a safetensors file, a PNG header, empty)', async () => {
    const st = new Uint8Array(readFileSync(new URL('resnet_mini.io.safetensors', dir)));
    await expect(importOnnx(st)).rejects.toThrow(FormatError);
    await expect(importOnnx(Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).rejects.toThrow(FormatError);
    await expect(importOnnx(new Uint8Array())).rejects.toThrow(/empty/);
  });
  it('external data missing, unsupported op, unresolvable shape: each names the node', async () => {
    // Models built here through protobufjs (the same schema importOnnx reads): no test data needed.
    const { buildModel } = await import('./helpers/onnx-build.js');
    await expect(importOnnx(buildModel({ op: 'Conv', externalWeight: true }))).rejects.toThrow(
      /tensor 'W' keeps its data in an external file 'weights.bin'/,
    );
    await expect(importOnnx(buildModel({ op: 'Celu' }))).rejects.toThrow(
      /node 'my_celu' \(Celu\): vireo does not support the ONNX op 'Celu'/,
    );
    await expect(importOnnx(buildModel({ op: 'Reshape', dynamicShape: true }))).rejects.toThrow(
      /node 'my_reshape' \(Reshape\): the target shape \('shape'\) is computed at run time/,
    );
  });
});
