// torchvision.transforms names and semantics (0.14, tensor path). Transforms run on planar images in
// an ImageContext; random ones draw only from the Random they are given, which the pipeline seeds
// from (seed, epoch, sample index), so augmentation never depends on the worker that runs it.
import { ArgumentError } from '../core/errors.js';
import type { Random } from '../core/random.js';
import * as F from './functional.js';
import type { Img, ImageContext } from './kernels.js';

/** A transform as plain data, so worker threads can rebuild the same pipeline. */
export interface TransformSpec {
  name: string;
  args: unknown[];
}

export abstract class Transform {
  abstract apply(ctx: ImageContext, img: Img, rng: Random): Img;
  abstract spec(): TransformSpec;
}

type Size = number | readonly [number, number];
type Fill = number | readonly number[];

function pair(size: Size, what: string): [number, number] {
  const [h, w] = typeof size === 'number' ? [size, size] : size;
  if (!(Number.isInteger(h) && Number.isInteger(w) && h > 0 && w > 0))
    throw new ArgumentError(`${what}: size must be positive integers, got ${JSON.stringify(size)}`);
  return [h, w];
}

function range(v: number | readonly [number, number], what: string, center = 0): [number, number] {
  if (typeof v === 'number') {
    if (v < 0) throw new ArgumentError(`${what}: a single number must be non-negative, got ${v}`);
    return [center - v, center + v];
  }
  return [v[0], v[1]];
}

export class Compose extends Transform {
  constructor(readonly transforms: Transform[]) {
    super();
  }
  apply(ctx: ImageContext, img: Img, rng: Random): Img {
    for (const t of this.transforms) img = t.apply(ctx, img, rng);
    return img;
  }
  spec(): TransformSpec {
    return { name: 'Compose', args: [this.transforms.map((t) => t.spec())] };
  }
}

/**
 * Bilinear resize. An int matches the smaller edge (aspect ratio kept), [h, w] sets both. As
 * torchvision 0.14 does for tensors, there is no antialiasing (antialias=False): downscaling by more
 * than 2x samples rather than averages. `antialias: true` is not implemented.
 */
export class Resize extends Transform {
  constructor(
    readonly size: Size,
    readonly options: { interpolation?: 'bilinear'; maxSize?: number; antialias?: boolean } = {},
  ) {
    super();
    if (options.interpolation && options.interpolation !== 'bilinear')
      throw new ArgumentError(`Resize: interpolation '${options.interpolation}' is not supported (bilinear only)`);
    if (options.antialias)
      throw new ArgumentError('Resize: antialias=true is not supported (torchvision 0.14 tensors default to antialias=False)');
    if (typeof size === 'number') pair(size, 'Resize');
    else pair(size, 'Resize');
  }
  apply(ctx: ImageContext, img: Img): Img {
    const [h, w] = F.resizeOutputSize(img.h, img.w, this.size, this.options.maxSize);
    return F.resize(ctx, img, h, w);
  }
  spec(): TransformSpec {
    return { name: 'Resize', args: [this.size, this.options] };
  }
}

export class CenterCrop extends Transform {
  private readonly hw: [number, number];
  constructor(readonly size: Size) {
    super();
    this.hw = pair(size, 'CenterCrop');
  }
  apply(ctx: ImageContext, img: Img): Img {
    return F.centerCrop(ctx, img, this.hw[0], this.hw[1]);
  }
  spec(): TransformSpec {
    return { name: 'CenterCrop', args: [this.size] };
  }
}

