// Image decoding: sharp in Node, createImageBitmap + OffscreenCanvas in browsers (and their workers).
import { FormatError } from '../core/errors.js';
import { isNode, isSharedBuffer } from '../core/platform.js';

export interface DecodedImage {
  data: Uint8Array;
  height: number;
  width: number;
  channels: number;
}

// A non-literal specifier keeps bundlers from pulling sharp (a native Node addon) into browser builds.
const sharpName = 'sharp';
type SharpFn = (input: Uint8Array) => {
  removeAlpha(): ReturnType<SharpFn>;
  toColourspace(space: string): ReturnType<SharpFn>;
  raw(): ReturnType<SharpFn>;
  toBuffer(options: {
    resolveWithObject: true;
  }): Promise<{ data: Uint8Array; info: { width: number; height: number; channels: number } }>;
};
let sharpPromise: Promise<SharpFn> | null = null;

async function decodeNode(bytes: Uint8Array, source: string, channels: number): Promise<DecodedImage> {
  sharpPromise ??= import(sharpName).then((m: { default: SharpFn }) => m.default);
  const sharp = await sharpPromise;
  try {
    const pipeline = sharp(bytes)
      .removeAlpha()
      .toColourspace(channels === 1 ? 'b-w' : 'srgb')
      .raw();
    const { data, info } = await pipeline.toBuffer({ resolveWithObject: true });
    if (info.channels !== channels) throw new Error(`decoded ${info.channels} channels, expected ${channels}`);
    return {
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      height: info.height,
      width: info.width,
      channels,
    };
  } catch (e) {
    throw new FormatError(`${source}: cannot decode the image (${(e as Error).message})`);
  }
}

async function decodeBrowser(bytes: Uint8Array, source: string, channels: number): Promise<DecodedImage> {
  let bitmap: ImageBitmap;
  try {
    // A Blob cannot be made from shared memory (the worker's input buffer when cross-origin isolated).
    const own = isSharedBuffer(bytes.buffer) ? bytes.slice() : bytes;
    bitmap = await createImageBitmap(new Blob([own as Uint8Array<ArrayBuffer>]));
  } catch (e) {
    throw new FormatError(`${source}: cannot decode the image (${(e as Error).message})`);
  }
  const { width, height } = bitmap;
  const canvas = new OffscreenCanvas(width, height);
  const g = canvas.getContext('2d');
  if (!g) throw new FormatError(`${source}: no 2d canvas context to decode with`);
  g.drawImage(bitmap, 0, 0);
  bitmap.close();
  const rgba = g.getImageData(0, 0, width, height).data;
  const out = new Uint8Array(width * height * channels);
  for (let i = 0, n = width * height; i < n; i++) {
    const r = rgba[4 * i];
    const gg = rgba[4 * i + 1];
    const b = rgba[4 * i + 2];
    if (channels === 1) out[i] = Math.round(0.2126 * r + 0.7152 * gg + 0.0722 * b);
    else {
      out[3 * i] = r;
      out[3 * i + 1] = gg;
      out[3 * i + 2] = b;
    }
  }
  return { data: out, height, width, channels };
}

/** Decodes a PNG/JPEG/WebP/... file to uint8 HWC with 1 (grayscale) or 3 (RGB) channels. */
export function decodeImage(bytes: Uint8Array, source: string, channels = 3): Promise<DecodedImage> {
  return isNode ? decodeNode(bytes, source, channels) : decodeBrowser(bytes, source, channels);
}
