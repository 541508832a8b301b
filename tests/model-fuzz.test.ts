// Fuzzing the model files a hostile user controls (issue 14), as tests/onnx-fuzz.test.ts does for ONNX:
// random layer trees, random edits of a real model.json and random edits of a real checkpoint's
// metadata either load (resume) or fail with a VireoError (a UsageError for the command); never a raw
// TypeError/RangeError, a stack overflow, or an allocation above the stated memory limit (64 MiB here).
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../src/cli/args.js';
import { trainCommand } from '../src/cli/train.js';
import { VireoError, manualSeed, nn, writeSafetensors } from '../src/index.js';
import { decodeCheckpoint } from '../src/io/checkpoint.js';
import { type LayerSpec, loadModel, moduleFromSpec, saveModel } from '../src/io/model-file.js';
import { readSafetensorsFile } from '../src/io/safetensors.js';

const dir = mkdtempSync(join(tmpdir(), 'vireo-model-fuzz-'));
const limit = 64 * 1024 ** 2;
let previousLimit: string | undefined;
beforeAll(() => {
  previousLimit = process.env.VIREO_MEMORY_LIMIT;
  process.env.VIREO_MEMORY_LIMIT = String(limit);
});
afterAll(() => {
  if (previousLimit === undefined) delete process.env.VIREO_MEMORY_LIMIT;
  else process.env.VIREO_MEMORY_LIMIT = previousLimit;
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Runs `f` with Float32Array construction watched: returns the largest length asked for. Parameters,
 * tensors and plans allocate through it, so an allocation a limit should have stopped shows here.
 */
async function largestFloat32<T>(f: () => Promise<T>): Promise<{ result: T; largest: number }> {
  const Original = globalThis.Float32Array;
  let largest = 0;
  globalThis.Float32Array = new Proxy(Original, {
    construct(target, args, newTarget) {
      if (typeof args[0] === 'number') largest = Math.max(largest, args[0]);
      return Reflect.construct(target, args, newTarget === globalThis.Float32Array ? target : newTarget);
    },
  });
  try {
    return { result: await f(), largest };
  } finally {
    globalThis.Float32Array = Original;
  }
}

const counts = { ok: 0, vireoError: 0 };
async function outcome(run: () => Promise<unknown>): Promise<void> {
  const { largest } = await largestFloat32(async () => {
    try {
      await run();
      counts.ok++;
    } catch (e) {
      if (e instanceof VireoError || e instanceof UsageError) counts.vireoError++;
      else throw new Error(`not a VireoError: ${(e as Error)?.stack ?? e}`);
    }
  });
  expect(4 * largest).toBeLessThanOrEqual(limit);
}

/** Values a careless or hostile edit puts in a field. */
const hostile = fc.oneof(
  fc.constantFrom(0, -1, -4, 1, 2, 3, 7, 1e9, 2.5e7, 2 ** 31, 2 ** 53, 1e308, 0.5, -0.5, 1e-9),
  fc.constantFrom(null, true, false, '', 'one', '../../etc/passwd', '/dev/zero', [], {}, [1e5, 1e5], [-5], [1, 1e5, 1e5]),
  fc.string({ maxLength: 6 }),
  fc.array(fc.integer({ min: -3, max: 100_000 }), { maxLength: 5 }),
  fc.jsonValue({ maxDepth: 2 }),
);

/** Every path to a value inside a JSON document. */
function paths(v: unknown, at: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [at];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...at, i])));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...at, k]));
  return out;
}

function setAt(doc: unknown, path: (string | number)[], value: unknown, remove: boolean): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(doc) as Record<string | number, unknown>;
  let o = copy;
  for (const k of path.slice(0, -1)) o = o[k] as Record<string | number, unknown>;
  const last = path[path.length - 1];
  if (remove && !Array.isArray(o)) delete o[last];
  else o[last] = value;
  return copy;
}

