/** CIFAR-10 per-channel mean and std (torchvision's usual normalization). */
export const cifarMean = [0.4914, 0.4822, 0.4465];
export const cifarStd = [0.247, 0.2435, 0.2616];

/**
 * The demo's embedded input: a 32×32 RGB picture drawn by code (a boat on the sea under a sky with a
 * sun), so `vireo demo` needs no file or network. Returns 8-bit RGB, row-major, 3 bytes per pixel.
 */
export function sampleImageRgb(size = 32): Uint8Array {
  const rgb = new Uint8Array(size * size * 3);
  const horizon = Math.round(size * 0.6);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const u = x / size;
      const v = y / size;
      let r: number;
      let g: number;
      let b: number;
      if (y < horizon) {
        r = 90 + 100 * v;
        g = 150 + 70 * v;
        b = 235;
      } else {
        const wave = Math.sin(u * 18 + v * 40) * 12;
        r = 20 + wave;
        g = 70 + 30 * v + wave;
        b = 140 + 40 * v + wave;
      }
      const sun = Math.hypot(u - 0.78, v - 0.2);
      if (sun < 0.09) [r, g, b] = [255, 226, 120];
      const hullTop = horizon - 1;
      const inHull = y >= hullTop && y <= horizon + 2 && Math.abs(u - 0.42) < 0.22 - 0.04 * (y - hullTop);
      if (inHull) [r, g, b] = [120, 40, 30];
      const inSail = y >= horizon - 11 && y < hullTop && u > 0.42 && u - 0.42 < ((y - (horizon - 11)) / 11) * 0.16;
      if (inSail) [r, g, b] = [245, 245, 240];
      if (Math.abs(u - 0.42) < 0.5 / size && y >= horizon - 12 && y < hullTop) [r, g, b] = [60, 40, 30];
      const i = (y * size + x) * 3;
      rgb[i] = Math.max(0, Math.min(255, Math.round(r)));
      rgb[i + 1] = Math.max(0, Math.min(255, Math.round(g)));
      rgb[i + 2] = Math.max(0, Math.min(255, Math.round(b)));
    }
  }
  return rgb;
}

/** 8-bit pixels (RGB or RGBA, row-major) to a normalized CHW Float32Array, as torchvision's ToTensor + Normalize. */
export function pixelsToChw(pixels: ArrayLike<number>, width: number, height: number, channelsPerPixel: 3 | 4): Float32Array {
  const out = new Float32Array(3 * width * height);
  const plane = width * height;
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) {
      out[c * plane + p] = (pixels[p * channelsPerPixel + c] / 255 - cifarMean[c]) / cifarStd[c];
    }
  }
  return out;
}

/** Softmax probabilities (or the scores as they are, when they are probabilities) and the k most likely classes. */
export function topK(
  logits: ArrayLike<number>,
  classes: readonly string[],
  k: number,
  probabilities = false,
): { label: string; index: number; probability: number }[] {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  const exps = Array.from(logits, (v) => (probabilities ? v : Math.exp(v - max)));
  const sum = probabilities ? 1 : exps.reduce((a, b) => a + b, 0);
  return exps
    .map((e, index) => ({ label: classes[index] ?? String(index), index, probability: e / sum }))
    .sort((a, b) => b.probability - a.probability)
    .slice(0, k);
}
