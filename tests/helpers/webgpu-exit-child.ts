// A fresh process that runs a model on WebGPU and then simply ends: the test that spawns it proves Node
// exits on its own (Dawn keeps a process alive while its instance is referenced). `dispose` as the first
// argument also calls disposeBackend('webgpu') first.
import { Tensor, disposeBackend, nn } from '../../src/index.js';

const net = new nn.Sequential({ c: new nn.Conv2d(1, 2, 3), r: new nn.ReLU(), f: new nn.Flatten(), l: new nn.Linear(8, 3) });
await net.to('webgpu');
net.eval();
const y = await net.forward(new Tensor(new Float32Array(16).fill(1), [1, 1, 4, 4]));
process.stdout.write(`${(await y.data()).length} values\n`);
if (process.argv[2] === 'dispose') await disposeBackend('webgpu');
