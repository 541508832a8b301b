// Writes data/fashion-mnist-subset/ from Debian's dataset-fashion-mnist package: the first 600
// training and the first 100 test images of each class, in file order (class-balanced, deterministic),
// as gzipped IDX files. Run: node scripts/make_fashion_mnist_subset.mjs [sourceDir]
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = process.argv[2] ?? '/usr/share/datasets/fashion-mnist';
const out = join(root, 'data', 'fashion-mnist-subset');
mkdirSync(out, { recursive: true });

function idx(dims, data) {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 8;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, data]);
}

for (const [prefix, perClass] of [
  ['train', 600],
  ['t10k', 100],
]) {
  const images = gunzipSync(readFileSync(join(src, `${prefix}-images-idx3-ubyte.gz`)));
  const labels = gunzipSync(readFileSync(join(src, `${prefix}-labels-idx1-ubyte.gz`)));
  const n = labels.readUInt32BE(4);
  const taken = new Array(10).fill(0);
  const picks = [];
  for (let i = 0; i < n; i++) {
    const l = labels[8 + i];
    if (taken[l] < perClass) {
      taken[l]++;
      picks.push(i);
    }
  }
  const img = Buffer.alloc(picks.length * 784);
  const lab = Buffer.alloc(picks.length);
  picks.forEach((i, k) => {
    images.copy(img, k * 784, 16 + i * 784, 16 + (i + 1) * 784);
    lab[k] = labels[8 + i];
  });
  const files = [
    [`${prefix}-images-idx3-ubyte.gz`, idx([picks.length, 28, 28], img)],
    [`${prefix}-labels-idx1-ubyte.gz`, idx([picks.length], lab)],
  ];
  for (const [name, raw] of files) {
    writeFileSync(join(out, name), gzipSync(raw, { level: 9 }));
    console.log(
      `${name}: ${picks.length} records, sha256 of the uncompressed IDX ${createHash('sha256').update(raw).digest('hex')}`,
    );
  }
}