/** RandomCrop(size, { padding, padIfNeeded, fill }): constant padding only. */
export class RandomCrop extends Transform {
  private readonly hw: [number, number];
  private readonly padding: [number, number, number, number] | null;
  constructor(
    readonly size: Size,
    readonly options: { padding?: number | readonly number[]; padIfNeeded?: boolean; fill?: Fill; paddingMode?: 'constant' } = {},
  ) {
    super();
    this.hw = pair(size, 'RandomCrop');
    if (options.paddingMode && options.paddingMode !== 'constant')
      throw new ArgumentError(`RandomCrop: paddingMode '${options.paddingMode}' is not supported (constant only)`);
    const p = options.padding;
    if (p === undefined) this.padding = null;
    else if (typeof p === 'number') this.padding = [p, p, p, p];
    else if (p.length === 2) this.padding = [p[0], p[1], p[0], p[1]];
    else if (p.length === 4) this.padding = [p[0], p[1], p[2], p[3]];
    else throw new ArgumentError(`RandomCrop: padding must have 1, 2 or 4 values, got ${p.length}`);
  }
  apply(ctx: ImageContext, img: Img, rng: Random): Img {
    const fill = this.options.fill ?? 0;
    if (this.padding) img = F.pad(ctx, img, ...this.padding, fill);
    const [th, tw] = this.hw;
    if (this.options.padIfNeeded && img.w < tw) img = F.pad(ctx, img, tw - img.w, 0, tw - img.w, 0, fill);
    if (this.options.padIfNeeded && img.h < th) img = F.pad(ctx, img, 0, th - img.h, 0, th - img.h, fill);
    if (img.h < th || img.w < tw)
      throw new ArgumentError(`RandomCrop: crop size ${th}x${tw} is larger than the (padded) image ${img.h}x${img.w}`);
    if (img.h === th && img.w === tw) return img;
    const i = rng.int(img.h - th + 1);
    const j = rng.int(img.w - tw + 1);
    return F.crop(ctx, img, i, j, th, tw);
  }
  spec(): TransformSpec {
    return { name: 'RandomCrop', args: [this.size, this.options] };
  }
}

export class RandomResizedCrop extends Transform {
  private readonly hw: [number, number];
  readonly scale: [number, number];
  readonly ratio: [number, number];
  constructor(
    readonly size: Size,
    readonly options: { scale?: [number, number]; ratio?: [number, number] } = {},
  ) {
    super();
    this.hw = pair(size, 'RandomResizedCrop');
    this.scale = options.scale ?? [0.08, 1];
    this.ratio = options.ratio ?? [3 / 4, 4 / 3];
  }
  /** torchvision's get_params: (top, left, height, width) of the crop. */
  params(height: number, width: number, rng: Random): [number, number, number, number] {
    const area = height * width;
    const logRatio = [Math.log(this.ratio[0]), Math.log(this.ratio[1])];
    for (let attempt = 0; attempt < 10; attempt++) {
      const targetArea = area * rng.uniform(this.scale[0], this.scale[1]);
      const aspect = Math.exp(rng.uniform(logRatio[0], logRatio[1]));
      const w = F.pyRound(Math.sqrt(targetArea * aspect));
      const h = F.pyRound(Math.sqrt(targetArea / aspect));
      if (w > 0 && w <= width && h > 0 && h <= height) return [rng.int(height - h + 1), rng.int(width - w + 1), h, w];
    }
    const inRatio = width / height;
    let w = width;
    let h = height;
    if (inRatio < Math.min(...this.ratio)) h = F.pyRound(w / Math.min(...this.ratio));
    else if (inRatio > Math.max(...this.ratio)) w = F.pyRound(h * Math.max(...this.ratio));
    return [Math.floor((height - h) / 2), Math.floor((width - w) / 2), h, w];
  }
  apply(ctx: ImageContext, img: Img, rng: Random): Img {
    const [i, j, h, w] = this.params(img.h, img.w, rng);
    return F.resizedCrop(ctx, img, i, j, h, w, this.hw[0], this.hw[1]);
  }
  spec(): TransformSpec {
    return { name: 'RandomResizedCrop', args: [this.size, this.options] };
  }
}

export class RandomHorizontalFlip extends Transform {
  constructor(readonly p = 0.5) {
    super();
  }
  apply(ctx: ImageContext, img: Img, rng: Random): Img {
    return rng.next() < this.p ? F.hflip(ctx, img) : img;
  }
  spec(): TransformSpec {
    return { name: 'RandomHorizontalFlip', args: [this.p] };
  }
}