/** Random layer trees: the real layer types with small or hostile fields, nested a little. */
const small = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 4 }) }, { weight: 1, arbitrary: hostile });
const pair = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })) },
  {
    weight: 1,
    arbitrary: hostile,
  },
);
const { layer } = fc.letrec<{ layer: LayerSpec }>((tie) => ({
  layer: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({
      type: fc.constant('Conv2d'),
      inChannels: small,
      outChannels: small,
      kernelSize: pair,
      stride: pair,
      padding: fc.constant([1, 1]),
      dilation: fc.constant([1, 1]),
      groups: fc.constant(1),
      bias: fc.boolean(),
    }),
    fc.record({ type: fc.constant('Linear'), inFeatures: small, outFeatures: small, bias: fc.boolean() }),
    fc.record({ type: fc.constant('BatchNorm2d'), numFeatures: small, eps: fc.constant(1e-5), momentum: fc.constant(0.1) }),
    fc.record({
      type: fc.constant('MaxPool2d'),
      kernelSize: pair,
      stride: pair,
      padding: fc.constant([0, 0]),
      dilation: fc.constant([1, 1]),
      ceilMode: fc.boolean(),
    }),
    fc.record({ type: fc.constant('AdaptiveAvgPool2d'), outputSize: pair }),
    fc.record({ type: fc.constantFrom('ReLU', 'Sigmoid', 'Tanh', 'ReLU6', 'Conv3d') }),
    fc.record({ type: fc.constant('Flatten'), startDim: fc.constantFrom(1, 0, -1, 9), endDim: fc.constant(-1) }),
    fc.record({ type: fc.constant('Dropout'), p: fc.oneof(fc.constant(0.5), hostile) }),
    fc.record({ type: fc.constant('Softmax'), dim: fc.constantFrom(1, -1, 5) }),
    fc.record({
      type: fc.constant('Sequential'),
      layers: fc.array(tie('layer'), { maxLength: 4 }).map((ls) => ls.map((l, i) => ({ name: `l${i}`, ...(l as object) }))),
    }),
    fc.record({ type: fc.constant('Residual'), main: tie('layer') }),
  ) as fc.Arbitrary<LayerSpec>,
}));

