// Ready-made architectures: the networks `vireo train --model NAME` trains, the benchmarks measure and the
// demo runs, built in one place so that every one of them is the same network.
// Through the package entry, so the backends register in its order whichever module is loaded first.
import { nn } from './index.js';
import type { Module } from './nn/module.js';

export interface ArchitectureOptions {
  /** Input channels (default 3). */
  inChannels?: number;
  /** Input height and width, or one number for both (default 32). */
  imageSize?: number | [number, number];
  /** Output logits (default 10). */
  classes?: number;
}

function dims(o: ArchitectureOptions): { c: number; h: number; w: number; classes: number } {
  const size = o.imageSize ?? 32;
  const [h, w] = typeof size === 'number' ? [size, size] : size;
  return { c: o.inChannels ?? 3, h, w, classes: o.classes ?? 10 };
}

/**
 * The reference CNN, the classic CIFAR-10 network: three 3×3 convolutions (64/128/256 channels) each with
 * ReLU and 2×2 max-pooling, then fully connected 4096→1024→512→10 at 3×32×32 (88.6 MFLOP per image).
 * State-dict names conv1.weight … fc3.bias; the input size scales fc1.
 */
export function cifarNet(options: ArchitectureOptions = {}): nn.Sequential {
  const { c, h, w, classes } = dims(options);
  return new nn.Sequential({
    conv1: new nn.Conv2d(c, 64, 3, { padding: 1 }),
    relu1: new nn.ReLU(),
    pool1: new nn.MaxPool2d(2),
    conv2: new nn.Conv2d(64, 128, 3, { padding: 1 }),
    relu2: new nn.ReLU(),
    pool2: new nn.MaxPool2d(2),
    conv3: new nn.Conv2d(128, 256, 3, { padding: 1 }),
    relu3: new nn.ReLU(),
    pool3: new nn.MaxPool2d(2),
    flatten: new nn.Flatten(),
    fc1: new nn.Linear(256 * (h >> 3) * (w >> 3), 1024),
    relu4: new nn.ReLU(),
    fc2: new nn.Linear(1024, 512),
    relu5: new nn.ReLU(),
    fc3: new nn.Linear(512, classes),
  });
}

/**
 * A small CNN: three conv blocks (3×3 conv without bias, BatchNorm, ReLU, 2×2 max-pool; 32/64/128
 * channels), then a 128-unit hidden layer. 241k parameters at 1×28×28, 356k at 3×32×32; inputs larger than
 * 32×32 go through an adaptive 4×4 average pool before the classifier so it stays under 500k.
 */
export function smallCnn(options: ArchitectureOptions = {}): nn.Sequential {
  const { c, h, w, classes } = dims(options);
  const layers = new Map<string, Module>();
  let ch = c;
  [32, 64, 128].forEach((out, i) => {
    layers.set(`conv${i + 1}`, new nn.Conv2d(ch, out, 3, { padding: 1, bias: false }));
    layers.set(`bn${i + 1}`, new nn.BatchNorm2d(out));
    layers.set(`relu${i + 1}`, new nn.ReLU());
    layers.set(`pool${i + 1}`, new nn.MaxPool2d(2));
    ch = out;
  });
  let fh = h >> 3;
  let fw = w >> 3;
  if (fh > 4 || fw > 4) {
    layers.set('avgpool', new nn.AdaptiveAvgPool2d([Math.min(fh, 4), Math.min(fw, 4)]));
    fh = Math.min(fh, 4);
    fw = Math.min(fw, 4);
  }
  layers.set('flatten', new nn.Flatten());
  layers.set('fc1', new nn.Linear(ch * fh * fw, 128));
  layers.set('relu4', new nn.ReLU());
  layers.set('fc2', new nn.Linear(128, classes));
  return new nn.Sequential(layers);
}
