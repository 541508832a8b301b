import { Random } from '../core/random.js';

// 32-bit avalanche (murmur3 finalizer): neighbouring (seed, epoch, index) triples land far apart.
function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The seed of one sample's augmentation draws: a function of (seed, epoch, index) only. */
export function sampleSeed(seed: number, epoch: number, index: number): number {
  return mix(mix(mix(seed >>> 0) ^ Math.imul(epoch + 1, 0x9e3779b1)) ^ Math.imul(index + 1, 0x27d4eb2f));
}

/** The generator a sample's random transforms draw from, whatever thread or worker runs it. */
export function sampleRandom(seed: number, epoch: number, index: number): Random {
  return new Random(sampleSeed(seed, epoch, index));
}

/** The epoch's order of `n` samples (Fisher-Yates), seeded apart from the augmentation draws. */
export function epochPermutation(n: number, seed: number, epoch: number): Uint32Array {
  const r = new Random(mix(sampleSeed(seed, epoch, -1) ^ 0x5bd1e995));
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = r.int(i + 1);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}
