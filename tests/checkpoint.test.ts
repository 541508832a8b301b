// Checkpoints: content round trip, and atomic replacement: a child process saving a large checkpoint
// over and over is SIGKILLed at random moments; the file on disk must always load and be exactly one
// complete version (never a mix of two, never truncated).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Random, Tensor } from '../src/index.js';
import { writeFileAtomic } from '../src/io/atomic.js';
import { decodeCheckpoint, encodeCheckpoint, loadCheckpoint } from '../src/io/checkpoint.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'vireo-checkpoint-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('checkpoints', () => {
  it('round-trip weights, optimizer state, schedule, epoch/step, RNG state, history and config', async () => {
    const c = {
      epoch: 3,
      step: 17,
      model: {
        'fc.weight': new Tensor(new Float32Array([1.5, -2, 3e-8]), [3]),
        'bn.num_batches_tracked': new Tensor(new Float32Array([42]), [], { integer: true }),
      },
      optimizer: {
        state: { 0: { step: 9, buffers: { expAvg: new Float32Array([0.1, 0.2, 0.3]), expAvgSq: new Float32Array([1, 2, 3]) } } },
        paramGroups: [{ lr: 0.01, betas: [0.9, 0.999], params: [0, 1] }],
      },
      schedule: { lastEpoch: 120, lastLr: [0.004], baseLrs: [0.0001] },
      rng: { seed: 7, loaderEpoch: 3, initSeed: 7 },
      history: [{ epoch: 1, loss: 0.5 }],
      config: { model: 'small-cnn', epochs: 5 },
    };
    const back = decodeCheckpoint(encodeCheckpoint(c));
    expect(back.epoch).toBe(3);
    expect(back.step).toBe(17);
    expect([...back.model['fc.weight'].dataSync()]).toEqual([...c.model['fc.weight'].dataSync()]);
    expect(back.model['bn.num_batches_tracked'].integer).toBe(true);
    expect(back.optimizer?.state[0].step).toBe(9);
    expect([...(back.optimizer?.state[0].buffers.expAvgSq ?? [])]).toEqual([1, 2, 3]);
    expect(back.optimizer?.paramGroups).toEqual(c.optimizer.paramGroups);
    expect(back.schedule).toEqual(c.schedule);
    expect(back.rng).toEqual(c.rng);
    expect(back.history).toEqual(c.history);
    expect(back.config).toEqual(c.config);
    expect(() => decodeCheckpoint(encodeCheckpoint(c).subarray(0, 100), 'cut.safetensors')).toThrow(
      /cut\.safetensors: .*truncated/,
    );
    await expect(loadCheckpoint(join(dir, 'none.safetensors'))).rejects.toThrow(/no checkpoint here/);
  });

  it('writeFileAtomic replaces the file and leaves no temporary file behind', async () => {
    const path = join(dir, 'plain.bin');
    await writeFileAtomic(path, new Uint8Array([1, 2, 3]));
    await writeFileAtomic(path, 'four');
    expect(readFileSync(path, 'utf8')).toBe('four');
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('a process SIGKILLed at random moments while saving always leaves one complete checkpoint', async () => {
    const floats = 4 * 1024 * 1024; // 16 MiB of weights + 16 MiB of optimizer state per save
    const rng = new Random(2026);
    let midWrite = 0;
    let rounds = 0;
    while (rounds < 6 || (midWrite === 0 && rounds < 16)) {
      rounds++;
      const path = join(dir, `round${rounds}`, 'checkpoint.safetensors');
      const sub = join(dir, `round${rounds}`);
      rmSync(sub, { recursive: true, force: true });
      (await import('node:fs')).mkdirSync(sub);
      const child = spawn(process.execPath, ['--import', 'tsx', 'tests/helpers/checkpoint-writer.ts', path, String(floats)], {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let acknowledged = 0;
      let stderr = '';
      child.stderr.on('data', (d) => {
        stderr += d;
      });
      const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_code, signal) => r(signal)));
      await new Promise<void>((resolveFirst, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          const lines = d.toString().trim().split('\n');
          acknowledged = Math.max(acknowledged, Number(lines[lines.length - 1]));
          resolveFirst();
        });
        child.on('exit', () => reject(new Error(`writer exited early: ${stderr}`)));
      });
      // Let it run a random while past its first complete save, then kill it without warning.
      await new Promise((r) => setTimeout(r, rng.int(400)));
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
      const temps = readdirSync(sub).filter((f) => f.endsWith('.tmp'));
      if (temps.length) midWrite++;

      const c = await loadCheckpoint(path);
      const v = c.epoch;
      expect(v).toBeGreaterThanOrEqual(acknowledged);
      expect(c.step).toBe(v % 7);
      expect(c.model['conv.weight'].size).toBe(floats);
      expect(c.model['conv.weight'].dataSync().every((x) => x === v)).toBe(true);
      expect(c.model['bn.num_batches_tracked'].dataSync()[0]).toBe(v);
      expect(c.optimizer?.state[0].buffers.momentumBuffer.every((x) => x === -v)).toBe(true);
      expect(c.optimizer?.paramGroups[0].lr).toBe(v);
      expect(c.schedule).toEqual({ lastEpoch: v });
      expect(c.rng.loaderEpoch).toBe(v);
      expect(c.history).toHaveLength(v % 50);
      expect(c.config).toEqual({ version: v });
      expect(existsSync(path)).toBe(true);
    }
    // At least one kill landed inside a save (its temporary file was left behind), so the check above
    // covered an interrupted write, not only kills between saves.
    expect(midWrite).toBeGreaterThan(0);
  }, 120_000);
});
