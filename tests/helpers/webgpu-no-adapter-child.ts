// A fresh process whose Vulkan driver list names nothing: asking for the WebGPU backend must fail fast with
// vireo's message (printed on stdout), never hang.
import { getBackend } from '../../src/index.js';

try {
  await getBackend('webgpu');
  process.stdout.write('got an adapter\n');
} catch (e) {
  process.stdout.write(`${(e as Error).name}: ${(e as Error).message}\n`);
}
