// Images in, model inputs out: the centered square of a photo, a video frame or a file, scaled to the model's
// H×W, then ToTensor and Normalize as torchvision does (channel-first float32).

const canvases = new Map();
function canvas(w, h) {
  const key = `${w}x${h}`;
  if (!canvases.has(key)) {
    const c = document.createElement('canvas');
    c.width = w;
    c.height = h;
    canvases.set(key, c);
  }
  return canvases.get(key);
}

/** RGBA of the centered square of `source` (width × height pixels), scaled to w × h. */
export function squarePixels(source, width, height, w, h) {
  const side = Math.min(width, height);
  const c = canvas(w, h);
  const ctx = c.getContext('2d', { willReadFrequently: true });
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  ctx.clearRect(0, 0, w, h);
  ctx.drawImage(source, (width - side) / 2, (height - side) / 2, side, side, 0, 0, w, h);
  return ctx.getImageData(0, 0, w, h).data;
}

/** A file as an ImageBitmap, pixels as stored (no colour-space conversion); a plain error when it is not an image. */
export async function fileToBitmap(file) {
  try {
    return await createImageBitmap(file, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch {
    throw new Error(`${file.name || 'The file'} is not an image this browser can read.`);
  }
}

/**
 * RGBA → [C, H, W] float32: grey (ITU-R 601 luma, rounded) when the model takes one channel, then
 * (v / 255 - mean) / std per channel. `invert` flips light and dark first: Fashion-MNIST's clothes are light on
 * black, a photo's are mostly dark on light.
 */
export function toInput(rgba, [c, h, w], normalization, invert = false) {
  const plane = h * w;
  const out = new Float32Array(c * plane);
  const mean = normalization?.mean ?? new Array(c).fill(0);
  const std = normalization?.std ?? new Array(c).fill(1);
  for (let p = 0; p < plane; p++) {
    const r = rgba[4 * p];
    const g = rgba[4 * p + 1];
    const b = rgba[4 * p + 2];
    for (let ch = 0; ch < c; ch++) {
      let v = c === 1 ? Math.round(0.299 * r + 0.587 * g + 0.114 * b) : rgba[4 * p + ch];
      if (invert) v = 255 - v;
      out[ch * plane + p] = (v / 255 - mean[ch]) / std[ch];
    }
  }
  return out;
}

/** Whether the border of the picture is mostly light (the background of a photo of a garment on a table). */
export function lightBorder(rgba, w, h) {
  let sum = 0;
  let n = 0;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      if (y > 1 && y < h - 2 && x > 1 && x < w - 2) continue;
      const i = 4 * (y * w + x);
      sum += (rgba[i] + rgba[i + 1] + rgba[i + 2]) / 3;
      n++;
    }
  return sum / n > 127;
}

/** RGBA → packed RGB bytes (HWC): what the Teach samples keep. */
export function rgbOf(rgba) {
  const out = new Uint8Array((rgba.length / 4) * 3);
  for (let p = 0, q = 0; p < rgba.length; p += 4, q += 3) {
    out[q] = rgba[p];
    out[q + 1] = rgba[p + 1];
    out[q + 2] = rgba[p + 2];
  }
  return out;
}

/** Packed RGB (HWC) as a small canvas, for thumbnails. */
export function rgbCanvas(rgb, w, h) {
  const c = document.createElement('canvas');
  c.width = w;
  c.height = h;
  const img = new ImageData(w, h);
  for (let p = 0, q = 0; q < rgb.length; p += 4, q += 3) {
    img.data[p] = rgb[q];
    img.data[p + 1] = rgb[q + 1];
    img.data[p + 2] = rgb[q + 2];
    img.data[p + 3] = 255;
  }
  c.getContext('2d').putImageData(img, 0, 0);
  return c;
}
