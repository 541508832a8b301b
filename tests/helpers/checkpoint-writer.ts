// Child process for tests/checkpoint.test.ts: saves ever newer versions of a large checkpoint to one path
// and prints each version number once its save returned, until it is killed.
import { Tensor } from '../../src/core/tensor.js';
import { saveCheckpoint } from '../../src/io/checkpoint.js';

const [path, floatsArg] = process.argv.slice(2);
const n = Number(floatsArg);
for (let v = 1; ; v++) {
  await saveCheckpoint(path, {
    epoch: v,
    step: v % 7,
    model: {
      'conv.weight': new Tensor(new Float32Array(n).fill(v), [n]),
      'bn.num_batches_tracked': new Tensor(new Float32Array([v]), [], { integer: true }),
    },
    optimizer: {
      state: { 0: { step: v, buffers: { momentumBuffer: new Float32Array(n).fill(-v) } } },
      paramGroups: [{ lr: v, params: [0] }],
    },
    schedule: { lastEpoch: v },
    rng: { seed: 1, loaderEpoch: v },
    history: Array.from({ length: v % 50 }, (_, i) => ({ epoch: i + 1 })),
    config: { version: v },
  });
  process.stdout.write(`${v}\n`);
  // A macrotask between saves lets the kill land anywhere, including between saves.
  await new Promise((r) => setImmediate(r));
}
