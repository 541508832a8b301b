import { execFileSync } from 'node:child_process';
import { runAsync } from './helpers/run-async.js';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Io } from '../src/cli/args.js';
import { run } from '../src/cli/main.js';
import { Random, Tensor, importOnnx, optim, readSafetensors } from '../src/index.js';
import type { Parameter } from '../src/core/parameter.js';
import { CrossEntropyLoss } from '../src/train/losses.js';
import { backendsUnderTest } from './helpers/backends.js';
import { randomArray } from './helpers/random.js';

/**
 * Training through the new ops of imported torchvision classifiers. A full training step (every parameter
 * trainable) gives PyTorch's gradients on MobileNetV3 (HardSigmoid/HardSwish, the squeeze-excitation gate:
 * a broadcast Mul of two activations), ConvNeXt (LayerNormalization, GELU as Erf, channels-last Transpose,
 * MatMul), ShuffleNetV2 (Slice, channel shuffle) and MNASNet (ReduceMean), on every backend: the script
 * folds batch norms into the convolutions first, so torch's eval-mode function is the one vireo trains.
 * Parameters are matched by value (ONNX renames some, and stores MatMul weights transposed).
 */
const PYTHON = '/usr/bin/python3';
const GRAD_MODELS = ['mobilenet_v3_small_o13', 'convnext_mini_o17', 'shufflenet_v2_x0_5_o13', 'mnasnet0_5_o13'];

function missingTorchvision(): string | null {
  if (!existsSync(PYTHON)) return `${PYTHON} is absent`;
  try {
    execFileSync(PYTHON, ['-c', 'import torchvision, onnx'], { stdio: 'pipe' });
    return null;
  } catch {
    return 'python3-torchvision (or python3-onnx) is not installed';
  }
}
const missing = missingTorchvision();

