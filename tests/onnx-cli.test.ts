import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../src/cli/main.js';
import { type Tensor, importOnnx, readSafetensors, tensor, writeSafetensors } from '../src/index.js';
import { cifarBytes, idxBytes, mkdir, pattern } from './helpers/data-files.js';
import { attr, buildModel, graphModel, init } from './helpers/onnx-build.js';

const capture = () => {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, out, err };
};
const fixture = (n: string) => new URL(`./fixtures/onnx/${n}.onnx`, import.meta.url).pathname;

describe('vireo import', () => {
  it('writes model.json, weights.safetensors (initializer names) and model.onnx', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vireo-import-'));
    const c = capture();
    expect(await run(['import', fixture('resnet_mini'), '--out', dir, '--json'], c.io)).toBe(0);
    const summary = JSON.parse(c.out[0]);
    expect(summary.ok).toBe(true);
    const meta = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    expect(meta.format).toBe('vireo-onnx');
    expect(meta.opset).toBe(13);
    expect(meta.graph.some((n: { op: string }) => n.op === 'batchNorm2d')).toBe(true);
    const weights = readSafetensors(new Uint8Array(readFileSync(join(dir, 'weights.safetensors'))));
    expect(weights.has('fc.weight')).toBe(true);
    expect(weights.has('bn_out.running_mean')).toBe(true);
    expect(readFileSync(join(dir, 'model.onnx')).length).toBe(readFileSync(fixture('resnet_mini')).length);
  });

  it('reports unsupported ops by op type and node name (exit 1)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vireo-import-'));
    const file = join(dir, 'celu.onnx');
    writeFileSync(file, buildModel({ op: 'Celu' }));
    const c = capture();
    expect(await run(['import', file, '--out', join(dir, 'out')], c.io)).toBe(1);
    expect(c.err.join('\n')).toMatch(/Celu\s+node 'my_celu'/);
  });

  it('bad usage exits 2', async () => {
    const c = capture();
    expect(await run(['import', fixture('resnet_mini')], c.io)).toBe(2);
    expect(c.err.join('\n')).toMatch(/--out DIR is required/);
  });
});

