// Runs the README's usage block as written, against the built package (dist/), with random weights written by
// writeSafetensors. The changes: the 'vireo' specifier points at this checkout's dist/index.js, the README's
// all-zero input is filled with a different random image per batch row (with every row the same, a batch-row
// mix-up could not show), and lines around the block supply `bytes` and the input and report the result.
// The reference backend in-process is the oracle.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { manualSeed, tensor, writeSafetensors } from '../src/index.js';
import { referenceCnn } from './helpers/models.js';
import { randomArray } from './helpers/random.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const distEntry = join(root, 'dist', 'index.js');

function usageBlock(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const start = readme.indexOf('## Usage');
  const match = /```ts\n([\s\S]*?)```/.exec(readme.slice(start));
  if (start < 0 || !match) throw new Error('README.md has no ```ts block under ## Usage');
  return match[1];
}

const work = mkdtempSync(join(tmpdir(), 'vireo-readme-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('README usage', () => {
  const block = usageBlock();

  it('is the issue-2 example: the reference CNN loaded from safetensors, forward on [32, 3, 32, 32]', () => {
    expect(block).toContain("import { nn, tensor, readSafetensors, writeSafetensors } from 'vireo';");
    expect(block).toContain('conv1: new nn.Conv2d(3, 64, 3, { padding: 1 }), relu1: new nn.ReLU(), pool1: new nn.MaxPool2d(2),');
    expect(block).toContain("await net.to('wasm');                                   // or 'reference'");
    expect(block).toContain('net.loadStateDict(readSafetensors(bytes));');
    expect(block).toContain('const logits = await net.forward(x);');
  });

  // Random weights (non-zero biases, so the zero input still gives distinct logits), via the file format.
  manualSeed(11);
  const source = referenceCnn();
  const state = source.stateDict();
  for (const [name, t] of Object.entries(state)) {
    if (name.endsWith('.bias'))
      state[name] = tensor(
        t.dataSync().map((_, i) => Math.sin(i + name.length)),
        t.shape,
      );
  }
  const bytes = writeSafetensors(state);
  const weightsPath = join(work, 'weights.safetensors');
  writeFileSync(weightsPath, bytes);
  const input = randomArray(32 * 3 * 32 * 32, 12, 1);
  const inputPath = join(work, 'input.f32');
  writeFileSync(inputPath, input);
  it('runs as written (wasm) and matches the same weights on the reference backend in-process', async () => {
    expect(existsSync(distEntry), 'dist/ is missing: run npm run build').toBe(true);
    const zeros = 'new Float32Array(32 * 3 * 32 * 32)';
    expect(block).toContain(zeros);
    const code = block
      .replace("from 'vireo'", `from '${pathToFileURL(distEntry).href}'`)
      .replace(zeros, `new Float32Array(__read(${JSON.stringify(inputPath)}).buffer.slice(0))`);
    const program = [
      `import { readFileSync as __read } from 'node:fs';`,
      `const bytes = new Uint8Array(__read(${JSON.stringify(weightsPath)}));`,
      code,
      'process.stdout.write(JSON.stringify({ shape: logits.shape, values: Array.from(values) }));',
    ].join('\n');
    const file = join(work, 'readme.mjs');
    writeFileSync(file, program);
    const out = JSON.parse(execFileSync(process.execPath, [file], { encoding: 'utf8', maxBuffer: 1 << 24 })) as {
      shape: number[];
      values: number[];
    };
    expect(out.shape).toEqual([32, 10]);
    expect(out.values).toHaveLength(320);
    expect(out.values.every(Number.isFinite)).toBe(true);

    // The same weights and input through the source tree on the reference backend: the oracle, for eight rows
    // spread over the batch (edges of the 4- and 8-row GEMM tiles, both halves, the last): a row computed from
    // another image, or rows shuffled or repeated, shows in them. (All 32 on the reference cost ~4x more.)
    const rows = [0, 1, 3, 4, 15, 16, 30, 31];
    const net = referenceCnn();
    await net.to('reference');
    net.loadStateDict(state);
    net.eval();
    const picked = new Float32Array(rows.length * 3 * 32 * 32);
    rows.forEach((r, k) => picked.set(input.subarray(r * 3072, (r + 1) * 3072), k * 3072));
    const expected = await (await net.forward(tensor(picked, [rows.length, 3, 32, 32]))).data();
    rows.forEach((r, k) => {
      for (let j = 0; j < 10; j++) {
        const e = expected[k * 10 + j];
        expect(Math.abs(out.values[r * 10 + j] - e), `row ${r} logit ${j}`).toBeLessThan(1e-4 * (1 + Math.abs(e)));
      }
    });
    // The rows differ by over ten times the tolerance, so a row computed from another image would not match.
    for (let k = 1; k < rows.length; k++) {
      let gap = 0;
      for (let j = 0; j < 10; j++) gap = Math.max(gap, Math.abs(expected[k * 10 + j] - expected[j]));
      expect(gap, `row ${rows[k]} vs row 0`).toBeGreaterThan(1e-3);
    }
  });
});