export class RandomVerticalFlip extends Transform {
  constructor(readonly p = 0.5) {
    super();
  }
  apply(ctx: ImageContext, img: Img, rng: Random): Img {
    return rng.next() < this.p ? F.vflip(ctx, img) : img;
  }
  spec(): TransformSpec {
    return { name: 'RandomVerticalFlip', args: [this.p] };
  }
}

/** RandomRotation(degrees): angle uniform in [-d, d] (or [a, b]); nearest and fill 0 by default, as torchvision. */
export class RandomRotation extends Transform {
  readonly degrees: [number, number];
  constructor(
    degrees: number | readonly [number, number],
    readonly options: { interpolation?: F.Interpolation; fill?: Fill } = {},
  ) {
    super();
    this.degrees = range(degrees, 'RandomRotation: degrees');
  }
  apply(ctx: ImageContext, img: Img, rng: Random): Img {
    const angle = rng.uniform(this.degrees[0], this.degrees[1]);
    return F.rotate(ctx, img, angle, this.options.interpolation ?? 'nearest', this.options.fill ?? 0);
  }
  spec(): TransformSpec {
    return { name: 'RandomRotation', args: [this.degrees, this.options] };
  }
}

/** RandomAffine(degrees, { translate, scale, shear }): translate as fractions of width/height, rounded to pixels. */
export class RandomAffine extends Transform {
  readonly degrees: [number, number];
  constructor(
    degrees: number | readonly [number, number],
    readonly options: {
      translate?: [number, number];
      scale?: [number, number];
      shear?: number | [number, number] | [number, number, number, number];
      interpolation?: F.Interpolation;
      fill?: Fill;
    } = {},
  ) {
    super();
    this.degrees = range(degrees, 'RandomAffine: degrees');
    const t = options.translate;
    if (t && !(t[0] >= 0 && t[0] <= 1 && t[1] >= 0 && t[1] <= 1))
      throw new ArgumentError('RandomAffine: translate values must be in [0, 1]');
    const s = options.scale;
    if (s && !(s[0] > 0 && s[1] > 0)) throw new ArgumentError('RandomAffine: scale values must be positive');
  }
  /** torchvision's get_params, in its draw order: angle, translation, scale, shear. */
  params(
    height: number,
    width: number,
    rng: Random,
  ): { angle: number; translate: [number, number]; scale: number; shear: [number, number] } {
    const angle = rng.uniform(this.degrees[0], this.degrees[1]);
    let translate: [number, number] = [0, 0];
    if (this.options.translate) {
      const maxDx = this.options.translate[0] * width;
      const maxDy = this.options.translate[1] * height;
      translate = [F.pyRound(rng.uniform(-maxDx, maxDx)), F.pyRound(rng.uniform(-maxDy, maxDy))];
    }
    const scale = this.options.scale ? rng.uniform(this.options.scale[0], this.options.scale[1]) : 1;
    const shear: [number, number] = [0, 0];
    const sh = this.options.shear;
    if (sh !== undefined) {
      const s = typeof sh === 'number' ? [-sh, sh] : sh;
      shear[0] = rng.uniform(s[0], s[1]);
      if (s.length === 4) shear[1] = rng.uniform(s[2], s[3]);
    }
    return { angle, translate, scale, shear };
  }
  apply(ctx: ImageContext, img: Img, rng: Random): Img {
    const p = this.params(img.h, img.w, rng);
    return F.affine(
      ctx,
      img,
      p.angle,
      p.translate,
      p.scale,
      p.shear,
      this.options.interpolation ?? 'nearest',
      this.options.fill ?? 0,
    );
  }
  spec(): TransformSpec {
    return { name: 'RandomAffine', args: [this.degrees, this.options] };
  }
}

