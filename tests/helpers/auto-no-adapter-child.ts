// A fresh process whose Vulkan driver list names nothing: `auto` must leave webgpu out (saying why) and run
// on wasm, while naming webgpu as a candidate must fail with vireo's message. Prints one line per check.
import { nn, tensor } from '../../src/index.js';

const net = new nn.Sequential({ fc: new nn.Linear(3, 2) });
await net.to('auto');
const compiled = await net.compiledModel();
process.stdout.write(`candidates: ${compiled.auto?.candidates.map((b) => b.name).join(', ')}\n`);
for (const s of compiled.auto?.skipped ?? []) process.stdout.write(`skipped: ${s.name}: ${s.reason}\n`);
net.eval();
const y = await net.forward(tensor([1, 2, 3], [1, 3]));
process.stdout.write(`forward: ${y.dataSync().length} values\n`);
try {
  await net.to('auto', { candidates: ['wasm', 'webgpu'] });
  process.stdout.write('explicit: got an adapter\n');
} catch (e) {
  process.stdout.write(`explicit: ${(e as Error).name}: ${(e as Error).message}\n`);
}
