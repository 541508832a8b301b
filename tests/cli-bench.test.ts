import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Io } from '../src/cli/args.js';
import { run } from '../src/cli/main.js';

/**
 * `vireo bench` as a user runs it (in-process through the CLI's run(), as cli.test.ts does): the plain run,
 * --quick and --onnx. Only what the benchmark reports is checked, never how fast anything is: every row
 * ran, the batch-1 output matches the reference backend, FLOPs are the plan's, the per-layer table covers
 * the reference CNN, and --quick repeats less than the plain run. The tfjs peer is left out (--no-peer) to
 * keep the suite short; its comparison is bench/run.mjs's own business.
 */
const dir = mkdtempSync(join(tmpdir(), 'vireo-bench-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function capture(): Io & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (l) => stdout.push(l), err: (l) => stderr.push(l) };
}

interface BenchRow {
  engine: string;
  build: string;
  batch: number;
  planFlops: number;
  status: string;
  runs: number;
  check?: number;
}
const flopsPerImage = 88_598_528; // the reference CNN's plan, as bench/run.mjs checks against the 89.6 MFLOP

async function bench(args: string[]): Promise<{ rows: BenchRow[]; layers: { rows: { name: string }[] }; text: string }> {
  const out = join(dir, `${args.join('_').replace(/\W+/g, '')}.json`);
  const io = capture();
  expect(await run(['bench', '--no-peer', '--builds', 'simd', '--out', out, ...args], io), io.stderr.join('\n')).toBe(0);
  return { ...JSON.parse(readFileSync(out, 'utf8')), text: io.stdout.join('\n') };
}

function expectRows(rows: BenchRow[]): void {
  expect(rows.map((r) => [r.engine, r.build, r.batch, r.status])).toEqual([
    ['vireo', 'simd', 1, 'ok'],
    ['vireo', 'simd', 32, 'ok'],
  ]);
  for (const r of rows) expect(r.planFlops).toBe(flopsPerImage * r.batch);
  // Batch 1 is checked against the reference backend (max |Δ| of the logits).
  expect(rows[0].check).toBeLessThan(1e-4);
}

describe('vireo bench', () => {
  let quickRuns: number[] = [];

  it('--quick: both batches, checked against the reference, per-layer table, JSON written', async () => {
    const r = await bench(['--quick']);
    expectRows(r.rows);
    quickRuns = r.rows.map((row) => row.runs);
    expect(r.layers.rows.map((l) => l.name)).toEqual([
      'conv1+relu1',
      'pool1',
      'conv2+relu2',
      'pool2',
      'conv3+relu3',
      'pool3',
      'fc1+relu4',
      'fc2+relu5',
      'fc3',
    ]);
    expect(r.text).toMatch(/forward, ms per batch/);
    expect(r.text).toMatch(/per layer: wasm simd at batch 32/);
    expect(r.text).toMatch(/^wrote .*\.json/m);
  });

  it('plain: the same rows, with more repetitions than --quick', async () => {
    const r = await bench([]);
    expectRows(r.rows);
    expect(quickRuns).toHaveLength(2);
    r.rows.forEach((row, i) => expect(row.runs, `batch ${row.batch}`).toBeGreaterThan(quickRuns[i]));
  });

  it('--onnx: an imported model against onnxruntime-web, outputs agreeing', async () => {
    const io = capture();
    const model = join('tests', 'fixtures', 'onnx', 'resnet_mini.onnx');
    expect(await run(['bench', '--onnx', model, '--quick', '--json', '--batches', '1,2'], io), io.stderr.join('\n')).toBe(0);
    const { rows } = JSON.parse(io.stdout.join('\n')) as {
      rows: { model: string; batch: number; vireoMs: number; ortWebMs: number; maxAbsDiff: number }[];
    };
    expect(rows.map((r) => [r.model, r.batch])).toEqual([
      ['resnet_mini.onnx', 1],
      ['resnet_mini.onnx', 2],
    ]);
    for (const r of rows) {
      expect(r.maxAbsDiff).toBeLessThan(1e-4);
      expect(r.vireoMs).toBeGreaterThan(0);
      expect(r.ortWebMs).toBeGreaterThan(0);
    }
  });
});
