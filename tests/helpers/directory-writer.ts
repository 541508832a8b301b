// Child process for tests/cli-faults.test.ts: writes ever newer versions of a three-file model directory
// with writeDirectoryAtomic, printing each version once its write returned, until it is killed. Every file
// of version v holds v, so a reader can tell a mix of two versions from one complete version.
import { writeDirectoryAtomic } from '../../src/io/directory.js';

const [dir, sizeArg] = process.argv.slice(2);
const size = Number(sizeArg);
for (let v = 1; ; v++) {
  const body = new Uint8Array(size).fill(v & 0xff);
  await writeDirectoryAtomic(dir, [
    { name: 'weights.safetensors', data: body },
    { name: 'checkpoint.safetensors', data: body },
    { name: 'model.json', data: JSON.stringify({ version: v }) },
  ]);
  process.stdout.write(`${v}\n`);
  await new Promise((r) => setImmediate(r));
}
