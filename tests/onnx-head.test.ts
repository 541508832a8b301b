// onnxWithNewHead: a pretrained ONNX network's classifier replaced by a new linear layer. The oracle is
// PyTorch's own output saved by scripts/make_onnx_fixtures.py: given the old classifier's weights, the new
// head must give PyTorch's logits, so the cut, the kept nodes and the flattening are all checked against it.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ArgumentError,
  CrossEntropyLoss,
  FormatError,
  type Tensor,
  importOnnx,
  manualSeed,
  onnxWithNewHead,
  optim,
  readSafetensors,
  tensor,
} from '../src/index.js';
import { decodeOnnx } from '../src/io/onnx/decode.js';

const dir = new URL('./fixtures/onnx/', import.meta.url);
const bytesOf = (name: string) => new Uint8Array(readFileSync(new URL(`${name}.onnx`, dir)));
const io = (name: string) => readSafetensors(new Uint8Array(readFileSync(new URL(`${name}.io.safetensors`, dir))));

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

/** The new model with the old classifier's weights as its head: PyTorch's outputs for the fixture's input. */
async function withOldClassifier(name: string, oldWeight: string, oldBias: string, features?: string) {
  const original = await importOnnx(bytesOf(name));
  const old = original.stateDict();
  const head = await onnxWithNewHead(bytesOf(name), { classes: 10, ...(features ? { features } : {}) });
  const model = await importOnnx(head.bytes);
  const state = model.stateDict();
  state[head.weight] = old[oldWeight];
  state[head.bias] = old[oldBias];
  model.loadStateDict(state);
  const { __input__: x, __output__: expected } = Object.fromEntries(io(name));
  const y = await model.forward(x);
  return { head, model, diff: maxAbsDiff(y.dataSync(), expected.dataSync()) };
}

describe('onnxWithNewHead', () => {
  it("cuts a MobileNet-style network at its classifier's input and gives PyTorch's outputs with the old weights", async () => {
    const { head, model, diff } = await withOldClassifier('mobilenet_mini', 'classifier.2.weight', 'classifier.2.bias');
    expect(head.features).toBe('/classifier/classifier.0/Flatten_output_0');
    expect(head.dropped).toEqual(['/classifier/classifier.2/Gemm']);
    expect(head.output).toBe('logits'); // the old output's name is free again
    expect(diff).toBeLessThan(1e-4);
    // The old classifier's parameters are gone; the head's are last.
    const names = model.namedParameters().map(([n]) => n);
    expect(names.filter((n) => n.startsWith('classifier.'))).toEqual([]);
    expect(names.slice(-2)).toEqual(['head.weight', 'head.bias']);
  });

  it('keeps the dynamic-batch Reshape chain of a ResNet-style network (batch 2 through a batch-symbolic graph)', async () => {
    const { head, diff } = await withOldClassifier('resnet_mini', 'fc.weight', 'fc.bias');
    expect(head.features).toBe('/Reshape_output_0');
    expect(diff).toBeLessThan(1e-4);
    const proto = decodeOnnx(head.bytes);
    expect(proto.inputs[0].dims).toEqual(['batch', 3, 32, 32]);
    expect(proto.outputs).toEqual([{ name: 'logits', dims: ['batch', 10], elemType: 1 }]);
  });

  it('flattens features that are not [N, F] (a head on the pooled maps), leaving out the nodes only the old head used', async () => {
    const { head, diff } = await withOldClassifier('resnet_mini', 'fc.weight', 'fc.bias', '/pool/GlobalAveragePool_output_0');
    expect(diff).toBeLessThan(1e-4);
    const ops = decodeOnnx(head.bytes).nodes.map((n) => n.opType);
    expect(ops.slice(-3)).toEqual(['GlobalAveragePool', 'Flatten', 'Gemm']);
    // The Shape/Gather/Concat/Reshape chain fed only the old classifier.
    expect(ops).not.toContain('Reshape');
    expect(head.dropped).toContain('/Reshape');
  });

  it('initializes the head like nn.Linear from the seeded generator, and training moves only the head', async () => {
    manualSeed(5);
    const a = await onnxWithNewHead(bytesOf('mobilenet_mini'), { classes: 3 });
    manualSeed(5);
    const b = await onnxWithNewHead(bytesOf('mobilenet_mini'), { classes: 3 });
    expect(a.bytes).toEqual(b.bytes);
    const model = await importOnnx(a.bytes);
    const w = model.stateDict()[a.weight];
    expect(w.shape).toEqual([3, a.featureCount]);
    const bound = 1 / Math.sqrt(a.featureCount);
    expect(Math.max(...w.dataSync().map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...w.dataSync().map(Math.abs))).toBeGreaterThan(bound / 2);

    const before = new Map(Object.entries(model.stateDict()).map(([k, t]) => [k, Array.from(t.dataSync())]));
    for (const [name, p] of model.namedParameters()) p.requiresGrad = name === a.weight || name === a.bias;
    model.train();
    const x = io('mobilenet_mini').get('__input__') as Tensor;
    const y = tensor(Float32Array.from([0, 2]), [2], { integer: true });
    const opt = new optim.SGD(
      model.parameters().filter((p) => p.requiresGrad),
      { lr: 0.5 },
    );
    const losses: number[] = [];
    for (let step = 0; step < 4; step++) {
      opt.zeroGrad();
      const loss = new CrossEntropyLoss().forward(await model.forward(x), y);
      losses.push((await loss.data())[0]);
      await loss.backward();
      opt.step();
    }
    expect(losses.at(-1)).toBeLessThan(losses[0]);
    for (const [k, t] of Object.entries(model.stateDict())) {
      if (k === a.weight || k === a.bias) expect(Array.from(t.dataSync()), k).not.toEqual(before.get(k));
      else expect(Array.from(t.dataSync()), k).toEqual(before.get(k));
    }
  });

  it('says what is wrong: not ONNX, an unknown features value, no classes', async () => {
    await expect(onnxWithNewHead(new TextEncoder().encode('not a model at all'), { classes: 2 })).rejects.toThrow(FormatError);
    await expect(onnxWithNewHead(bytesOf('resnet_mini'), { classes: 2, features: 'nope' })).rejects.toThrow(
      /no node of the model makes the value 'nope'/,
    );
    await expect(onnxWithNewHead(bytesOf('resnet_mini'), { classes: 0 })).rejects.toThrow(ArgumentError);
  });
});