describe('model file fuzz (fast-check, VIREO_MEMORY_LIMIT=64M)', () => {
  const base = join(dir, 'base');
  let good: Record<string, unknown>;
  beforeAll(async () => {
    manualSeed(3);
    const net = new nn.Sequential(
      new Map<string, nn.Module>([
        ['conv', new nn.Conv2d(1, 2, 3, { padding: 1 })],
        ['bn', new nn.BatchNorm2d(2)],
        ['act', new nn.ReLU()],
        ['flat', new nn.Flatten()],
        ['fc', new nn.Linear(2 * 4 * 4, 3)],
      ]),
    );
    await saveModel(base, net, { inputShape: [1, 4, 4], classes: ['a', 'b', 'c'], normalization: { mean: [0], std: [1] } });
    good = JSON.parse(readFileSync(join(base, 'model.json'), 'utf8'));
  });

  let n = 0;
  /** A model directory with this model.json and the base weights (or `weights`). */
  function caseDir(meta: unknown, weights?: Uint8Array): string {
    const d = join(dir, `case-${n++}`);
    mkdirSync(d);
    writeFileSync(join(d, 'model.json'), JSON.stringify(meta));
    if (weights) writeFileSync(join(d, 'weights.safetensors'), weights);
    else copyFileSync(join(base, 'weights.safetensors'), join(d, 'weights.safetensors'));
    return d;
  }

  it("random edits of a real model.json (mostly its layers' fields)", { timeout: 60_000 }, async () => {
    const all = paths(good);
    const layerFields = all.filter((p) => p[0] === 'architecture' && p.length >= 4);
    const field = fc.oneof(
      { weight: 3, arbitrary: fc.nat().map((i) => layerFields[i % layerFields.length]) },
      { weight: 1, arbitrary: fc.nat().map((i) => all[i % all.length]) },
    );
    await fc.assert(
      fc.asyncProperty(field, hostile, fc.boolean(), async (path, value, remove) => {
        const d = caseDir(setAt(good, path, value, remove));
        await outcome(() => loadModel(d));
        rmSync(d, { recursive: true });
      }),
      { numRuns: 300, seed: 14 },
    );
  });

  it('random layer trees and input shapes, with weights of their own shapes when they can be built', {
    timeout: 60_000,
  }, async () => {
    const shape = fc.oneof(
      { weight: 3, arbitrary: fc.constant([1, 4, 4]) },
      {
        weight: 1,
        arbitrary: fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 1e5 }), fc.integer({ min: 1, max: 1e5 })),
      },
    );
    await fc.assert(
      fc.asyncProperty(layer, shape, fc.integer({ min: 1, max: 12 }), async (architecture, inputShape, k) => {
        let weights: Uint8Array | undefined;
        try {
          const m = moduleFromSpec(architecture);
          if (m.parameters().reduce((s, p) => s + p.size, 0) < 1e5) weights = writeSafetensors(m.stateDict());
        } catch {
          // Not buildable: the base weights, which do not fit it.
        }
        const meta = {
          ...good,
          architecture,
          inputShape,
          normalization: { mean: Array(inputShape[0]).fill(0), std: Array(inputShape[0]).fill(1) },
          classes: Array.from({ length: k }, (_, i) => `c${i}`),
        };
        const d = caseDir(meta, weights);
        await outcome(() => loadModel(d));
        rmSync(d, { recursive: true });
      }),
      { numRuns: 300, seed: 14 },
    );
  });

  it('random edits of a real checkpoint: decoded, then resumed by the command', { timeout: 120_000 }, async () => {
    const run = join(dir, 'run');
    const io = { out: () => {}, err: () => {} };
    expect(
      await trainCommand(['--epochs', '2', '--limit', '32', '--batch-size', '16', '--stop-after', '1', '--out', run], io),
    ).toBe(0);
    const path = join(run, 'checkpoint.safetensors');
    const bytes = new Uint8Array(readFileSync(path));
    const { tensors, metadata } = readSafetensorsFile(bytes, path);
    const meta = JSON.parse(metadata['vireo.checkpoint']);
    // config.limit is left alone: a valid but larger limit trains on the whole dataset (slow, not wrong).
    const all = paths(meta).filter((p) => p.join('.') !== 'config.limit');
    const edited = (pick: number, value: unknown, remove: boolean) =>
      writeSafetensors(tensors, {
        ...metadata,
        'vireo.checkpoint': JSON.stringify(setAt(meta, all[pick % all.length], value, remove)),
      });

    await fc.assert(
      fc.asyncProperty(fc.nat(), hostile, fc.boolean(), async (pick, value, remove) => {
        const b = edited(pick, value, remove);
        await outcome(async () => decodeCheckpoint(b, 'fuzz.safetensors'));
      }),
      { numRuns: 300, seed: 14 },
    );

    let resumed = 0;
    await fc.assert(
      fc.asyncProperty(fc.nat(), hostile, fc.boolean(), async (pick, value, remove) => {
        const d = join(dir, `resume-${n++}`);
        mkdirSync(d);
        for (const f of ['model.json', 'weights.safetensors']) copyFileSync(join(run, f), join(d, f));
        writeFileSync(join(d, 'checkpoint.safetensors'), edited(pick, value, remove));
        const lines: string[] = [];
        await outcome(async () => {
          const status = await trainCommand(['--resume', d, '--stop-after', '1', '--json'], {
            out: (l) => lines.push(l),
            err: () => {},
          });
          if (status === 0) resumed++;
        });
        // A resumed epoch reports a real loss (a step past the epoch's end once wrote a null one).
        for (const l of lines) expect(Number.isFinite(JSON.parse(l).loss), l).toBe(true);
        rmSync(d, { recursive: true });
      }),
      { numRuns: 40, seed: 14 },
    );
    console.log(
      `model fuzz: ${counts.ok} loaded/resumed, ${counts.vireoError} refused with a VireoError (${resumed} resumes trained)`,
    );
  });
});