function sameValues(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function transpose2d(t: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(t.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = t[r * cols + c];
  return out;
}

/** max |a − b| / max |b|: the gradient error relative to the tensor's largest entry. */
function relErr(a: Float32Array, b: Float32Array): number {
  let m = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    m = Math.max(m, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return s === 0 ? m : m / s;
}

describe.skipIf(missing !== null)(`imported torchvision classifiers train${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let dir = '';
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vireo-tvg-'));
    const env = { ...process.env, OMP_NUM_THREADS: '1' };
    await runAsync(PYTHON, ['scripts/make_torchvision_onnx.py', '--grads', dir, ...GRAD_MODELS], env);
    await runAsync(PYTHON, ['scripts/make_torchvision_onnx.py', dir, 'mobilenet_v3_small_o13'], env);
  }, 240_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const name of GRAD_MODELS) {
    for (const b of backendsUnderTest) {
      it(`${name}: one training step gives PyTorch's gradients on ${b.label}`, async () => {
        const io = readSafetensors(new Uint8Array(readFileSync(join(dir, `${name}.grads.safetensors`))));
        const x = io.get('__input__') as Tensor;
        const target = new Tensor((io.get('__target__') as Tensor).dataSync().slice(), [2], { integer: true });
        const torchParams = [...io.keys()].filter((k) => k.startsWith('param:')).map((k) => k.slice(6));
        const model = await importOnnx(new Uint8Array(readFileSync(join(dir, `${name}.grad.onnx`))));
        await model.to(b.name, b.build ? { build: b.build } : {});
        model.train();
        const loss = await new CrossEntropyLoss().forward(await model.forward(x), target);
        await loss.backward();
        let compared = 0;
        const trainable = model.namedParameters().filter(([, p]) => p.requiresGrad);
        for (const [vname, p] of trainable as [string, Parameter][]) {
          const values = p.values;
          let grad: Float32Array | null = null;
          for (const tname of torchParams) {
            const tp = io.get(`param:${tname}`) as Tensor;
            const tv = tp.dataSync();
            const tg = (io.get(`grad:${tname}`) as Tensor).dataSync();
            if (sameValues(values, tv)) grad = tg;
            else if (tp.shape.length === 2 && sameValues(values, transpose2d(tv, tp.shape[0], tp.shape[1])))
              grad = transpose2d(tg, tp.shape[0], tp.shape[1]);
            if (grad) break;
          }
          expect(grad, `${vname}: no PyTorch parameter with its values`).not.toBeNull();
          const g = p.grad;
          expect(g, `${vname} has a gradient`).not.toBeNull();
          const err = relErr(g as Float32Array, grad as Float32Array);
          // Measured: ≤ 7e-5 (MNASNet on reference), ≤ 1.2e-5 on the others, every backend.
          expect(err, `${name} ${vname} on ${b.label}: max |dL/dp − torch| / max |torch|`).toBeLessThan(1e-3);
          compared++;
        }
        expect(compared).toBe(torchParams.length);
        model.releasePlans();
      }, 120_000);
    }
  }

  it('mobilenet_v3_small fine-tunes its head with the backbone frozen: loss falls, accuracy above chance', async () => {
    const model = await importOnnx(new Uint8Array(readFileSync(join(dir, 'mobilenet_v3_small_o13.onnx'))));
    await model.to('wasm');
    const params = model.namedParameters();
    const headNames = params.map(([n]) => n).filter((n) => n.startsWith('classifier.3.'));
    expect(headNames).toEqual(['classifier.3.weight', 'classifier.3.bias']);
    for (const [n, p] of params) p.requiresGrad = headNames.includes(n);
    model.train();
    // Four classes told apart by a colour cast over noise (what a backbone's pooled features keep).
    const batch = 16;
    const size = 64;
    const cast = [
      [0.8, 0, 0],
      [0, 0.8, 0],
      [0, 0, 0.8],
      [-0.8, -0.8, -0.8],
    ];
    const x = randomArray(batch * 3 * size * size, 9, 0.5);
    const labels = Array.from({ length: batch }, (_, i) => i % 4);
    for (let i = 0; i < batch; i++)
      for (let c = 0; c < 3; c++) for (let k = 0; k < size * size; k++) x[(i * 3 + c) * size * size + k] += cast[labels[i]][c];
    const input = new Tensor(x, [batch, 3, size, size]);
    const target = new Tensor(Float32Array.from(labels), [batch], { integer: true });
    const opt = new optim.Adam(
      params.filter(([n]) => headNames.includes(n)).map(([, p]) => p),
      { lr: 0.01 },
    );
    const lossFn = new CrossEntropyLoss();
    const losses: number[] = [];
    for (let step = 0; step < 25; step++) {
      opt.zeroGrad();
      const loss = await lossFn.forward(await model.forward(input), target);
      losses.push((await loss.data())[0]);
      await loss.backward();
      opt.step();
    }
    expect(losses[losses.length - 1]).toBeLessThan(losses[0] * 0.7);
    model.eval();
    const logits = (await model.forward(input)).dataSync();
    let correct = 0;
    for (let i = 0; i < batch; i++) {
      const row = Array.from(logits.subarray(i * 10, i * 10 + 10));
      if (row.indexOf(Math.max(...row)) === labels[i]) correct++;
    }
    expect(correct / batch, 'training accuracy (chance: 0.25)').toBeGreaterThan(0.5);
    model.releasePlans();
  }, 120_000);

  it('vireo train --model DIR fine-tunes a `vireo import` directory (--freeze-backbone) that predict and eval run', async () => {
    const cli = async (...argv: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const io: Io = { out: (l) => out.push(l), err: (l) => err.push(l) };
      const status = await run(argv, io);
      return { status, stdout: out.join('\n'), stderr: err.join('\n'), lines: out };
    };
    const imported = join(dir, 'imported');
    const classes = Array.from({ length: 10 }, (_, i) => `c${i}`);
    const imp = await cli('import', join(dir, 'mobilenet_v3_small_o13.onnx'), '--out', imported, '--classes', classes.join(','));
    expect(imp.status, imp.stderr).toBe(0);
    // Ten classes, each a colour over noise, 64×64 (the model's input size, taken from the directory).
    const images = join(dir, 'images');
    const rng = new Random(4);
    for (let k = 0; k < 10; k++) {
      const colour = [k & 1, (k >> 1) & 1, (k >> 2) & 1].map((b, c) => (b ? 200 : 40) + (k >= 8 ? 30 * c : 0));
      mkdirSync(join(images, `c${k}`), { recursive: true });
      for (let i = 0; i < 4; i++) {
        const px = Buffer.from(
          Array.from({ length: 64 * 64 * 3 }, (_, j) => Math.max(0, Math.min(255, colour[j % 3] + rng.int(60) - 30))),
        );
        writeFileSync(
          join(images, `c${k}`, `${i}.png`),
          await sharp(px, { raw: { width: 64, height: 64, channels: 3 } })
            .png()
            .toBuffer(),
        );
      }
    }
    const tuned = join(dir, 'tuned');
    const t = await cli(
      'train',
      '--model',
      imported,
      '--data',
      images,
      '--freeze-backbone',
      '--epochs',
      '8',
      '--batch-size',
      '8',
      '--lr',
      '0.02',
      '--val-split',
      '0.25',
      '--out',
      tuned,
      '--json',
    );
    expect(t.status, t.stderr).toBe(0);
    const epochs = t.lines.map((l) => JSON.parse(l) as { loss: number });
    expect(epochs).toHaveLength(8);
    expect(epochs[epochs.length - 1].loss, 'loss falls').toBeLessThan(epochs[0].loss * 0.8);
    // Only the head moved: the backbone's weights are the imported ones, bit for bit.
    const before = readSafetensors(new Uint8Array(readFileSync(join(imported, 'weights.safetensors'))));
    const after = readSafetensors(new Uint8Array(readFileSync(join(tuned, 'weights.safetensors'))));
    for (const [name, w] of before) {
      const same =
        Buffer.compare(Buffer.from((after.get(name) as Tensor).dataSync().buffer), Buffer.from(w.dataSync().buffer)) === 0;
      expect(same, `${name} ${name.startsWith('classifier.3.') ? 'trained' : 'frozen'}`).toBe(!name.startsWith('classifier.3.'));
    }
    const ev = await cli('eval', '--model', tuned, '--data', images, '--split', 'train', '--json');
    expect(ev.status, ev.stderr).toBe(0);
    expect(JSON.parse(ev.stdout).accuracy, 'accuracy on the 40 images (chance: 0.1)').toBeGreaterThan(0.3);
    const p = await cli('predict', '--model', tuned, join(images, 'c3', '0.png'), '--json');
    expect(p.status, p.stderr).toBe(0);
    expect(classes).toContain(JSON.parse(p.stdout).top[0].label);
    const bad = await cli('train', '--model', imported, '--data', images, '--train-from', 'nope', '--out', join(dir, 'bad'));
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--train-from nope: no parameter name starts with it/);
  }, 240_000);
});
