// Image kernels on every wasm build against the plain TS reference, and the functional ops against
// torchvision 0.14 outputs (tests/fixtures/transforms.json, from scripts/make_transform_fixtures.py).
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Random } from '../../src/index.js';
import type { WasmBuild } from '../../src/backends/registry.js';
import * as F from '../../src/data/functional.js';
import { ImageContext, type Img } from '../../src/data/kernels.js';
import { fixturePath } from '../helpers/models.js';
import {
  type RefImage,
  refAffine,
  refFlip,
  refHwcToChw,
  refImage,
  refNormalize,
  refResizedCrop,
} from '../helpers/image-reference.js';

const builds: WasmBuild[] = ['simd', 'relaxed', 'scalar'];

/** Largest |a - b| and the fraction of entries differing by more than `atol`. */
function diff(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number): { max: number; frac: number } {
  expect(actual.length).toBe(expected.length);
  let max = 0;
  let bad = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= atol)) bad++;
    if (!(d <= max)) max = d;
  }
  return { max, frac: bad / expected.length };
}

/**
 * Nearest-neighbour misses: entries of a [c, h, w] image that differ from the reference by more than
 * `atol`, and of those how many hold a value found nowhere in the reference's 3x3 neighbourhood around
 * them (same channel). A grid that lands on the other side of a pixel boundary picks a neighbouring
 * source pixel, which the reference shows beside that position; any other value is a wrong pixel.
 */
function nearestMisses(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  [c, h, w]: readonly number[],
  atol: number,
): { frac: number; foreign: number } {
  expect(actual.length).toBe(c * h * w);
  let bad = 0;
  let foreign = 0;
  for (let ch = 0; ch < c; ch++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const i = (ch * h + y) * w + x;
        if (Math.abs(actual[i] - expected[i]) <= atol) continue;
        bad++;
        let seen = false;
        for (let dy = -1; dy <= 1 && !seen; dy++)
          for (let dx = -1; dx <= 1 && !seen; dx++) {
            const yy = y + dy;
            const xx = x + dx;
            if (yy >= 0 && yy < h && xx >= 0 && xx < w && Math.abs(actual[i] - expected[(ch * h + yy) * w + xx]) <= atol)
              seen = true;
          }
        if (!seen) foreign++;
      }
  return { frac: bad / actual.length, foreign };
}

function pixels(n: number, seed: number): number[] {
  const r = new Random(seed);
  return Array.from({ length: n }, () => r.int(256));
}

function load(ctx: ImageContext, ref: RefImage, uint8: boolean): Img {
  return ctx.fromF32Chw(Float32Array.from(ref.data), ref.c, ref.h, ref.w, uint8);
}

function take(ctx: ImageContext, img: Img): Float32Array {
  const v = ctx.view(img).slice();
  ctx.release(img);
  return v;
}

