// Functional image ops on planar images in an ImageContext, with torchvision.transforms.functional's
// semantics for tensors (torchvision 0.14). Each op consumes its input image and returns a new one.
import { ArgumentError } from '../core/errors.js';
import type { Img, ImageContext } from './kernels.js';

function replace(ctx: ImageContext, from: Img, to: Img): Img {
  ctx.release(from);
  return to;
}

/** Output size for torchvision's Resize(size): an int matches the smaller edge, keeping the aspect ratio. */
export function resizeOutputSize(
  h: number,
  w: number,
  size: number | readonly [number, number],
  maxSize?: number,
): [number, number] {
  if (typeof size !== 'number') return [size[0], size[1]];
  const [short, long] = h <= w ? [h, w] : [w, h];
  let newShort = size;
  let newLong = Math.trunc((size * long) / short);
  if (maxSize !== undefined && newLong > maxSize) {
    newShort = Math.trunc((maxSize * newShort) / newLong);
    newLong = maxSize;
  }
  return h <= w ? [newShort, newLong] : [newLong, newShort];
}

/**
 * Bilinear resize of the window (top, left, height, width) to outH x outW: torchvision's
 * F.resized_crop / F.resize on tensors with antialias off (0.14's default for tensors), so shrinking
 * by more than 2x aliases exactly as torchvision does. The window must lie inside the image.
 */
export function resizedCrop(
  ctx: ImageContext,
  img: Img,
  top: number,
  left: number,
  height: number,
  width: number,
  outH: number,
  outW: number,
): Img {
  if (top < 0 || left < 0 || height < 1 || width < 1 || top + height > img.h || left + width > img.w) {
    img = crop(ctx, img, top, left, height, width);
    top = 0;
    left = 0;
  }
  if (outH < 1 || outW < 1) throw new ArgumentError(`resize: output size ${outH}x${outW} must be positive`);
  if (height === outH && width === outW && top === 0 && left === 0 && height === img.h && width === img.w) return img;
  const out = ctx.alloc(img.c, outH, outW, img.uint8);
  const scratch = ctx.scratch(ctx.exports.resize_bilinear_scratch_bytes(height, outH, outW));
  ctx.exports.f32_chw_resize_bilinear(
    img.ptr,
    out.ptr,
    img.c,
    img.h,
    img.w,
    top,
    left,
    height,
    width,
    outH,
    outW,
    scratch,
    img.uint8 ? 1 : 0,
  );
  ctx.free(scratch);
  return replace(ctx, img, out);
}

export function resize(ctx: ImageContext, img: Img, outH: number, outW: number): Img {
  return resizedCrop(ctx, img, 0, 0, img.h, img.w, outH, outW);
}

/** F.crop: a window that may reach outside the image; the outside is filled with `fill` (0). */
export function crop(
  ctx: ImageContext,
  img: Img,
  top: number,
  left: number,
  height: number,
  width: number,
  fill: number | readonly number[] = 0,
): Img {
  const out = ctx.alloc(img.c, height, width, img.uint8);
  const src = ctx.view(img);
  const dst = ctx.view(out);
  for (let p = 0; p < img.c; p++) {
    const f = typeof fill === 'number' ? fill : (fill[p] ?? fill[0] ?? 0);
    const plane = dst.subarray(p * height * width, (p + 1) * height * width);
    const x0 = Math.max(0, -left);
    const x1 = Math.min(width, img.w - left);
    for (let y = 0; y < height; y++) {
      const row = plane.subarray(y * width, (y + 1) * width);
      const sy = top + y;
      if (sy < 0 || sy >= img.h || x1 <= x0) {
        row.fill(f);
        continue;
      }
      if (x0 > 0) row.fill(f, 0, x0);
      if (x1 < width) row.fill(f, x1);
      const s = (p * img.h + sy) * img.w + left;
      row.set(src.subarray(s + x0, s + x1), x0);
    }
  }
  return replace(ctx, img, out);
}

/** F.pad with a constant fill (padding_mode='constant'): [left, top, right, bottom]. */
export function pad(
  ctx: ImageContext,
  img: Img,
  left: number,
  top: number,
  right: number,
  bottom: number,
  fill: number | readonly number[] = 0,
): Img {
  return crop(ctx, img, -top, -left, img.h + top + bottom, img.w + left + right, fill);
}

