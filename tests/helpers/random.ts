import { Random } from '../../src/index.js';

export function randomArray(n: number, seed: number, scale = 1): Float32Array {
  const r = new Random(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = r.uniform(-scale, scale);
  return a;
}

/** Largest |a - b| / (atol + rtol·|b|) over all entries: ≤ 1 means within tolerance. */
export function maxViolation(
  actual: Float32Array,
  expected: Float32Array,
  atol: number,
  rtol: number,
): { ratio: number; index: number } {
  let ratio = 0;
  let index = -1;
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    const r = Number.isNaN(err) ? Number.POSITIVE_INFINITY : err / (atol + rtol * Math.abs(expected[i]));
    if (r > ratio) {
      ratio = r;
      index = i;
    }
  }
  return { ratio, index };
}

export function expectClose(actual: Float32Array, expected: Float32Array, atol: number, rtol: number, what: string): void {
  if (actual.length !== expected.length) throw new Error(`${what}: length ${actual.length} != ${expected.length}`);
  const { ratio, index } = maxViolation(actual, expected, atol, rtol);
  if (ratio > 1) {
    throw new Error(`${what}: index ${index}: got ${actual[index]}, expected ${expected[index]} (atol ${atol}, rtol ${rtol})`);
  }
}

/** The same float32 bits everywhere (NaNs included): what a threaded run must give against one thread. */
export function expectSameBits(actual: Float32Array, expected: Float32Array, what: string): void {
  if (actual.length !== expected.length) throw new Error(`${what}: length ${actual.length} vs ${expected.length}`);
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== e[i]) throw new Error(`${what}: differs at ${i} of ${a.length}: ${actual[i]} vs ${expected[i]}`);
  }
}
