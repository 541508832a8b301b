import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../src/cli/main.js';
import { readSafetensors } from '../src/index.js';
import { buildModel } from './helpers/onnx-build.js';

const capture = () => {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, out, err };
};
const fixture = (n: string) => new URL(`./fixtures/onnx/${n}.onnx`, import.meta.url).pathname;

describe('vireo import', () => {
  it('writes model.json, weights.safetensors (initializer names) and model.onnx', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vireo-import-'));
    const c = capture();
    expect(await run(['import', fixture('resnet_mini'), '--out', dir, '--json'], c.io)).toBe(0);
    const summary = JSON.parse(c.out[0]);
    expect(summary.ok).toBe(true);
    const meta = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    expect(meta.format).toBe('vireo-onnx');
    expect(meta.opset).toBe(13);
    expect(meta.graph.some((n: { op: string }) => n.op === 'batchNorm2d')).toBe(true);
    const weights = readSafetensors(new Uint8Array(readFileSync(join(dir, 'weights.safetensors'))));
    expect(weights.has('fc.weight')).toBe(true);
    expect(weights.has('bn_out.running_mean')).toBe(true);
    expect(readFileSync(join(dir, 'model.onnx')).length).toBe(readFileSync(fixture('resnet_mini')).length);
  });

  it('reports unsupported ops by op type and node name (exit 1)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vireo-import-'));
    const file = join(dir, 'erf.onnx');
    writeFileSync(file, buildModel({ op: 'Erf' }));
    const c = capture();
    expect(await run(['import', file, '--out', join(dir, 'out')], c.io)).toBe(1);
    expect(c.err.join('\n')).toMatch(/Erf\s+node 'my_erf'/);
  });

  it('bad usage exits 2', async () => {
    const c = capture();
    expect(await run(['import', fixture('resnet_mini')], c.io)).toBe(2);
    expect(c.err.join('\n')).toMatch(/--out DIR is required/);
  });
});
