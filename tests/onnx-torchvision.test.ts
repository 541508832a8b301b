import { execFileSync } from 'node:child_process';
import { runAsync } from './helpers/run-async.js';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tensor, importOnnx } from '../src/index.js';
import { flags } from '../src/core/flags.js';
import { backendsUnderTest } from './helpers/backends.js';

/**
 * torchvision's classifiers (scripts/make_torchvision_onnx.py exports them at test time: random weights
 * with randomised batch-norm statistics, logits scaled to O(1), reduced widths where torchvision allows,
 * 64×64 inputs, dynamic batch) imported by vireo on every backend at batch 1 and 2, against PyTorch's
 * outputs and onnxruntime-node's. VIREO_TORCHVISION=all adds the large ones (ResNet-18, EfficientNet-B0,
 * RegNet, GoogLeNet, DenseNet-121). Skipped with the reason when Debian's python3-torchvision is absent.
 */
const PYTHON = '/usr/bin/python3';
const DEFAULT = [
  'mobilenet_v3_small_o13',
  'mobilenet_v3_small_o17',
  'mobilenet_v3_large_o13',
  'mnasnet0_5_o13',
  'shufflenet_v2_x0_5_o13',
  'shufflenet_v2_x0_5_o17',
  'convnext_mini_o13',
  'convnext_mini_o17',
  'mobilenet_v2_o13',
  'squeezenet1_1_o13',
];
const LARGE = ['resnet18_o13', 'efficientnet_b0_o13', 'regnet_x_400mf_o13', 'googlenet_o13', 'densenet121_o13'];
const names = process.env.VIREO_TORCHVISION === 'all' ? [...DEFAULT, ...LARGE] : DEFAULT;
// Exporting the large models too takes several minutes more on one thread (about 4 minutes did not do on a busy 2-core machine).
const exportTimeout = names.length > DEFAULT.length ? 1_500_000 : 240_000;

function torchvisionMissing(): string | null {
  if (!existsSync(PYTHON)) return `${PYTHON} is absent`;
  try {
    execFileSync(PYTHON, ['-c', 'import torchvision, onnx'], { stdio: 'pipe' });
    return null;
  } catch {
    return 'python3-torchvision (or python3-onnx) is not installed';
  }
}
const missing = torchvisionMissing();

/** max |a − b| over max(1, max |b|): the outputs are O(1) logits, so this is an absolute error near 1. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let m = 0;
  let s = 1;
  for (let i = 0; i < a.length; i++) {
    m = Math.max(m, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return Number.isNaN(m) ? Number.POSITIVE_INFINITY : m / s;
}

// Measured: ≤ 2e-5 on every model and backend (float32 summation order), as onnxruntime's own distance from
// PyTorch (≤ 1.7e-5); five times that as the bound.
const TOL = 1e-4;

describe.skipIf(missing !== null)(`torchvision classifiers imported from ONNX${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let dir = '';
  const f32 = (file: string) => {
    const buf = readFileSync(join(dir, file));
    return new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4).slice();
  };
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vireo-tv-'));
    await runAsync(PYTHON, ['scripts/make_torchvision_onnx.py', dir, ...names], { ...process.env, OMP_NUM_THREADS: '1' });
  }, exportTimeout);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const name of names) {
    describe(name, () => {
      const size = 64;
      const cases: { batch: number; x: Float32Array; torch: Float32Array; ort: Float32Array }[] = [];
      beforeAll(async () => {
        const session = await ort.InferenceSession.create(join(dir, `${name}.onnx`));
        for (const batch of [1, 2]) {
          const x = f32(`${name}.b${batch}.in.bin`);
          const torch = f32(`${name}.b${batch}.out.bin`);
          const r = await session.run({ input: new ort.Tensor('float32', x, [batch, 3, size, size]) });
          cases.push({ batch, x, torch, ort: r.logits.data as Float32Array });
        }
      });
      it('has outputs far from zero that depend on the image (tiny numbers, or a bias alone, prove nothing)', () => {
        for (const c of cases) {
          const std = Math.sqrt(c.torch.reduce((s, v) => s + v * v, 0) / c.torch.length);
          expect(std, `${name} batch ${c.batch}: rms of the logits`).toBeGreaterThan(0.3);
          expect(relErr(c.ort, c.torch), 'onnxruntime vs PyTorch').toBeLessThan(TOL);
        }
        const two = cases.find((c) => c.batch === 2)?.torch as Float32Array;
        let spread = 0;
        for (let k = 0; k < 10; k++) spread = Math.max(spread, Math.abs(two[k] - two[10 + k]));
        expect(spread, `${name}: max |logits(image 1) − logits(image 2)|`).toBeGreaterThan(0.3);
      });
      it('element-wise chains fuse (GELU, HardSwish, SiLU), and the unfused graph gives the same outputs', async () => {
        const bytes = new Uint8Array(readFileSync(join(dir, `${name}.onnx`)));
        const kinds = async () => {
          const model = await importOnnx(bytes);
          const graph = model.buildGraph(
            model.declaredInputShapes.map((s) => [1, ...s.slice(1)]),
            false,
          );
          return graph.nodes.map((n) => (n.op === 'unary' ? (n.attrs as { kind: string }).kind : n.op));
        };
        const fused = await kinds();
        expect(fused).not.toContain('erf');
        if (name.startsWith('convnext')) expect(fused).toContain('gelu');
        if (name === 'mobilenet_v3_small_o13') expect(fused).toContain('hardSwish');
        flags.fuseOnnxPatterns = false;
        try {
          const plain = await kinds();
          if (name.startsWith('convnext')) expect(plain).toContain('erf');
          const model = await importOnnx(bytes);
          await model.to('wasm');
          for (const c of cases) {
            const { logits } = await model.run({ input: new Tensor(c.x, [c.batch, 3, size, size]) });
            expect(relErr(logits.dataSync(), c.torch), `${name} unfused`).toBeLessThan(TOL);
          }
          model.releasePlans();
        } finally {
          flags.fuseOnnxPatterns = true;
        }
      });
      for (const b of backendsUnderTest) {
        it(`matches PyTorch and onnxruntime on ${b.label}`, async () => {
          const model = await importOnnx(new Uint8Array(readFileSync(join(dir, `${name}.onnx`))));
          await model.to(b.name, b.build ? { build: b.build } : {});
          for (const c of cases) {
            const { logits } = await model.run({ input: new Tensor(c.x, [c.batch, 3, size, size]) });
            expect(logits.shape).toEqual([c.batch, 10]);
            const y = logits.dataSync();
            const vsTorch = relErr(y, c.torch);
            const vsOrt = relErr(y, c.ort);
            expect(vsTorch, `${name} batch ${c.batch} on ${b.label}: vs PyTorch`).toBeLessThan(TOL);
            expect(vsOrt, `${name} batch ${c.batch} on ${b.label}: vs onnxruntime`).toBeLessThan(TOL);
          }
          model.releasePlans();
        }, 60_000);
      }
    });
  }
});
