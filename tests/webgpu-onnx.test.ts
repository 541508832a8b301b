// Imported ONNX models on webgpu: the import ops (broadcasting binary, unary math, concat, transpose, pad,
// matmul) run as WGSL kernels — placement leaves none of them to wasm — and the outputs match wasm's.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Tensor, importOnnx } from '../src/index.js';
import { attr, graphModel, init } from './helpers/onnx-build.js';
import { expectClose, randomArray } from './helpers/random.js';
import { webgpuUnderTest } from './helpers/webgpu.js';

const importOps = new Set(['binary', 'unary', 'concat', 'transpose', 'pad', 'matmul']);

async function compare(bytes: Uint8Array, shape: number[], seed: number): Promise<void> {
  const gpu = await importOnnx(bytes);
  const cpu = await importOnnx(bytes);
  gpu.eval();
  cpu.eval();
  await gpu.to('webgpu');
  await cpu.to('wasm');
  const x = new Tensor(
    randomArray(
      shape.reduce((a, b) => a * b, 1),
      seed,
      1,
    ),
    shape,
  );
  const want = await (await cpu.forward(x)).data();
  const got = await (await gpu.forward(x)).data();
  expectClose(got, want, 1e-4, 1e-4, 'webgpu vs wasm');
  const steps = (await gpu.plan(shape)).placement.filter((s) => s.kind === 'kernel');
  const used = steps.filter((s) => importOps.has(s.op));
  expect(used.length).toBeGreaterThan(0);
  expect(used.filter((s) => s.backend !== 'webgpu')).toEqual([]);
}

describe.runIf(webgpuUnderTest)('imported ONNX models on webgpu', () => {
  it('a graph of transpose, matmul, concat, pad, sub, abs and sqrt', async () => {
    const bytes = graphModel(
      13,
      [2, 4, 3],
      [
        { op_type: 'Transpose', input: ['x'], output: ['t'], attribute: [attr.ints('perm', [0, 2, 1])] },
        { op_type: 'MatMul', input: ['x', 't'], output: ['mm'] },
        { op_type: 'Concat', input: ['mm', 'x2'], output: ['c'], attribute: [attr.i('axis', 2)] },
        { op_type: 'Pad', input: ['c', 'pads', 'padValue'], output: ['p'] },
        { op_type: 'Sub', input: ['p', 'shift'], output: ['s'] },
        { op_type: 'Abs', input: ['s'], output: ['a'] },
        { op_type: 'Sqrt', input: ['a'], output: ['y'] },
      ],
      [
        init('x2', [2, 4, 2], Array.from(randomArray(16, 3, 1))),
        init('pads', [6], [0, 1, 0, 0, 0, 2], true),
        init('padValue', [], [0.5]),
        init('shift', [8], Array.from(randomArray(8, 4, 1))),
      ],
    );
    await compare(bytes, [2, 4, 3], 5);
  });

  it('mobilenet_mini (hardSwish, squeeze-excitation gates)', async () => {
    const bytes = new Uint8Array(readFileSync(fileURLToPath(new URL('./fixtures/onnx/mobilenet_mini.onnx', import.meta.url))));
    await compare(bytes, [1, 3, 32, 32], 6);
  });
});
