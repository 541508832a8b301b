import { describe, expect, it } from 'vitest';
import { Parameter } from '../src/index.js';
import { backendsUnderTest, loadBackend } from './helpers/backends.js';
import { readFixture } from './helpers/models.js';
import { expectClose } from './helpers/random.js';
import { type OpCase, runCase } from './helpers/single-op.js';

/**
 * The ONNX tensor ops against PyTorch (tests/fixtures/tensor_ops.safetensors, written by
 * scripts/make_op_fixtures.py), on every backend, the reference included. Until the wasm backend had
 * kernels of its own for constant, concat, transpose, pad, matmul, unaryGrad and the general broadcasts,
 * it ran the reference's code for them and ops.test.ts compared that code with itself; this file is an
 * oracle independent of both (ops.test.ts now checks that no wasm kernel borrows reference code). It also
 * holds the activations and selections of a later round (elu, selu, softplus, mish and their gradients,
 * prelu, where, gather, the binaryGrad and reduceMaxGrad backward ops) as torch computes them.
 */
const fixture = readFixture('tensor_ops.safetensors');
const cases = (JSON.parse(fixture.metadata.cases) as OpCase[]).map((c) => {
  // JSON has no Infinity: the script writes an open clip bound as null.
  const attrs = c.attrs as Record<string, unknown>;
  if (attrs.kind === 'clip' && attrs.max === null) attrs.max = Number.POSITIVE_INFINITY;
  if (attrs.kind === 'clip' && attrs.min === null) attrs.min = Number.NEGATIVE_INFINITY;
  return c;
});
const need = (key: string) => {
  const t = fixture.tensors.get(key);
  if (!t) throw new Error(`tensor_ops.safetensors lacks '${key}'`);
  return t.dataSync();
};

/** The ops this file covers. */
const torchOracleOps = new Set(cases.map((c) => c.op));

describe('tensor ops match PyTorch', () => {
  it('the fixture covers every op the wasm backend once borrowed from the reference', () => {
    for (const op of ['constant', 'concat', 'transpose', 'pad', 'matmul', 'unaryGrad', 'binary', 'unary'])
      expect(torchOracleOps.has(op as never), op).toBe(true);
  });
  it('the fixture covers the activations and selection ops of ONNX breadth II', () => {
    const kinds = new Set(cases.map((c) => (c.attrs as { kind?: string }).kind));
    for (const k of ['elu', 'selu', 'softplus', 'mish', 'prelu']) expect(kinds.has(k), k).toBe(true);
    for (const op of ['where', 'gather', 'binaryGrad', 'reduceMaxGrad']) expect(torchOracleOps.has(op as never), op).toBe(true);
  });
  for (const b of backendsUnderTest) {
    describe(`on ${b.label}`, () => {
      for (const c of cases) {
        it(c.name, async () => {
          const backend = await loadBackend(b);
          const isConstant = c.op === 'constant';
          const params: Record<string, Parameter> = isConstant
            ? {
                value: new Parameter((c.attrs as { shape: number[] }).shape, {
                  values: need(`${c.name}.in0`).slice(),
                  isBuffer: true,
                }),
              }
            : {};
          const inputs = isConstant ? [] : c.inputs.map((_, i) => need(`${c.name}.in${i}`));
          const want = need(`${c.name}.out`);
          const got = runCase(c, backend, params, inputs);
          expect(got.length).toBe(want.length);
          expectClose(got, want, 1e-6, 1e-5, `${c.name} on ${b.label}`);
        });
      }
    });
  }
});
