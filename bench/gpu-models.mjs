// The two benchmark networks of bench/gpu.mjs, built for vireo (NCHW, through the package's nn) and for
// tfjs (NHWC ops, its own random weights): the reference CNN and a MobileNet-style network.
import { referenceCnn } from './common.mjs';

/** MobileNet-style blocks: (in, out, stride) of each depthwise-separable block after the 3×3 stem. */
const BLOCKS = [
  [32, 64, 1],
  [64, 128, 2],
  [128, 128, 1],
  [128, 256, 2],
  [256, 256, 1],
];

export function vireoModel(nn, which) {
  if (which === 'cnn') return referenceCnn(nn);
  const layers = {
    stem: new nn.Conv2d(3, 32, 3, { stride: 2, padding: 1, bias: false }),
    stemBn: new nn.BatchNorm2d(32),
    stemAct: new nn.ReLU6(),
  };
  BLOCKS.forEach(([cin, cout, stride], i) => {
    layers[`dw${i}`] = new nn.Conv2d(cin, cin, 3, { stride, padding: 1, groups: cin, bias: false });
    layers[`dwBn${i}`] = new nn.BatchNorm2d(cin);
    layers[`dwAct${i}`] = new nn.ReLU6();
    layers[`pw${i}`] = new nn.Conv2d(cin, cout, 1, { bias: false });
    layers[`pwBn${i}`] = new nn.BatchNorm2d(cout);
    layers[`pwAct${i}`] = new nn.ReLU6();
  });
  layers.pool = new nn.AdaptiveAvgPool2d(1);
  layers.flatten = new nn.Flatten();
  layers.fc = new nn.Linear(256, 10);
  return new nn.Sequential(layers);
}

export function randomArray(n, seed) {
  let s = seed >>> 0;
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = (s / 2 ** 32 - 0.5) * 0.2;
  }
  return a;
}

/** `forward(x, training)` on NHWC input and the variables an optimizer trains. */
export function tfjsModel(tf, which) {
  let seed = 1;
  const v = (shape, fill) =>
    tf.variable(
      fill === undefined
        ? tf.tensor(
            randomArray(
              shape.reduce((a, b) => a * b, 1),
              seed++,
            ),
            shape,
          )
        : tf.fill(shape, fill),
    );
  if (which === 'cnn') {
    const w = {
      c1: v([3, 3, 3, 64]),
      b1: v([64]),
      c2: v([3, 3, 64, 128]),
      b2: v([128]),
      c3: v([3, 3, 128, 256]),
      b3: v([256]),
      f1: v([4096, 1024]),
      g1: v([1024]),
      f2: v([1024, 512]),
      g2: v([512]),
      f3: v([512, 10]),
      g3: v([10]),
    };
    const forward = (x) => {
      let y = tf.maxPool(tf.relu(tf.add(tf.conv2d(x, w.c1, 1, 'same'), w.b1)), 2, 2, 'valid');
      y = tf.maxPool(tf.relu(tf.add(tf.conv2d(y, w.c2, 1, 'same'), w.b2)), 2, 2, 'valid');
      y = tf.maxPool(tf.relu(tf.add(tf.conv2d(y, w.c3, 1, 'same'), w.b3)), 2, 2, 'valid');
      y = tf.reshape(y, [x.shape[0], 4096]);
      y = tf.relu(tf.add(tf.matMul(y, w.f1), w.g1));
      y = tf.relu(tf.add(tf.matMul(y, w.f2), w.g2));
      return tf.add(tf.matMul(y, w.f3), w.g3);
    };
    return { forward, vars: Object.values(w) };
  }
  const vars = [];
  const bn = (c) => {
    const p = { gamma: v([c], 1), beta: v([c], 0), mean: tf.zeros([c]), variance: tf.ones([c]) };
    vars.push(p.gamma, p.beta);
    return (y, training) => {
      if (!training) return tf.batchNorm(y, p.mean, p.variance, p.beta, p.gamma, 1e-5);
      const { mean, variance } = tf.moments(y, [0, 1, 2]);
      return tf.batchNorm(y, mean, variance, p.beta, p.gamma, 1e-5);
    };
  };
  const stem = v([3, 3, 3, 32]);
  vars.push(stem);
  const stemBn = bn(32);
  const blocks = BLOCKS.map(([cin, cout, stride]) => {
    const b = { dw: v([3, 3, cin, 1]), dwBn: bn(cin), pw: v([1, 1, cin, cout]), pwBn: bn(cout), stride };
    vars.push(b.dw, b.pw);
    return b;
  });
  const fc = v([256, 10]);
  const fcb = v([10]);
  vars.push(fc, fcb);
  const forward = (x, training = false) => {
    let y = tf.relu6(stemBn(tf.conv2d(x, stem, 2, 'same'), training));
    for (const b of blocks) {
      y = tf.relu6(b.dwBn(tf.depthwiseConv2d(y, b.dw, b.stride, 'same'), training));
      y = tf.relu6(b.pwBn(tf.conv2d(y, b.pw, 1, 'valid'), training));
    }
    return tf.add(tf.matMul(tf.mean(y, [1, 2]), fc), fcb);
  };
  return { forward, vars };
}
