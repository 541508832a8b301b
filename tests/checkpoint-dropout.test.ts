// Checkpoints of models with Dropout resume bit for bit: the dropout generators' state (seed and mask count
// per layer, `Module.rngState()`) travels in the checkpoint, so k steps + save + load into a fresh model (or
// a fresh process) + the remaining steps give the same weights, byte for byte, as the uninterrupted run.
// Old checkpoints without that state still load (the masks then restart).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { StateDictError, Tensor, manualSeed, nn, writeSafetensors } from '../src/index.js';
import { type Checkpoint, decodeCheckpoint, encodeCheckpoint, loadCheckpoint, saveCheckpoint } from '../src/io/checkpoint.js';
import { writeSafetensors as writeRaw } from '../src/io/safetensors.js';
import { type BackendName, dropoutNet, makeOptimizer, totalSteps, trainSteps } from './helpers/dropout-run.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'vireo-checkpoint-dropout-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const seed = 7;
const cut = 3;
const bytesOf = (net: nn.Module) => Buffer.from(writeSafetensors(net.stateDict()));

async function uninterrupted(backend: BackendName): Promise<Buffer> {
  manualSeed(seed);
  const net = dropoutNet();
  await net.to(backend);
  const opt = await makeOptimizer(net, backend);
  await trainSteps(net, opt, 0, totalSteps);
  expect(net.rngState().drop.calls).toBe(totalSteps);
  opt.dispose();
  return bytesOf(net);
}

/** The first `cut` steps, saved as a checkpoint at `path`. */
async function firstPart(backend: BackendName, path: string): Promise<Checkpoint> {
  manualSeed(seed);
  const net = dropoutNet();
  await net.to(backend);
  const opt = await makeOptimizer(net, backend);
  await trainSteps(net, opt, 0, cut);
  const c: Checkpoint = {
    epoch: 0,
    step: cut,
    model: net.stateDict(),
    optimizer: opt.stateDict(),
    schedule: null,
    rng: { seed, loaderEpoch: 0, initSeed: seed, dropout: net.rngState() },
    history: [],
    config: {},
  };
  await saveCheckpoint(path, c);
  opt.dispose();
  return c;
}

/** Loads `c` into a model built under another seed (so nothing but the checkpoint fixes its masks) and finishes the run. */
async function resumed(backend: BackendName, c: Checkpoint, restoreRng: boolean, buildSeed = 12345): Promise<Buffer> {
  manualSeed(buildSeed);
  new nn.Dropout(0.5); // another layer made first: the model's own Dropout gets yet another seed
  const net = dropoutNet();
  await net.to(backend);
  const opt = await makeOptimizer(net, backend);
  net.loadStateDict(c.model);
  if (c.optimizer) opt.loadStateDict(c.optimizer);
  if (restoreRng && c.rng.dropout) net.loadRngState(c.rng.dropout);
  await trainSteps(net, opt, c.step, totalSteps);
  opt.dispose();
  return bytesOf(net);
}

function runChild(backend: BackendName, checkpointPath: string, outPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'tests/helpers/dropout-resume-child.ts', backend, checkpointPath, outPath],
      { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`child exited ${code}: ${stderr}`))));
  });
}

