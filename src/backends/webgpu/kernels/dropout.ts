// Training-mode dropout on WebGPU: the mask is drawn on the host, from the generator, seed and draw order
// every backend uses (src/ops/elementwise.ts: xoshiro128** seeded per mask by nextMaskSeed), packed into bits
// and written into the kernel's scratch; WGSL applies it. The generator is sequential — draw i depends on
// draws 0…i−1 — so a shader cannot draw in parallel without a jump-ahead, and a counter-based generator of
// its own would change the masks that saved checkpoints resume with (tests/fixtures/compat resumes a model
// with Dropout bit for bit). The host cost is the draws the wasm backend makes too, plus n/4 bytes uploaded
// (16 keep bits per float).
import { sizeOf } from '../../../core/shape.js';
import { Random } from '../../../core/random.js';
import { dropoutGenerator, nextMaskSeed } from '../../../ops/elementwise.js';
import type { DropoutAttrs } from '../../../ops/types.js';
import type { KernelFactory } from '../../backend.js';
import { f, f32bits, type GpuContext } from '../program.js';
import { programKernel } from './common.js';

/**
 * Keep bits per float of the packed mask. 16, not 32: each word is an integer-valued float, exact in f32, so
 * no bit pattern ever passes through the shader as a (possibly NaN, possibly canonicalized) float.
 */
const BITS = 16;

/** Host side: the generator's next mask as keep bits (1: kept), BITS per float, in draw order. */
function drawMask(attrs: DropoutAttrs, generator: ReturnType<typeof dropoutGenerator>, n: number, words: Float32Array): void {
  const random = new Random(nextMaskSeed(generator));
  words.fill(0);
  for (let i = 0; i < n; i++) {
    if (!(random.next() < attrs.p)) words[(i / BITS) | 0] += 2 ** (i % BITS);
  }
}

/** WGSL `fn kept(i: u32) -> bool`: bit i of the packed mask at u.bits. */
const keptWgsl = `fn kept(i: u32) -> bool {
  let word = u32(m[u.bits + i / ${BITS}u]);
  return ((word >> (i % ${BITS}u)) & 1u) != 0u;
}`;

function maskKernel(
  ctx: GpuContext,
  label: string,
  attrs: DropoutAttrs,
  n: number,
  body: string,
  fields: string[],
  values: (inputs: readonly number[], output: number, scratch: number) => number[],
) {
  const generator = dropoutGenerator(attrs);
  const words = new Float32Array(Math.max(1, Math.ceil(n / BITS)));
  // 1/(1 − p) as float bits (u.SCALE): every drop probability shares the pipeline.
  const kernel = programKernel(ctx, label, fields, [{ body, threads: n }], values, {
    scratchBytes: 4 * words.length,
    shapes: { SCALE: f32bits(1 / (1 - attrs.p)) },
  });
  return {
    ...kernel,
    run(inputs: readonly number[], output: number, scratch: number) {
      // Drawn at record time, in plan order: the generator advances exactly as on the other backends.
      drawMask(attrs, generator, n, words);
      ctx.memory.upload(scratch, words);
      kernel.run(inputs, output, scratch);
    },
  };
}

/** y = kept ? x · 1/(1 − p) : 0. */
export const dropoutWebGpu =
  (ctx: GpuContext): KernelFactory<'dropout'> =>
  ({ name, attrs, outputShape }) => {
    const n = sizeOf(outputShape);
    const body = `${keptWgsl}
fn body(i: u32) { m[u.y + i] = select(0.0, m[u.x + i] * bitcast<f32>(u.SCALE), kept(i)); }`;
    return maskKernel(ctx, `${name} dropout`, attrs, n, body, ['x', 'y', 'bits'], ([x], y, s) => [f(x), f(y), f(s)]);
  };

/** The mask training dropout multiplies by: 1/(1 − p) where kept, 0 elsewhere. */
export const dropoutMaskWebGpu =
  (ctx: GpuContext): KernelFactory<'dropoutMask'> =>
  ({ name, attrs, outputShape }) => {
    const n = sizeOf(outputShape);
    const body = `${keptWgsl}
fn body(i: u32) { m[u.y + i] = select(0.0, bitcast<f32>(u.SCALE), kept(i)); }`;
    return maskKernel(ctx, `${name} dropoutMask`, attrs, n, body, ['y', 'bits'], (_, y, s) => [f(y), f(s)]);
  };
