import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Tensor, VireoError, importOnnx } from '../src/index.js';

/**
 * Fuzzing the importer with real models (fast-check, bounded): random truncations and byte flips of
 * resnet_mini.onnx and mobilenet_mini.onnx either import (and then run at batch 1) or fail with a
 * VireoError (FormatError, ShapeError, ...) that says what is wrong: never a TypeError/RangeError from
 * deep inside, a hang or an unhandled rejection.
 */
const files = ['resnet_mini', 'mobilenet_mini'].map(
  (n) => new Uint8Array(readFileSync(new URL(`./fixtures/onnx/${n}.onnx`, import.meta.url))),
);

async function outcome(bytes: Uint8Array): Promise<'ok' | 'error'> {
  try {
    const model = await importOnnx(bytes);
    await model.to('reference');
    const shape = model.declaredInputShapes[0];
    if (shape.reduce((a, b) => a * b, 1) <= 1 << 16)
      await model.run({ [model.inputNames[0]]: new Tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape) });
    model.releasePlans();
    return 'ok';
  } catch (e) {
    if (e instanceof VireoError) return 'error';
    throw new Error(`not a VireoError: ${(e as Error)?.stack ?? e}`);
  }
}

describe('ONNX import fuzz (fast-check)', () => {
  it('random truncations', { timeout: 60_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: files.length - 1 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        async (f, frac) => {
          const bytes = files[f];
          const r = await outcome(bytes.subarray(0, Math.floor(frac * (bytes.length - 1))));
          expect(['ok', 'error']).toContain(r);
        },
      ),
      { numRuns: 100, seed: 42 },
    );
  });

  it('random byte flips', { timeout: 60_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: files.length - 1 }),
        fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), fc.integer({ min: 1, max: 255 })), {
          minLength: 1,
          maxLength: 8,
        }),
        async (f, flips) => {
          const bytes = files[f].slice();
          for (const [pos, x] of flips) bytes[Math.floor(pos * bytes.length)] ^= x;
          const r = await outcome(bytes);
          expect(['ok', 'error']).toContain(r);
        },
      ),
      { numRuns: 200, seed: 7 },
    );
  });

  it('byte flips in the graph structure (nodes, attributes, shapes: the first 4 KB)', { timeout: 60_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: files.length - 1 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 4095 }), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }),
        async (f, flips) => {
          const bytes = files[f].slice();
          for (const [pos, x] of flips) bytes[pos] ^= x;
          const r = await outcome(bytes);
          expect(['ok', 'error']).toContain(r);
        },
      ),
      { numRuns: 200, seed: Number(process.env.ONNX_FUZZ_SEED ?? 3) },
    );
  });
});
