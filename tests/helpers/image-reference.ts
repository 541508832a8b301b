// Plain TypeScript image ops on planar float arrays (CHW): the oracle for the wasm image kernels.
// Written straight from PyTorch's definitions (upsample_bilinear2d with align_corners=False,
// affine_grid + grid_sample with zeros padding, torchvision's fill blend), in double precision.

export interface RefImage {
  c: number;
  h: number;
  w: number;
  data: Float64Array;
}

export function refImage(c: number, h: number, w: number, values: ArrayLike<number>): RefImage {
  return { c, h, w, data: Float64Array.from(values) };
}

function finish(v: number, uint8: boolean): number {
  if (!uint8) return v;
  const r = Math.round(v);
  const even = Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
  return Math.min(255, Math.max(0, even));
}

function linear(inSize: number, outSize: number, o: number): [number, number, number] {
  const r = Math.max(0, (inSize / outSize) * (o + 0.5) - 0.5);
  const a = Math.min(Math.floor(r), inSize - 1);
  const b = a < inSize - 1 ? a + 1 : a;
  return [a, b, Math.min(1, r - a)];
}

export function refResizedCrop(
  img: RefImage,
  top: number,
  left: number,
  ch: number,
  cw: number,
  oh: number,
  ow: number,
  uint8: boolean,
): RefImage {
  const out = new Float64Array(img.c * oh * ow);
  for (let p = 0; p < img.c; p++) {
    for (let y = 0; y < oh; y++) {
      const [y0, y1, ly] = linear(ch, oh, y);
      for (let x = 0; x < ow; x++) {
        const [x0, x1, lx] = linear(cw, ow, x);
        const at = (yy: number, xx: number) => img.data[(p * img.h + top + yy) * img.w + left + xx];
        const v = (1 - ly) * ((1 - lx) * at(y0, x0) + lx * at(y0, x1)) + ly * ((1 - lx) * at(y1, x0) + lx * at(y1, x1));
        out[(p * oh + y) * ow + x] = finish(v, uint8);
      }
    }
  }
  return { c: img.c, h: oh, w: ow, data: out };
}

/** Inverse matrix (output -> input, centre-relative), as torchvision's _get_inverse_affine_matrix. */
export function refAffine(img: RefImage, m: readonly number[], bilinear: boolean, fill: number, uint8: boolean): RefImage {
  const { c, h, w } = img;
  const out = new Float64Array(c * h * w);
  for (let oy = 0; oy < h; oy++) {
    for (let ox = 0; ox < w; ox++) {
      const bx = ox - w / 2 + 0.5;
      const by = oy - h / 2 + 0.5;
      const ix = m[0] * bx + m[1] * by + m[2] + w / 2 - 0.5;
      const iy = m[3] * bx + m[4] * by + m[5] + h / 2 - 0.5;
      for (let p = 0; p < c; p++) {
        const at = (yy: number, xx: number) => (yy >= 0 && yy < h && xx >= 0 && xx < w ? img.data[(p * h + yy) * w + xx] : 0);
        const inside = (yy: number, xx: number) => (yy >= 0 && yy < h && xx >= 0 && xx < w ? 1 : 0);
        let v: number;
        if (bilinear) {
          const x0 = Math.floor(ix);
          const y0 = Math.floor(iy);
          const wx = ix - x0;
          const wy = iy - y0;
          const wts = [(1 - wx) * (1 - wy), wx * (1 - wy), (1 - wx) * wy, wx * wy];
          const pts: [number, number][] = [
            [y0, x0],
            [y0, x0 + 1],
            [y0 + 1, x0],
            [y0 + 1, x0 + 1],
          ];
          let s = 0;
          let mask = 0;
          pts.forEach(([yy, xx], k) => {
            s += wts[k] * at(yy, xx);
            mask += wts[k] * inside(yy, xx);
          });
          v = s * mask + (1 - mask) * fill;
        } else {
          const xn = roundHalfEven(ix);
          const yn = roundHalfEven(iy);
          v = inside(yn, xn) ? at(yn, xn) : fill;
        }
        out[(p * h + oy) * w + ox] = finish(v, uint8);
      }
    }
  }
  return { c, h, w, data: out };
}

function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function refFlip(img: RefImage, horizontal: boolean): RefImage {
  const { c, h, w } = img;
  const out = new Float64Array(c * h * w);
  for (let p = 0; p < c; p++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        out[(p * h + y) * w + x] = horizontal ? img.data[(p * h + y) * w + (w - 1 - x)] : img.data[(p * h + (h - 1 - y)) * w + x];
  return { c, h, w, data: out };
}

/** HWC bytes -> CHW values. */
export function refHwcToChw(bytes: Uint8Array, h: number, w: number, c: number): RefImage {
  const out = new Float64Array(c * h * w);
  for (let p = 0; p < c; p++) for (let i = 0; i < h * w; i++) out[p * h * w + i] = bytes[i * c + p];
  return { c, h, w, data: out };
}

export function refNormalize(img: RefImage, mean: number[], std: number[]): RefImage {
  const hw = img.h * img.w;
  return { ...img, data: img.data.map((v, i) => (v - mean[Math.floor(i / hw)]) / std[Math.floor(i / hw)]) };
}
