// Child process for tests/threads.test.ts: uses a threaded wasm backend and then simply ends. The test
// asserts the process exits on its own (the workers are unref'd; nothing is closed here on purpose).
import { nn, tensor } from '../../src/index.js';

const net = new nn.Sequential({
  conv: new nn.Conv2d(3, 8, 3, { padding: 1 }),
  flat: new nn.Flatten(),
  fc: new nn.Linear(8 * 64, 4),
});
await net.to('wasm', { threads: 2 });
const y = await net.forward(tensor(new Float32Array(2 * 3 * 64).fill(0.5), [2, 3, 8, 8]));
const info = (await net.currentBackend()).info();
process.stdout.write(`${JSON.stringify({ threads: info.threads, logits: Array.from(await y.data()).length })}\n`);
