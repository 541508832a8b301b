import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Tensor, nn, readSafetensorsFile } from '../../src/index.js';

/** tests/fixtures/, written by scripts/make_fixtures.py (`npm run fixtures`) with PyTorch. */
export const fixturesDir = fileURLToPath(new URL('../fixtures/', import.meta.url));

export function fixturePath(name: string): string {
  return `${fixturesDir}${name}`;
}

export function readFixture(name: string): { tensors: Map<string, Tensor>; metadata: Record<string, string> } {
  return readSafetensorsFile(new Uint8Array(readFileSync(fixturePath(name))), name);
}

/** The reference CNN, exactly as written there (state-dict names conv1.weight ... fc3.bias). */
export function referenceCnn(): nn.Sequential {
  return new nn.Sequential({
    conv1: new nn.Conv2d(3, 64, 3, { padding: 1 }),
    relu1: new nn.ReLU(),
    pool1: new nn.MaxPool2d(2),
    conv2: new nn.Conv2d(64, 128, 3, { padding: 1 }),
    relu2: new nn.ReLU(),
    pool2: new nn.MaxPool2d(2),
    conv3: new nn.Conv2d(128, 256, 3, { padding: 1 }),
    relu3: new nn.ReLU(),
    pool3: new nn.MaxPool2d(2),
    flatten: new nn.Flatten(),
    fc1: new nn.Linear(4096, 1024),
    relu4: new nn.ReLU(),
    fc2: new nn.Linear(1024, 512),
    relu5: new nn.ReLU(),
    fc3: new nn.Linear(512, 10),
  });
}

/** The same model as small_net() in scripts/make_fixtures.py, built with vireo's nn API. */
export function smallNet(): nn.Sequential {
  return new nn.Sequential({
    stem: new nn.Conv2d(3, 10, 3, { stride: 2, padding: 1, bias: false }),
    bn0: new nn.BatchNorm2d(10),
    act0: new nn.ReLU6(),
    pool: new nn.MaxPool2d(3, { stride: 2, padding: 1, ceilMode: true }),
    block1: new nn.Residual(
      new nn.Sequential(
        new nn.Conv2d(10, 10, 3, { padding: 1, groups: 10, bias: false }),
        new nn.BatchNorm2d(10),
        new nn.ReLU6(),
        new nn.Conv2d(10, 10, 1, { bias: false }),
        new nn.BatchNorm2d(10),
      ),
    ),
    smooth: new nn.AvgPool2d(3, { stride: 1, padding: 1, countIncludePad: false }),
    block2: new nn.Residual(
      new nn.Sequential(
        new nn.Conv2d(10, 10, 3, { stride: 2, padding: 1, groups: 10, bias: false }),
        new nn.BatchNorm2d(10),
        new nn.ReLU6(),
        new nn.Conv2d(10, 18, 1),
        new nn.BatchNorm2d(18),
      ),
      new nn.Sequential(new nn.Conv2d(10, 18, 1, { stride: 2, bias: false }), new nn.BatchNorm2d(18)),
    ),
    act1: new nn.ReLU6(),
    gap: new nn.AdaptiveAvgPool2d(1),
    flatten: new nn.Flatten(),
    drop: new nn.Dropout(0.2),
    fc: new nn.Linear(18, 10),
  });
}

/** The same model as edge_net() in scripts/make_fixtures.py: the op semantics not in the two above. */
export function edgeNet(): nn.Sequential {
  return new nn.Sequential({
    c1: new nn.Conv2d(3, 6, 4, { padding: 'same' }),
    a1: new nn.LeakyReLU(0.1),
    c2: new nn.Conv2d(6, 6, 3, { padding: 2, dilation: 2, groups: 2 }),
    a2: new nn.Tanh(),
    p1: new nn.AvgPool2d(3, { stride: 2, padding: 1, ceilMode: true }),
    c3: new nn.Conv2d(6, 8, [3, 1], { stride: [2, 1], padding: [1, 0], bias: false }),
    a3: new nn.Sigmoid(),
    p2: new nn.MaxPool2d(2, { stride: 1, dilation: 2 }),
    gap: new nn.AdaptiveAvgPool2d(1),
    flatten: new nn.Flatten(),
    fc: new nn.Linear(8, 5, { bias: false }),
    softmax: new nn.Softmax(1),
  });
}

export interface ParityFixture {
  name: string;
  build: () => nn.Sequential;
}

export const parityFixtures: ParityFixture[] = [
  { name: 'reference_cnn', build: referenceCnn },
  { name: 'small_net', build: smallNet },
  { name: 'edge_net', build: edgeNet },
];