describe.each(builds)('image kernels, wasm %s build, vs the plain TS reference', (build) => {
  let ctx: ImageContext;
  beforeAll(async () => {
    ctx = await ImageContext.create(build);
  });

  it('uint8 HWC -> float CHW (1 and 3 channels, sizes off the vector width): exact', () => {
    for (const [h, w, c] of [
      [5, 7, 1],
      [4, 4, 1],
      [3, 11, 3],
      [17, 9, 3],
    ]) {
      const bytes = Uint8Array.from(pixels(h * w * c, h * 100 + w));
      const img = ctx.fromU8Hwc(bytes, h, w, c);
      expect([img.c, img.h, img.w]).toEqual([c, h, w]);
      expect(Array.from(take(ctx, img))).toEqual(Array.from(refHwcToChw(bytes, h, w, c).data));
    }
  });

  // Tolerance: float images agree to 1e-3 (f32 kernel vs f64 reference on 0..255 values, ~4e-6 relative); uint8
  // images round, so a value within 1e-3 of a .5 tie (blends of integers hit ties often) may land one
  // level apart: at most 1, in < 3% of entries (measured: 2 of 90 for 13x17 -> 6x5, 10 of 1560 for -> 13x40).
  it('bilinear resize and resized crop, up and down, float and uint8', () => {
    const src = refImage(3, 13, 17, pixels(3 * 13 * 17, 3));
    const cases: [number, number, number, number, number, number][] = [
      [0, 0, 13, 17, 29, 23],
      [0, 0, 13, 17, 6, 5],
      [0, 0, 13, 17, 13, 40],
      [2, 3, 8, 10, 19, 7],
      [0, 0, 13, 17, 1, 1],
      [1, 1, 11, 15, 224, 224],
    ];
    for (const [t, l, ch, cw, oh, ow] of cases) {
      for (const uint8 of [false, true]) {
        const out = take(ctx, F.resizedCrop(ctx, load(ctx, src, uint8), t, l, ch, cw, oh, ow));
        const ref = refResizedCrop(src, t, l, ch, cw, oh, ow, uint8).data;
        const d = diff(out, ref, 1e-3);
        if (uint8) {
          expect(d.max, `${oh}x${ow}`).toBeLessThanOrEqual(1);
          expect(d.frac).toBeLessThan(0.03);
        } else expect(d.max, `${oh}x${ow}`).toBeLessThanOrEqual(1e-3);
      }
    }
  });

  // Tolerance: bilinear within 1e-3 on 0..255 values (f32 rounding of the weights, ~4e-6 relative),
  // uint8 within 1 level. Nearest picks the pixel whose centre is closest;
  // where the f32 grid and the f64 reference fall on either side of a rounding boundary they pick
  // neighbours: at most 1% of entries may differ, each to a value the reference holds next to it.
  it('affine warp (rotation, translation, scale, shear), nearest and bilinear, fill', () => {
    const src = refImage(3, 13, 17, pixels(3 * 13 * 17, 5));
    for (const [angle, tx, ty, scale, shear] of [
      [20, 0, 0, 1, 0],
      [-33.5, 2, -1, 1.2, 0],
      [90, 0, 0, 1, 0],
      [137, -3, 4, 0.7, 12],
    ]) {
      const m = F.inverseAffineMatrix(angle, [tx, ty], scale, [shear, 0]);
      for (const bilinear of [false, true]) {
        for (const uint8 of [false, true]) {
          const fill = uint8 ? 7 : 0.25;
          const out = take(ctx, F.warpAffine(ctx, load(ctx, src, uint8), m, bilinear ? 'bilinear' : 'nearest', fill));
          const ref = refAffine(src, m, bilinear, fill, uint8).data;
          const what = `angle ${angle} ${bilinear ? 'bilinear' : 'nearest'} ${uint8 ? 'uint8' : 'float'}`;
          if (bilinear) expect(diff(out, ref, uint8 ? 1 : 1e-3).frac, what).toBe(0);
          else {
            const d = nearestMisses(out, ref, [3, 13, 17], 0);
            expect(d.frac, what).toBeLessThanOrEqual(0.01);
            expect(d.foreign, `${what}: values no neighbour holds`).toBe(0);
          }
        }
      }
    }
  });

  it('flips: exact', () => {
    for (const [c, h, w] of [
      [3, 5, 7],
      [1, 8, 16],
      [2, 3, 1],
    ]) {
      const src = refImage(c, h, w, pixels(c * h * w, c + h + w));
      for (const horizontal of [true, false]) {
        const out = take(ctx, horizontal ? F.hflip(ctx, load(ctx, src, true)) : F.vflip(ctx, load(ctx, src, true)));
        expect(Array.from(out)).toEqual(Array.from(refFlip(src, horizontal).data));
      }
    }
  });

  it('ToTensor then Normalize: (x / 255 - mean) / std, to f32 rounding', () => {
    const src = refImage(3, 5, 9, pixels(3 * 45, 9));
    const mean = [0.485, 0.456, 0.406];
    const std = [0.229, 0.224, 0.225];
    const out = take(ctx, F.normalize(ctx, F.toTensor(ctx, load(ctx, src, true)), mean, std));
    const ref = refNormalize({ ...src, data: src.data.map((v) => v / 255) }, mean, std).data;
    expect(diff(out, ref, 1e-6).max).toBeLessThanOrEqual(1e-6);
  });

  it('a warm pipeline returns every byte it took from the arena', () => {
    const src = refImage(3, 32, 32, pixels(3 * 1024, 11));
    const run = () => ctx.release(F.rotate(ctx, F.hflip(ctx, F.resize(ctx, load(ctx, src, true), 224, 224)), 10));
    const before = ctx.bytesInUse;
    run();
    expect(ctx.bytesInUse).toBe(before);
    // Freed blocks are reused: a second run takes no new arena memory.
    const arenaBefore = ctx.arena.bytesInUse;
    run();
    expect(ctx.arena.bytesInUse).toBe(arenaBefore);
  });
});