describe('checkpoints of a model with Dropout(p = 0.5)', () => {
  for (const backend of ['reference', 'wasm'] as const) {
    it(`${backend}: k steps, checkpoint, fresh model, the rest == the uninterrupted run, byte for byte`, async () => {
      const whole = await uninterrupted(backend);
      const path = join(dir, `${backend}.safetensors`);
      await firstPart(backend, path);
      const c = await loadCheckpoint(path);
      expect(c.rng.dropout?.drop.calls).toBe(cut);

      const back = await resumed(backend, c, true);
      expect(back.equals(whole)).toBe(true);

      // Without the dropout state (the seed matches, only the count restarts at 0) the masks repeat
      // those of the first steps and the weights end elsewhere: the state is what makes the match.
      const restarted = await resumed(backend, c, false, seed);
      expect(restarted.equals(whole)).toBe(false);
    });

    it(`${backend}: the same, resumed in a fresh process`, async () => {
      const whole = await uninterrupted(backend);
      const path = join(dir, `${backend}-child.safetensors`);
      await firstPart(backend, path);
      const out = join(dir, `${backend}-child-weights.safetensors`);
      await runChild(backend, path, out);
      expect(readFileSync(out).equals(whole)).toBe(true);
    }, 60_000);
  }

  it('an old-format checkpoint (no rng.dropout) still loads; the masks then restart from the first', async () => {
    const path = join(dir, 'current.safetensors');
    const c = await firstPart('reference', path);
    // The metadata exactly as vireo wrote it before the dropout state existed.
    const { dropout: _, ...oldRng } = c.rng;
    const tensors = new Map(Object.entries(c.model).map(([k, t]) => [`model.${k}`, t]));
    const steps: Record<string, number> = {};
    const buffers: Record<string, string[]> = {};
    for (const [i, e] of Object.entries(c.optimizer?.state ?? {})) {
      steps[i] = e.step;
      buffers[i] = Object.keys(e.buffers);
      for (const [name, values] of Object.entries(e.buffers))
        tensors.set(`optimizer.${i}.${name}`, new Tensor(values, [values.length]));
    }
    const meta = {
      version: 1,
      epoch: c.epoch,
      step: c.step,
      optimizer: { paramGroups: c.optimizer?.paramGroups, steps, buffers },
      schedule: null,
      rng: oldRng,
      history: [],
      config: {},
    };
    const old = decodeCheckpoint(
      writeRaw(tensors, { 'vireo.checkpoint': JSON.stringify(meta), format: 'pt' }),
      'old.safetensors',
    );
    expect(old.rng).toEqual({ seed, loaderEpoch: 0, initSeed: seed });
    expect(old.rng.dropout).toBeUndefined();
    expect(old.step).toBe(cut);
    // Documented behaviour: weights and optimizer resume, the Dropout layers keep the state they were built
    // with (count 0): the same result as resuming the new format while ignoring its dropout state.
    const fromOld = await resumed('reference', old, true, seed);
    const ignoring = await resumed('reference', c, false, seed);
    expect(fromOld.equals(ignoring)).toBe(true);
  });

  it('a checkpoint whose rng.dropout is not an object of layers is a FormatError naming the file', async () => {
    const c = await firstPart('reference', join(dir, 'bad-source.safetensors'));
    const bad = encodeCheckpoint({ ...c, rng: { ...c.rng, dropout: [1, 2] as never } });
    expect(() => decodeCheckpoint(bad, 'bad.safetensors')).toThrow(
      /bad\.safetensors: checkpoint field 'rng\.dropout' must be an object/,
    );
  });

  it('loadRngState checks the layers and values before writing anything', () => {
    manualSeed(1);
    const net = dropoutNet();
    const before = net.rngState();
    expect(Object.keys(before)).toEqual(['drop']);
    expect(() => net.loadRngState({})).toThrow(StateDictError);
    expect(() => net.loadRngState({})).toThrow(/missing: drop/);
    expect(() => net.loadRngState({ drop: { seed: 1, calls: 2 }, fc9: { seed: 1, calls: 0 } })).toThrow(/unexpected: fc9/);
    expect(() => net.loadRngState({ drop: { seed: 1, calls: -1 } })).toThrow(/'drop' must be/);
    expect(() => net.loadRngState({ drop: { seed: 2 ** 32, calls: 0 } })).toThrow(/'drop' must be/);
    expect(net.rngState()).toEqual(before);
    net.loadRngState({ drop: { seed: 99, calls: 5 } });
    expect(net.rngState()).toEqual({ drop: { seed: 99, calls: 5 } });
    // rngState is a copy, and stateDict() (what PyTorch loads) holds no RNG entry.
    net.rngState().drop.calls = 0;
    expect(net.rngState().drop.calls).toBe(5);
    expect(Object.keys(net.stateDict()).some((k) => k.startsWith('drop'))).toBe(false);
    // The same seed and model code give the same dropout seeds; nested paths name the layer.
    manualSeed(1);
    expect(dropoutNet().rngState()).toEqual(before);
    const nested = new nn.Sequential({ block: new nn.Sequential({ a: new nn.Dropout(), b: new nn.Dropout() }) });
    expect(Object.keys(nested.rngState())).toEqual(['block.a', 'block.b']);
  });
});