// `vireo predict` / `vireo eval` on directories written by `vireo import`: the oracle is importOnnx + forward
// in-process on the same pixels, with the directory's weights.safetensors loaded.
describe('vireo predict / eval on an imported model', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'vireo-import-run-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const vireo = async (...argv: string[]) => {
    const c = capture();
    const status = await run(argv, c.io);
    return { status, out: c.out, stderr: c.err.join('\n') };
  };
  const classes = ['plane', 'car', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
  const mean = [0.485, 0.456, 0.406];
  const std = [0.229, 0.224, 0.225];

  /** The directory's model as importOnnx gives it, with the directory's weights. */
  async function reference(dir: string) {
    const model = await importOnnx(new Uint8Array(readFileSync(join(dir, 'model.onnx'))));
    model.loadStateDict(readSafetensors(new Uint8Array(readFileSync(join(dir, 'weights.safetensors')))));
    await model.to('wasm');
    model.eval();
    return model;
  }
  /** Planar bytes (C×H×W) → normalized CHW floats. */
  const normalize = (planar: ArrayLike<number>, c: number, norm?: { mean: number[]; std: number[] }) => {
    const plane = planar.length / c;
    return Float32Array.from(planar, (v, i) => {
      const ch = Math.floor(i / plane);
      return norm ? (v / 255 - norm.mean[ch]) / norm.std[ch] : v / 255;
    });
  };
  const softmax = (v: Float32Array) => {
    const m = Math.max(...v);
    const e = Array.from(v, (x) => Math.exp(x - m));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((x) => x / s);
  };
  type Top = { label: string; index: number; probability: number }[];
  /** predict's top list equals the oracle's probabilities, best first. */
  const expectTop = (top: Top, probs: number[], names: string[]) => {
    const order = probs.map((p, i) => [p, i]).sort((a, b) => b[0] - a[0]);
    expect(top.map((t) => t.index)).toEqual(order.slice(0, top.length).map(([, i]) => i));
    for (const t of top) {
      expect(t.label).toBe(names[t.index]);
      expect(t.probability).toBeCloseTo(probs[t.index], 5);
    }
  };
  const logitsOf = async (model: { forward(x: Tensor): Promise<Tensor> }, x: Float32Array, shape: number[]) =>
    (await model.forward(tensor(x, shape))).data();

  // resnet_mini (dynamic batch, 3×32×32, 10 logits) with class names and ImageNet-style normalization,
  // its fc layer then "fine-tuned" (changed in weights.safetensors) so the ONNX file's own weights would differ.
  const resnetDir = join(tmp, 'resnet');
  it('import stores class names, normalization and the input size; predict runs a PNG and a CIFAR file', async () => {
    const r = await vireo(
      'import',
      fixture('resnet_mini'),
      '--out',
      resnetDir,
      '--classes',
      classes.join(','),
      '--mean',
      mean.join(','),
      '--std',
      std.join(','),
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.out.join('\n')).toMatch(/image classifier: 3×32×32 input, normalized with mean 0.485, 0.456, 0.406/);
    const meta = JSON.parse(readFileSync(join(resnetDir, 'model.json'), 'utf8'));
    expect(meta).toMatchObject({ format: 'vireo-onnx', inputShape: [3, 32, 32], classes, normalization: { mean, std } });
    expect(meta.scores).toBe('logits');

    const original = await reference(resnetDir);
    const sd = readSafetensors(new Uint8Array(readFileSync(join(resnetDir, 'weights.safetensors'))));
    const fcw = sd.get('fc.weight') as Tensor;
    const fcb = sd.get('fc.bias') as Tensor;
    sd.set(
      'fc.weight',
      tensor(
        Float32Array.from(await fcw.data(), (v, i) => v * 3 + (i % 7) * 0.01),
        fcw.shape,
      ),
    );
    sd.set(
      'fc.bias',
      tensor(
        Float32Array.from(await fcb.data(), (_, i) => (i - 4) * 0.2),
        fcb.shape,
      ),
    );
    writeFileSync(join(resnetDir, 'weights.safetensors'), writeSafetensors(sd));
    const tuned = await reference(resnetDir);

    // A 32×32 RGB PNG (HWC bytes) and a CIFAR-10 batch of 3 records (planar bytes).
    const hwc = Uint8Array.from({ length: 32 * 32 * 3 }, (_, i) => pattern(7, i * 3 + 1));
    const png = join(tmp, 'picture.png');
    writeFileSync(
      png,
      await sharp(Buffer.from(hwc), { raw: { width: 32, height: 32, channels: 3 } })
        .png()
        .toBuffer(),
    );
    const planar = new Uint8Array(3 * 1024);
    for (let p = 0; p < 1024; p++) for (let c = 0; c < 3; c++) planar[c * 1024 + p] = hwc[p * 3 + c];
    const bin = join(tmp, 'test_batch.bin');
    writeFileSync(bin, cifarBytes([[1], [2], [3]]));

    const p = await vireo('predict', '--model', resnetDir, '--json', '--top', '4', png, bin);
    expect(p.status, p.stderr).toBe(0);
    const lines = p.out.map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.file, l.index])).toEqual([
      [png, undefined],
      [bin, 0],
      [bin, 1],
      [bin, 2],
    ]);
    const norm = { mean, std };
    const pngLogits = await logitsOf(tuned, normalize(planar, 3, norm), [1, 3, 32, 32]);
    expectTop(lines[0].top, softmax(pngLogits), classes);
    // The fine-tuned weights are the ones that ran, not the ONNX file's initializers.
    const untuned = softmax(await logitsOf(original, normalize(planar, 3, norm), [1, 3, 32, 32]));
    expect(Math.abs(untuned[lines[0].top[0].index] - lines[0].top[0].probability)).toBeGreaterThan(1e-3);
    const records = cifarBytes([[1], [2], [3]]);
    for (let r = 0; r < 3; r++) {
      const x = normalize(records.subarray(r * 3073 + 1, (r + 1) * 3073), 3, norm);
      expectTop(lines[1 + r].top, softmax(await logitsOf(tuned, x, [1, 3, 32, 32])), classes);
    }

    // Text output: one line per image, the top class first.
    const t = await vireo('predict', '--model', resnetDir, png, '--top', '2');
    expect(t.status, t.stderr).toBe(0);
    expect(t.out).toHaveLength(1);
    expect(t.out[0]).toMatch(new RegExp(`^${png}: ${lines[0].top[0].label} \\d+\\.\\d%  ${lines[0].top[1].label} `));
  }, 60_000);

  // A colour classifier whose classes spread over the test images: the mean of each channel, normalized,
  // scored against ten directions in the (red, green) plane. GlobalAveragePool → Flatten → Gemm.
  const colourModel = graphModel(
    13,
    ['N', 3, 32, 32],
    [
      { op_type: 'GlobalAveragePool', input: ['x'], output: ['g'] },
      { op_type: 'Flatten', input: ['g'], output: ['f'] },
      { op_type: 'Gemm', input: ['f', 'W', 'b'], output: ['y'], attribute: [attr.i('transB', 1)] },
    ],
    [
      init(
        'W',
        [10, 3],
        Array.from({ length: 10 }, (_, k) => [
          4 * Math.cos((2 * Math.PI * k) / 10),
          4 * Math.sin((2 * Math.PI * k) / 10),
          0,
        ]).flat(),
      ),
      init('b', [10], new Array(10).fill(0)),
    ],
  );

  it('eval measures an imported model on a CIFAR-10 folder (JSON and text)', async () => {
    const file = join(tmp, 'colour.onnx');
    writeFileSync(file, colourModel);
    const dir = join(tmp, 'colour');
    const imported = await vireo(
      'import',
      file,
      '--out',
      dir,
      '--classes',
      classes.join(','),
      '--mean',
      mean.join(','),
      '--std',
      std.join(','),
    );
    expect(imported.status, imported.stderr).toBe(0);

    const data = mkdir(join(tmp, 'cifar'));
    for (let b = 1; b <= 5; b++) writeFileSync(join(data, `data_batch_${b}.bin`), cifarBytes([[b], [b + 1]]));
    // Twelve images of one colour each, around the (red, green) circle; labels that match about half.
    const n = 12;
    const labels = Array.from({ length: n }, (_, i) => [i % 2 === 0 ? Math.round((i * 10) / n) % 10 : (i * 3) % 10]);
    const records = cifarBytes(labels);
    for (let i = 0; i < n; i++) {
      const angle = (2 * Math.PI * i) / n;
      const colour = [128 + 100 * Math.cos(angle), 128 + 100 * Math.sin(angle), 100].map(Math.round);
      for (let c = 0; c < 3; c++) records.fill(colour[c], i * 3073 + 1 + c * 1024, i * 3073 + 1 + (c + 1) * 1024);
    }
    writeFileSync(join(data, 'test_batch.bin'), records);
    const r = await vireo('eval', '--model', dir, '--data', data, '--json', '--batch-size', '5');
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.out[0]);

    const model = await reference(dir);
    const confusion = Array.from({ length: 10 }, () => new Array(10).fill(0));
    const predicted: number[] = [];
    for (let i = 0; i < n; i++) {
      const x = normalize(records.subarray(i * 3073 + 1, (i + 1) * 3073), 3, { mean, std });
      const logits = await logitsOf(model, x, [1, 3, 32, 32]);
      predicted.push(logits.indexOf(Math.max(...logits)));
      confusion[labels[i][0]][predicted[i]]++;
    }
    const correct = predicted.filter((p, i) => p === labels[i][0]).length;
    expect(new Set(predicted).size).toBeGreaterThan(5);
    expect(correct).toBeGreaterThan(0);
    expect(correct).toBeLessThan(n);
    expect(result.images).toBe(n);
    expect(result.confusionMatrix).toEqual(confusion);
    expect(result.accuracy).toBeCloseTo(correct / n, 10);
    expect(result.perClass.map((c: { class: string }) => c.class)).toEqual(classes);

    const text = await vireo('eval', '--model', dir, '--data', data);
    expect(text.status, text.stderr).toBe(0);
    expect(text.out.join('\n')).toMatch(new RegExp(`accuracy ${(correct / n).toFixed(4)}`));
    expect(text.out.join('\n')).toMatch(/^truck\s/m);

    // The resnet_mini directory of the test above runs through eval as well.
    const resnet = await vireo('eval', '--model', resnetDir, '--data', data, '--json');
    expect(resnet.status, resnet.stderr).toBe(0);
    expect(JSON.parse(resnet.out[0]).images).toBe(n);
  }, 60_000);

  // A grayscale model exported with a fixed batch of 1 and a dynamic height and width, ending in Softmax:
  // GlobalAveragePool → Flatten → Gemm (10 classes) → Softmax.
  const grayModel = graphModel(
    13,
    [1, 1, 'height', 'width'],
    [
      { op_type: 'GlobalAveragePool', input: ['x'], output: ['g'] },
      { op_type: 'Flatten', input: ['g'], output: ['f'] },
      { op_type: 'Gemm', input: ['f', 'W', 'b'], output: ['z'], attribute: [attr.i('transB', 1)] },
      { op_type: 'Softmax', input: ['z'], output: ['y'], attribute: [attr.i('axis', 1)] },
    ],
    [
      init(
        'W',
        [10, 1],
        Array.from({ length: 10 }, (_, i) => (i - 4.5) * 2),
      ),
      init(
        'b',
        [10],
        Array.from({ length: 10 }, (_, i) => (i % 3) * 0.5 - 1),
      ),
    ],
  );

  it('a fixed batch of 1 and a dynamic image size: --input-size, index class names, ToTensor only, softmax outputs', async () => {
    const file = join(tmp, 'gray.onnx');
    writeFileSync(file, grayModel);
    const dir = join(tmp, 'gray');
    const bad = await vireo('import', file, '--out', dir);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(
      /input 'x' of .*gray\.onnx has a dynamic height or width \(shape \[1, 1, height, width\]\): pass --input-size H,W/,
    );

    const r = await vireo('import', file, '--out', dir, '--input-size', '28,28');
    expect(r.status, r.stderr).toBe(0);
    const meta = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    expect(meta).toMatchObject({
      inputShape: [1, 28, 28],
      classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
      normalization: null,
      scores: 'probabilities',
    });

    // 5 IDX images of 28×28 (no resize: one batch of 5, run as five batches of 1).
    const n = 5;
    const pixels = Uint8Array.from({ length: n * 784 }, (_, i) => pattern(Math.floor(i / 784) * 5, i % 784));
    const images = join(tmp, 't10k-images-idx3-ubyte');
    writeFileSync(images, idxBytes([n, 28, 28], pixels));
    const p = await vireo('predict', '--model', dir, images, '--json', '--top', '3');
    expect(p.status, p.stderr).toBe(0);
    const model = await reference(dir);
    expect(p.out).toHaveLength(n);
    for (let i = 0; i < n; i++) {
      const line = JSON.parse(p.out[i]);
      expect(line.index).toBe(i);
      const probs = Array.from(await logitsOf(model, normalize(pixels.subarray(i * 784, (i + 1) * 784), 1), [1, 1, 28, 28]));
      expectTop(line.top, probs, meta.classes);
    }

    // eval on an MNIST-style IDX folder: batches of 4 run as batches of 1, the last one padded.
    const data = mkdir(join(tmp, 'idx'));
    const labels = Uint8Array.from({ length: n }, (_, i) => (i * 7) % 10);
    for (const prefix of ['train', 't10k']) {
      writeFileSync(join(data, `${prefix}-images-idx3-ubyte`), idxBytes([n, 28, 28], pixels));
      writeFileSync(join(data, `${prefix}-labels-idx1-ubyte`), idxBytes([n], labels));
    }
    const e = await vireo('eval', '--model', dir, '--data', data, '--json', '--batch-size', '4');
    expect(e.status, e.stderr).toBe(0);
    const result = JSON.parse(e.out[0]);
    let correct = 0;
    for (let i = 0; i < n; i++) {
      const probs = await logitsOf(model, normalize(pixels.subarray(i * 784, (i + 1) * 784), 1), [1, 1, 28, 28]);
      if (probs.indexOf(Math.max(...probs)) === labels[i]) correct++;
    }
    expect(result.images).toBe(n);
    expect(result.accuracy).toBeCloseTo(correct / n, 10);
  }, 60_000);

  it('errors: options that do not fit the model (exit 2), directories that are not a model (exit 1)', async () => {
    const dir = join(tmp, 'errors');
    for (const [argv, message] of [
      [['--classes', 'a,b,c'], /--classes names 3 classes, the model's output 'logits' has 10/],
      [['--mean', '0.5,0.5,0.5'], /give both --mean and --std/],
      [['--mean', '0.5', '--std', '0.2'], /--mean needs 3 values \(one per input channel\), got 1/],
      [['--input-size', '28,28'], /--input-size 28,28: input 'input' of .* has the fixed shape \[batch, 3, 32, 32\]/],
    ] as [string[], RegExp][]) {
      const r = await vireo('import', fixture('resnet_mini'), '--out', dir, ...argv);
      expect(r.status, argv.join(' ')).toBe(2);
      expect(r.stderr, argv.join(' ')).toMatch(message);
    }

    // --classes-file: one name a line (blank lines and surrounding spaces ignored).
    const names = join(tmp, 'names.txt');
    writeFileSync(names, `${classes.map((c) => ` ${c}`).join('\r\n')}\n\n`);
    const f = await vireo('import', fixture('resnet_mini'), '--out', dir, '--classes-file', names);
    expect(f.status, f.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')).classes).toEqual(classes);
    const both = await vireo(
      'import',
      fixture('resnet_mini'),
      '--out',
      dir,
      '--force',
      '--classes-file',
      names,
      '--classes',
      'a',
    );
    expect(both.status).toBe(2);
    expect(both.stderr).toMatch(/give --classes or --classes-file, not both/);

    // A model.json of another format: named, with the two formats eval/predict read.
    const other = mkdir(join(tmp, 'other'));
    writeFileSync(join(other, 'model.json'), JSON.stringify({ format: 'keras', version: 1 }));
    for (const argv of [
      ['predict', '--model', other, fixture('resnet_mini')],
      ['eval', '--model', other],
    ]) {
      const r = await vireo(...argv);
      expect(r.status, argv.join(' ')).toBe(1);
      expect(r.stderr).toContain(`${join(other, 'model.json')}: not a vireo model directory (format "keras"`);
    }

    // An imported directory without its model.onnx.
    expect((await vireo('import', fixture('resnet_mini'), '--out', dir, '--force')).status).toBe(0);
    rmSync(join(dir, 'model.onnx'));
    const png = join(tmp, 'picture.png');
    const m = await vireo('predict', '--model', dir, png);
    expect(m.status).toBe(1);
    expect(m.stderr).toContain(`${join(dir, 'model.onnx')}: missing`);

    // An imported model that is not an image classifier imports, but predict says why it cannot run it.
    const relu = join(tmp, 'relu.onnx');
    writeFileSync(relu, buildModel({ op: 'Relu' }));
    const reluDir = join(tmp, 'relu');
    expect((await vireo('import', relu, '--out', reluDir)).status).toBe(0);
    const q = await vireo('predict', '--model', reluDir, png);
    expect(q.status).toBe(1);
    expect(q.stderr).toMatch(/model\.json: no inputShape: the imported model is not an image classifier/);
    const c = await vireo('import', relu, '--out', reluDir, '--force', '--classes', 'a,b');
    expect(c.status).toBe(2);
    expect(c.stderr).toMatch(/--classes: .*relu\.onnx is not an image classifier/);
  }, 60_000);
});