/** ColorJitter({ brightness, contrast }): factors uniform in [max(0, 1 - v), 1 + v], applied in random order. */
export class ColorJitter extends Transform {
  readonly brightness: [number, number] | null;
  readonly contrast: [number, number] | null;
  constructor(
    readonly options: {
      brightness?: number | [number, number];
      contrast?: number | [number, number];
      saturation?: number;
      hue?: number;
    } = {},
  ) {
    super();
    if (options.saturation || options.hue)
      throw new ArgumentError('ColorJitter: saturation and hue are not supported (brightness and contrast only)');
    const f = (v: number | [number, number] | undefined, what: string): [number, number] | null => {
      if (v === undefined) return null;
      const r = typeof v === 'number' ? ([Math.max(0, 1 - v), 1 + v] as [number, number]) : v;
      if (typeof v === 'number' && v < 0) throw new ArgumentError(`ColorJitter: ${what} must be non-negative`);
      return r[0] === 1 && r[1] === 1 ? null : r;
    };
    this.brightness = f(options.brightness, 'brightness');
    this.contrast = f(options.contrast, 'contrast');
  }
  apply(ctx: ImageContext, img: Img, rng: Random): Img {
    const order = [0, 1];
    if (rng.next() < 0.5) order.reverse();
    const b = this.brightness ? rng.uniform(this.brightness[0], this.brightness[1]) : null;
    const c = this.contrast ? rng.uniform(this.contrast[0], this.contrast[1]) : null;
    for (const k of order) {
      if (k === 0 && b !== null) img = F.adjustBrightness(ctx, img, b);
      if (k === 1 && c !== null) img = F.adjustContrast(ctx, img, c);
    }
    return img;
  }
  spec(): TransformSpec {
    return { name: 'ColorJitter', args: [this.options] };
  }
}

/** uint8 HWC image -> float CHW in [0, 1] (vireo keeps images planar, so only the /255 is left). */
export class ToTensor extends Transform {
  apply(ctx: ImageContext, img: Img): Img {
    return F.toTensor(ctx, img);
  }
  spec(): TransformSpec {
    return { name: 'ToTensor', args: [] };
  }
}

export class Normalize extends Transform {
  constructor(
    readonly mean: readonly number[],
    readonly std: readonly number[],
  ) {
    super();
  }
  apply(ctx: ImageContext, img: Img): Img {
    return F.normalize(ctx, img, this.mean, this.std);
  }
  spec(): TransformSpec {
    return { name: 'Normalize', args: [this.mean, this.std] };
  }
}

const registry: Record<string, (...args: never[]) => Transform> = {
  Compose: (list: TransformSpec[]) => new Compose(list.map(transformFromSpec)),
  Resize: (size: Size, o: object) => new Resize(size, o),
  CenterCrop: (size: Size) => new CenterCrop(size),
  RandomCrop: (size: Size, o: object) => new RandomCrop(size, o),
  RandomResizedCrop: (size: Size, o: object) => new RandomResizedCrop(size, o),
  RandomHorizontalFlip: (p: number) => new RandomHorizontalFlip(p),
  RandomVerticalFlip: (p: number) => new RandomVerticalFlip(p),
  RandomRotation: (d: [number, number], o: object) => new RandomRotation(d, o),
  RandomAffine: (d: [number, number], o: object) => new RandomAffine(d, o),
  ColorJitter: (o: object) => new ColorJitter(o),
  ToTensor: () => new ToTensor(),
  Normalize: (m: number[], s: number[]) => new Normalize(m, s),
};

/** Rebuilds a transform from its spec (how worker threads get the loader's pipeline). */
export function transformFromSpec(spec: TransformSpec): Transform {
  const make = registry[spec.name];
  if (!make)
    throw new ArgumentError(
      `transform '${spec.name}' cannot run in a worker (only vireo's built-in transforms can); use numWorkers: 0`,
    );
  return (make as (...a: unknown[]) => Transform)(...spec.args);
}