export function centerCrop(ctx: ImageContext, img: Img, height: number, width: number): Img {
  // torchvision pads (with 0) first when the crop is larger, then rounds the offsets like this.
  if (height > img.h || width > img.w) {
    const half = (n: number) => Math.max(0, Math.floor(n / 2));
    const padL = half(width - img.w);
    const padT = half(height - img.h);
    const padR = half(width - img.w + 1);
    const padB = half(height - img.h + 1);
    img = pad(ctx, img, padL, padT, padR, padB);
    if (height === img.h && width === img.w) return img;
  }
  return crop(ctx, img, pyRound((img.h - height) / 2), pyRound((img.w - width) / 2), height, width);
}

/** Python's round(): half to even. */
export function pyRound(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function hflip(ctx: ImageContext, img: Img): Img {
  const out = ctx.alloc(img.c, img.h, img.w, img.uint8);
  ctx.exports.f32_chw_flip_h(img.ptr, out.ptr, img.c, img.h, img.w);
  return replace(ctx, img, out);
}

export function vflip(ctx: ImageContext, img: Img): Img {
  const out = ctx.alloc(img.c, img.h, img.w, img.uint8);
  ctx.exports.f32_chw_flip_v(img.ptr, out.ptr, img.c, img.h, img.w);
  return replace(ctx, img, out);
}

export type Interpolation = 'nearest' | 'bilinear';

/**
 * torchvision's _get_inverse_affine_matrix (center [0, 0] = the image centre, inverted): maps output
 * coordinates (relative to the centre) to input coordinates. Angles in degrees, shear [sx, sy].
 */
export function inverseAffineMatrix(
  angle: number,
  translate: readonly [number, number],
  scale: number,
  shear: readonly [number, number] = [0, 0],
): number[] {
  const rot = (angle * Math.PI) / 180;
  const sx = (shear[0] * Math.PI) / 180;
  const sy = (shear[1] * Math.PI) / 180;
  const [tx, ty] = translate;
  const a = Math.cos(rot - sy) / Math.cos(sy);
  const b = (-Math.cos(rot - sy) * Math.tan(sx)) / Math.cos(sy) - Math.sin(rot);
  const c = Math.sin(rot - sy) / Math.cos(sy);
  const d = (-Math.sin(rot - sy) * Math.tan(sx)) / Math.cos(sy) + Math.cos(rot);
  const m = [d, -b, 0, -c, a, 0].map((v) => v / scale);
  m[2] += m[0] * -tx + m[1] * -ty;
  m[5] += m[3] * -tx + m[4] * -ty;
  return m;
}

/** Warps with an inverse matrix (output -> input, centre-relative), torchvision's grid_sample path. */
export function warpAffine(
  ctx: ImageContext,
  img: Img,
  matrix: readonly number[],
  interpolation: Interpolation,
  fill: number | readonly number[] = 0,
): Img {
  const out = ctx.alloc(img.c, img.h, img.w, img.uint8);
  const hw = 0.5 * img.w;
  const hh = 0.5 * img.h;
  const theta = ctx.floats([matrix[0] / hw, matrix[1] / hw, matrix[2] / hw, matrix[3] / hh, matrix[4] / hh, matrix[5] / hh]);
  const fills = ctx.floats(
    Array.from({ length: img.c }, (_, p) => (typeof fill === 'number' ? fill : (fill[p] ?? fill[0] ?? 0))),
  );
  const scratch = ctx.scratch(ctx.exports.affine_scratch_bytes(img.w));
  ctx.exports.f32_chw_affine(
    img.ptr,
    out.ptr,
    img.c,
    img.h,
    img.w,
    img.h,
    img.w,
    theta,
    interpolation === 'bilinear' ? 1 : 0,
    fills,
    img.uint8 ? 1 : 0,
    scratch,
  );
  ctx.free(scratch);
  ctx.free(fills);
  ctx.free(theta);
  return replace(ctx, img, out);
}

/** F.rotate(img, angle) (counter-clockwise degrees, expand=False, centre of the image). */
export function rotate(
  ctx: ImageContext,
  img: Img,
  angle: number,
  interpolation: Interpolation = 'nearest',
  fill: number | readonly number[] = 0,
): Img {
  return warpAffine(ctx, img, inverseAffineMatrix(-angle, [0, 0], 1), interpolation, fill);
}

/** F.affine(img, angle, translate, scale, shear) with the default centre. */
export function affine(
  ctx: ImageContext,
  img: Img,
  angle: number,
  translate: readonly [number, number],
  scale: number,
  shear: readonly [number, number] = [0, 0],
  interpolation: Interpolation = 'nearest',
  fill: number | readonly number[] = 0,
): Img {
  return warpAffine(ctx, img, inverseAffineMatrix(angle, translate, scale, shear), interpolation, fill);
}

function scaleBias(
  ctx: ImageContext,
  img: Img,
  scale: readonly number[],
  bias: readonly number[],
  mode: 0 | 1 | 2 | 3,
  bound: number,
  uint8: boolean,
): Img {
  const out = ctx.alloc(img.c, img.h, img.w, uint8);
  const s = ctx.floats(scale);
  const b = ctx.floats(bias);
  ctx.exports.f32_chw_scale_bias(img.ptr, out.ptr, img.c, img.h * img.w, s, b, 0, bound, mode);
  ctx.free(b);
  ctx.free(s);
  return replace(ctx, img, out);
}

/** ToTensor on a uint8 image: divide by 255 like torch (the layout is already CHW). */
export function toTensor(ctx: ImageContext, img: Img): Img {
  if (!img.uint8) return img;
  return scaleBias(ctx, img, new Array(img.c).fill(255), new Array(img.c).fill(0), 3, 0, false);
}

/** F.normalize: (x - mean[c]) / std[c], on a float (ToTensor'd) image. */
export function normalize(ctx: ImageContext, img: Img, mean: readonly number[], std: readonly number[]): Img {
  if (img.uint8) throw new ArgumentError('Normalize: expects a float image; put ToTensor() before Normalize');
  const pick = (a: readonly number[], p: number, what: string) => {
    if (a.length !== 1 && a.length !== img.c)
      throw new ArgumentError(`Normalize: ${what} has ${a.length} values for an image with ${img.c} channels`);
    return a.length === 1 ? a[0] : a[p];
  };
  const scale: number[] = [];
  const bias: number[] = [];
  for (let p = 0; p < img.c; p++) {
    const sd = pick(std, p, 'std');
    if (sd === 0) throw new ArgumentError('Normalize: std contains a zero');
    scale.push(sd);
    bias.push(pick(mean, p, 'mean'));
  }
  return scaleBias(ctx, img, scale, bias, 3, 0, false);
}

/** F.adjust_brightness: blend with black, clamped (uint8 images truncate like torchvision's cast). */
export function adjustBrightness(ctx: ImageContext, img: Img, factor: number): Img {
  const bound = img.uint8 ? 255 : 1;
  return scaleBias(ctx, img, new Array(img.c).fill(factor), new Array(img.c).fill(0), img.uint8 ? 2 : 1, bound, img.uint8);
}

/** F.adjust_contrast: blend with the mean of the grayscale image. */
export function adjustContrast(ctx: ImageContext, img: Img, factor: number): Img {
  const v = ctx.view(img);
  const hw = img.h * img.w;
  let sum = 0;
  if (img.c === 3) {
    for (let i = 0; i < hw; i++) {
      const g = Math.fround(
        Math.fround(Math.fround(0.2989 * v[i]) + Math.fround(0.587 * v[hw + i])) + Math.fround(0.114 * v[2 * hw + i]),
      );
      sum += img.uint8 ? Math.trunc(g) : g;
    }
  } else {
    for (let i = 0; i < hw; i++) sum += v[i];
  }
  const mean = sum / hw;
  const bound = img.uint8 ? 255 : 1;
  return scaleBias(
    ctx,
    img,
    new Array(img.c).fill(factor),
    new Array(img.c).fill((1 - factor) * mean),
    img.uint8 ? 2 : 1,
    bound,
    img.uint8,
  );
}
