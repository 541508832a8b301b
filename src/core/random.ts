/**
 * A small, fast, seedable generator (SplitMix32 seeding a xoshiro128**). Every random choice in vireo
 * derives from a seed so results are reproducible.
 */
export class Random {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    let x = seed >>> 0;
    const next = () => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  uniform(low: number, high: number): number {
    return low + (high - low) * this.next();
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

let globalSeed = 0x5eed;
let globalRandom = new Random(globalSeed);
let layerSeeds = 0;

/**
 * Seeds the generator used for parameter initialization, like `torch.manual_seed`, and the seeds that
 * layers with a generator of their own (nn.Dropout) take when they are made.
 */
export function manualSeed(seed: number): void {
  globalSeed = seed;
  globalRandom = new Random(seed);
  layerSeeds = 0;
}

/**
 * A seed for a layer's own generator (dropout masks): the n-th one made since `manualSeed`, so the same
 * seed and the same model code give the same masks in any process. Drawn without touching the
 * initialization stream, so adding a Dropout leaves every other layer's initial weights as they were.
 */
export function nextLayerSeed(): number {
  return new Random((globalSeed ^ Math.imul(++layerSeeds, 0x9e3779b9)) >>> 0).nextU32();
}

export function defaultRandom(): Random {
  return globalRandom;
}
