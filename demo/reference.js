// The bundle check page (the browser tests compare it with Node): draw a picture, turn it into a [1,3,32,32] tensor, run the reference CNN on the wasm
// backend and show the top classes. Uses the package entry only (the browser bundle, vireo.browser.js).
import { backendInfo, manualSeed, models, tensor } from './vireo.browser.js';

const CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
const MEAN = [0.4914, 0.4822, 0.4465];
const STD = [0.247, 0.2435, 0.2616];

/** The reference CNN (the classic CIFAR-10 network, as `vireo train --model cifar-net` builds it). */
function referenceCnn() {
  return models.cifarNet();
}

/** A procedural picture (no network): sky, sun, sea and a sailing boat. */
function drawScene(ctx, w, h) {
  const sky = ctx.createLinearGradient(0, 0, 0, h * 0.6);
  sky.addColorStop(0, '#5a96eb');
  sky.addColorStop(1, '#bcdcf5');
  ctx.fillStyle = sky;
  ctx.fillRect(0, 0, w, h * 0.6);
  const sea = ctx.createLinearGradient(0, h * 0.6, 0, h);
  sea.addColorStop(0, '#1f5a8c');
  sea.addColorStop(1, '#0d2f52');
  ctx.fillStyle = sea;
  ctx.fillRect(0, h * 0.6, w, h * 0.4);
  ctx.fillStyle = '#ffe278';
  ctx.beginPath();
  ctx.arc(w * 0.78, h * 0.2, w * 0.08, 0, 2 * Math.PI);
  ctx.fill();
  ctx.strokeStyle = 'rgba(255,255,255,0.35)';
  ctx.lineWidth = w / 128;
  for (let i = 0; i < 7; i++) {
    const y = h * (0.66 + i * 0.05);
    ctx.beginPath();
    for (let x = 0; x <= w; x += w / 32) ctx.lineTo(x, y + Math.sin(x / (w / 16) + i) * (h / 128));
    ctx.stroke();
  }
  ctx.fillStyle = '#7a281e';
  ctx.beginPath();
  ctx.moveTo(w * 0.2, h * 0.58);
  ctx.lineTo(w * 0.64, h * 0.58);
  ctx.lineTo(w * 0.56, h * 0.68);
  ctx.lineTo(w * 0.28, h * 0.68);
  ctx.closePath();
  ctx.fill();
  ctx.fillStyle = '#f5f5f0';
  ctx.beginPath();
  ctx.moveTo(w * 0.43, h * 0.22);
  ctx.lineTo(w * 0.43, h * 0.56);
  ctx.lineTo(w * 0.6, h * 0.56);
  ctx.closePath();
  ctx.fill();
  ctx.fillStyle = '#3c281e';
  ctx.fillRect(w * 0.415, h * 0.2, w * 0.015, h * 0.38);
}

/** RGBA pixels of a 32×32 canvas to a normalized NCHW Float32Array (ToTensor + Normalize). */
function toChw(rgba, size) {
  const plane = size * size;
  const out = new Float32Array(3 * plane);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) out[c * plane + p] = (rgba[p * 4 + c] / 255 - MEAN[c]) / STD[c];
  }
  return out;
}

function softmax(logits) {
  const max = Math.max(...logits);
  const e = logits.map((v) => Math.exp(v - max));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

async function main() {
  const params = new URLSearchParams(location.search);
  const seed = Number(params.get('seed') ?? 0);
  const backend = params.get('backend') ?? 'wasm'; // 'reference' runs the plain-TypeScript oracle instead
  const scene = document.getElementById('scene');
  drawScene(scene.getContext('2d'), scene.width, scene.height);
  const small = document.getElementById('small');
  const sctx = small.getContext('2d', { willReadFrequently: true });
  sctx.imageSmoothingQuality = 'high';
  sctx.drawImage(scene, 0, 0, 32, 32);
  const input = toChw(sctx.getImageData(0, 0, 32, 32).data, 32);

  const info = await backendInfo('wasm');
  manualSeed(seed);
  const net = referenceCnn();
  net.eval();
  await net.to(backend);
  const x = tensor(input, [1, 3, 32, 32]);
  const t0 = performance.now();
  const out = await net.forward(x);
  const firstMs = performance.now() - t0;
  const t1 = performance.now();
  const logits = Array.from(await (await net.forward(x)).data());
  const warmMs = performance.now() - t1;

  const probs = softmax(logits);
  const ranked = probs.map((p, i) => ({ label: CLASSES[i], p })).sort((a, b) => b.p - a.p);
  document.getElementById('top').innerHTML = ranked
    .slice(0, 5)
    .map(
      (r) =>
        `<tr><td>${r.label}</td><td class="p">${(100 * r.p).toFixed(1)}%</td>` +
        `<td><div class="bar" style="width:${Math.round(400 * r.p)}px"></div></td></tr>`,
    )
    .join('');
  const features = Object.entries(info.features ?? {})
    .map(([k, v]) => `${k} ${v ? 'yes' : 'no'}`)
    .join(', ');
  document.getElementById('backend').textContent =
    backend === 'wasm'
      ? `backend: wasm, build '${info.build}' (${features}), ${info.threads} thread(s): ${info.threadsReason}`
      : `backend: ${backend} (wasm here: build '${info.build}', ${features})`;
  document.getElementById('status').textContent =
    `done: first forward ${firstMs.toFixed(1)} ms (plan + packing), then ${warmMs.toFixed(1)} ms; seed ${seed}`;
  // For tests and curious readers: what ran, on what.
  window.vireoDemo = {
    state: 'done',
    seed,
    backend,
    build: info.build,
    features: info.features,
    threads: info.threads,
    threadsReason: info.threadsReason,
    crossOriginIsolated: window.crossOriginIsolated === true,
    shape: out.shape,
    logits,
    input: Array.from(input),
  };
  document.body.dataset.state = 'done';
}

main().catch((err) => {
  const status = document.getElementById('status');
  status.textContent = `error: ${err?.message ?? err}`;
  status.className = 'error';
  window.vireoDemo = { state: 'error', error: String(err?.message ?? err) };
  document.body.dataset.state = 'error';
});
