// Pictures for the web app's browser tests, from the embedded Fashion-MNIST subset: 28×28 grey PNGs (what
// the shipped model takes), 32×32 colour PNGs (what Teach learns from), and a Y4M video for chromium's fake
// camera. The same pixels go to Node, so the app's answers can be checked against the library's.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import sharp from 'sharp';
import { datasets } from '../../src/index.js';

const subset = new URL('../../data/fashion-mnist-subset/', import.meta.url);

/** The subset's 1,000 test images (28×28, uint8) and labels. */
export function fashionTest(): { images: Uint8Array; labels: Uint8Array; at(i: number): Uint8Array } {
  const read = (name: string) => datasets.parseIdx(gunzipSync(readFileSync(new URL(name, subset))), name).data as Uint8Array;
  const images = read('t10k-images-idx3-ubyte.gz');
  const labels = read('t10k-labels-idx1-ubyte.gz');
  return { images, labels, at: (i) => images.subarray(i * 784, (i + 1) * 784) };
}

/** Indices of the first `n` test images of class `label`, after skipping `skip` of them. */
export function ofClass(labels: Uint8Array, label: number, n: number, skip = 0): number[] {
  const out: number[] = [];
  for (let i = 0; i < labels.length && out.length < n + skip; i++) if (labels[i] === label) out.push(i);
  return out.slice(skip);
}

export const greyPng = (pixels: Uint8Array) =>
  sharp(Buffer.from(pixels), { raw: { width: 28, height: 28, channels: 1 } })
    .png()
    .toBuffer();

/** 28×28 grey → 32×32 RGB (a 2-pixel black border), the size Teach's test model takes: no scaling anywhere. */
export function rgb32(pixels: Uint8Array): Uint8Array {
  const out = new Uint8Array(32 * 32 * 3);
  for (let y = 0; y < 28; y++)
    for (let x = 0; x < 28; x++) out.fill(pixels[y * 28 + x], ((y + 2) * 32 + x + 2) * 3, ((y + 2) * 32 + x + 3) * 3);
  return out;
}

export const rgbPng32 = (pixels: Uint8Array) =>
  sharp(Buffer.from(rgb32(pixels)), { raw: { width: 32, height: 32, channels: 3 } })
    .png()
    .toBuffer();

/**
 * A Y4M video (4:2:0, grey: chroma 128) for --use-file-for-fake-video-capture: the 28×28 picture scaled `scale`
 * times (nearest) in the middle of a black width × height frame, repeated `frames` times.
 */
export function y4m(pixels: Uint8Array, { width = 320, height = 224, scale = 8, frames = 2 } = {}): Buffer {
  const luma = new Uint8Array(width * height);
  const side = 28 * scale;
  const ox = (width - side) >> 1;
  const oy = (height - side) >> 1;
  for (let y = 0; y < side; y++)
    for (let x = 0; x < side; x++) luma[(oy + y) * width + ox + x] = pixels[Math.floor(y / scale) * 28 + Math.floor(x / scale)];
  const chroma = new Uint8Array((width / 2) * (height / 2) * 2).fill(128);
  const frame = Buffer.concat([Buffer.from('FRAME\n'), luma, chroma]);
  return Buffer.concat([Buffer.from(`YUV4MPEG2 W${width} H${height} F10:1 Ip A1:1 C420jpeg\n`), ...Array(frames).fill(frame)]);
}