interface Fixture {
  name: string;
  op: string;
  args: Record<string, never>;
  input: 'uint8' | 'float';
  shape: number[];
  values: number[];
}

const fixtures = JSON.parse(readFileSync(fixturePath('transforms.json'), 'utf8')) as {
  input: { shape: number[]; values: number[] };
  cases: Fixture[];
};

function runFixture(ctx: ImageContext, f: Fixture): Float32Array {
  const [c, h, w] = fixtures.input.shape;
  const uint8 = f.input === 'uint8';
  const values = Float32Array.from(fixtures.input.values, (v) => (uint8 ? v : Math.fround(v / 255)));
  let img = ctx.fromF32Chw(values, c, h, w, uint8);
  const a = f.args as Record<string, never>;
  switch (f.op) {
    case 'resize':
      img = F.resize(ctx, img, ...(a.size as [number, number]));
      break;
    case 'resized_crop':
      img = F.resizedCrop(ctx, img, a.top, a.left, a.height, a.width, ...(a.size as [number, number]));
      break;
    case 'rotate':
      img = F.rotate(ctx, img, a.angle, a.interpolation);
      break;
    case 'affine':
      img = F.affine(ctx, img, a.angle, a.translate, a.scale, a.shear, a.interpolation);
      break;
    case 'hflip':
      img = F.hflip(ctx, img);
      break;
    case 'vflip':
      img = F.vflip(ctx, img);
      break;
    case 'center_crop':
      img = F.centerCrop(ctx, img, ...(a.size as [number, number]));
      break;
    case 'brightness':
      img = F.adjustBrightness(ctx, img, a.factor);
      break;
    case 'contrast':
      img = F.adjustContrast(ctx, img, a.factor);
      break;
    case 'normalize':
      img = F.normalize(ctx, img, a.mean, a.std);
      break;
    default:
      throw new Error(`unknown fixture op ${f.op}`);
  }
  expect([img.c, img.h, img.w]).toEqual(f.shape);
  return take(ctx, img);
}

/**
 * Tolerances against torchvision, per op and input type (values on the 0..255 scale for uint8, 0..1
 * for float):
 *  - resize / resized_crop: float within 1e-6 (same f32 formula); uint8 within 1 level, < 3% of entries off
 *    (ties: measured 1 of 90 entries for 13x17 -> 6x5).
 *  - rotate / affine bilinear: float within 1e-5; uint8 within 1 level, < 2% of entries off.
 *  - rotate / affine nearest: exact except where torchvision's f32 grid (linspace, bmm) and vireo's
 *    land on opposite sides of a pixel boundary: < 2% of entries may take a neighbour's value (and no other).
 *  - flips, centre crop: exact; brightness / contrast / normalize: float within 1e-6, uint8 within 1 level.
 */
describe.each(builds)('functional ops, wasm %s build, vs torchvision 0.14', (build) => {
  let ctx: ImageContext;
  beforeAll(async () => {
    ctx = await ImageContext.create(build);
  });
  for (const f of fixtures.cases) {
    it(`${f.name} (${f.input})`, () => {
      const out = runFixture(ctx, f);
      const uint8 = f.input === 'uint8';
      const nearest =
        (f.op === 'rotate' || f.op === 'affine') && (f.args as { interpolation?: string }).interpolation === 'nearest';
      if (f.op === 'hflip' || f.op === 'vflip' || f.op === 'center_crop') {
        expect(Array.from(out)).toEqual(f.values.map(Math.fround));
      } else if (nearest) {
        const d = nearestMisses(out, f.values, f.shape, uint8 ? 0 : 1e-6);
        expect(d.frac).toBeLessThan(0.02);
        expect(d.foreign, 'values no neighbour holds').toBe(0);
      } else if (uint8) {
        const d = diff(out, f.values, 0);
        expect(d.max).toBeLessThanOrEqual(1);
        expect(d.frac).toBeLessThan(f.op === 'resize' || f.op === 'resized_crop' ? 0.03 : 0.02);
      } else {
        expect(diff(out, f.values, f.op === 'rotate' || f.op === 'affine' ? 1e-5 : 1e-6).max).toBeLessThanOrEqual(
          f.op === 'rotate' || f.op === 'affine' ? 1e-5 : 1e-6,
        );
      }
    });
  }
});
