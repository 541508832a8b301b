// Makes the model the web app's Classify view ships (demo/models/fashion-mnist/): a small CNN trained by
// `vireo train` on the full Fashion-MNIST from Debian's dataset-fashion-mnist (60,000 training images,
// tested on the 10,000 test images). Reproducible: the initial weights come from manualSeed(SEED) and
// `vireo train --seed` fixes the shuffles; run it again and the same weights come out on the same wasm build.
//
//   apt-get install dataset-fashion-mnist && npm run build && node scripts/make-demo-model.mjs
//
// The architecture is smaller than `small-cnn` (61k parameters, 240 KB of float32 weights instead of
// 970 KB) so the app stays light to download and precache; it is written as a model directory first,
// and `vireo train --model DIR` trains it from there.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import sharp from 'sharp';
import { datasets, manualSeed, nn, saveModel } from '../dist/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const DATA = process.env.FASHION_MNIST ?? '/usr/share/datasets/fashion-mnist';
// VIREO_DEMO_MODEL_OUT: write elsewhere (to compare a rerun with the committed model).
const OUT = process.env.VIREO_DEMO_MODEL_OUT ?? join(root, 'demo', 'models', 'fashion-mnist');
const SEED = 15;
const EPOCHS = Number(process.env.EPOCHS ?? 3);
const CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

if (!existsSync(join(DATA, 'train-images-idx3-ubyte.gz'))) {
  console.error(`${DATA}: no Fashion-MNIST here (Debian: apt-get install dataset-fashion-mnist, or set FASHION_MNIST)`);
  process.exit(1);
}

/** Three conv blocks (16/32/64 channels, BatchNorm, ReLU, 2×2 max-pool) and a 64-unit hidden layer. */
function tinyCnn() {
  const block = (i, cin, cout) => [
    [`conv${i}`, new nn.Conv2d(cin, cout, 3, { padding: 1, bias: false })],
    [`bn${i}`, new nn.BatchNorm2d(cout)],
    [`relu${i}`, new nn.ReLU()],
    [`pool${i}`, new nn.MaxPool2d(2)],
  ];
  return new nn.Sequential(
    new Map([
      ...block(1, 1, 16),
      ...block(2, 16, 32),
      ...block(3, 32, 64),
      ['flatten', new nn.Flatten()],
      ['fc1', new nn.Linear(64 * 3 * 3, 64)],
      ['relu4', new nn.ReLU()],
      ['fc2', new nn.Linear(64, 10)],
    ]),
  );
}

/** demo/examples/K.png: the first test image of class K (28×28 grey), the Classify view's example buttons. */
async function writeExamples() {
  const images = datasets.parseIdx(gunzipSync(readFileSync(join(DATA, 't10k-images-idx3-ubyte.gz'))), 't10k-images');
  const labels = datasets.parseIdx(gunzipSync(readFileSync(join(DATA, 't10k-labels-idx1-ubyte.gz'))), 't10k-labels');
  const dir = join(root, 'demo', 'examples');
  mkdirSync(dir, { recursive: true });
  for (let k = 0; k < CLASSES.length; k++) {
    const i = labels.data.indexOf(k);
    const pixels = images.data.subarray(i * 784, (i + 1) * 784);
    await sharp(Buffer.from(pixels), { raw: { width: 28, height: 28, channels: 1 } })
      .png()
      .toFile(join(dir, `${k}.png`));
  }
}

if (process.argv.includes('--examples-only')) {
  await writeExamples();
  process.exit(0);
}
if (!process.env.VIREO_DEMO_MODEL_OUT) await writeExamples();

const init = mkdtempSync(join(tmpdir(), 'vireo-demo-model-'));
try {
  manualSeed(SEED);
  await saveModel(init, tinyCnn(), {
    name: 'fashion-mnist-tiny-cnn',
    inputShape: [1, 28, 28],
    classes: CLASSES,
    // Fashion-MNIST's mean and std, as `vireo train` normalizes it.
    normalization: { mean: [0.286], std: [0.353] },
  });
  const args = ['train', '--data', DATA, '--model', init, '--epochs', String(EPOCHS), '--seed', String(SEED), '--out', OUT];
  console.log(`vireo ${args.join(' ')}`);
  execFileSync(process.execPath, [join(root, 'bin', 'vireo.js'), ...args], { stdio: 'inherit', cwd: root });
  // The checkpoint (optimizer state) is for resuming; the app needs only model.json + weights.safetensors.
  rmSync(join(OUT, 'checkpoint.safetensors'), { force: true });
} finally {
  rmSync(init, { recursive: true, force: true });
}
