// Fault injection (issue 14): random SIGKILL and SIGINT at random moments, from a fixed seed, across
// `vireo train` (first epoch included), `vireo train --resume` and `vireo import`. After every kill the
// output directory holds either the previous complete model or the new complete one (its files from one
// save: the checkpoint's weights are the weights file's, model.json counts the checkpoint's epochs), eval
// or predict runs on it, and --resume continues it to the end.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import type { Io } from '../src/cli/args.js';
import { run } from '../src/cli/main.js';
import { Random, readSafetensors } from '../src/index.js';
import { loadCheckpoint } from '../src/io/checkpoint.js';
import { settleDirectory } from '../src/io/directory.js';

// The command's default backend is auto. These tests are about the command, not the scheduler: wasm alone
// keeps every child process from calibrating SwiftShader (scheduler*.test.ts test auto with webgpu).
process.env.VIREO_AUTO_CANDIDATES = 'wasm';
const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'vireo-faults-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const onnxFixture = fileURLToPath(new URL('./fixtures/onnx/resnet_mini.onnx', import.meta.url));
const seed = 1414;

async function vireo(...argv: string[]) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const io: Io = { out: (l) => stdout.push(l), err: (l) => stderr.push(l) };
  const status = await run(argv, io);
  return { status, stdout, stderr: stderr.join('\n') };
}

function spawnChild(script: string, argv: string[]): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', script, ...argv], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Sends `signal` to a child `delay` ms after `ready` matches its output (null: after its start), if it still runs. */
async function killAt(
  c: ChildProcess,
  ready: RegExp | null,
  delay: number,
  signal: NodeJS.Signals,
): Promise<{ status: number | null; killed: boolean; output: string }> {
  let output = '';
  let killed = false;
  let timer: NodeJS.Timeout | undefined;
  const exited = new Promise<number | null>((r) => c.on('exit', (code) => r(code)));
  let done = false;
  void exited.then(() => {
    done = true;
  });
  const arm = () => {
    timer = setTimeout(() => {
      if (!done) killed = c.kill(signal);
    }, delay);
  };
  if (!ready) arm();
  const watch = (d: Buffer) => {
    const before = output;
    output += d;
    if (ready && !ready.test(before) && ready.test(output)) arm();
  };
  c.stdout?.on('data', watch);
  c.stderr?.on('data', watch);
  const status = await exited;
  clearTimeout(timer);
  return { status, killed, output };
}

const hash = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('fault injection (seed 1414)', () => {
  it('a directory write that fails midway leaves the previous directory whole, and no temporary sibling', async () => {
    const { writeDirectoryAtomic } = await import('../src/io/directory.js');
    const target = join(dir, 'midway');
    await writeDirectoryAtomic(target, [
      { name: 'model.json', data: '{"v": 1}' },
      { name: 'weights.safetensors', data: new Uint8Array([1]) },
    ]);
    await expect(
      writeDirectoryAtomic(target, [
        { name: 'model.json', data: '{"v": 2}' },
        { name: 'weights.safetensors', copyFrom: join(dir, 'does-not-exist') },
      ]),
    ).rejects.toThrow(/ENOENT/);
    expect(readdirSync(target).sort()).toEqual(['model.json', 'weights.safetensors']);
    expect(readFileSync(join(target, 'model.json'), 'utf8')).toBe('{"v": 1}');
    expect(readdirSync(dir).filter((f) => f.startsWith('.midway.vireo-'))).toEqual([]);
  });

  it('a model directory rewritten in a loop and SIGKILLed: after settling, always one complete version', async () => {
    const rng = new Random(seed);
    const target = join(dir, 'loop');
    let interrupted = 0;
    const kills = 8;
    for (let k = 0; k < kills; k++) {
      const c = spawnChild('tests/helpers/directory-writer.ts', [target, String(1 << 18)]);
      let last = 0;
      c.stdout?.on('data', (d) => {
        const lines = String(d).trim().split('\n');
        last = Math.max(last, Number(lines.at(-1)));
      });
      const r = await killAt(c, /\d+\n/, rng.int(300), 'SIGKILL');
      expect(r.killed, r.output).toBe(true);
      const parent = readdirSync(dir).filter((f) => f.startsWith('.loop.vireo-'));
      if (parent.length > 0) interrupted++;
      await settleDirectory(target);
      expect(readdirSync(dir).filter((f) => f.startsWith('.loop.vireo-'))).toEqual([]);
      expect(readdirSync(target).sort()).toEqual(['checkpoint.safetensors', 'model.json', 'weights.safetensors']);
      const { version } = JSON.parse(readFileSync(join(target, 'model.json'), 'utf8'));
      expect(version).toBeGreaterThanOrEqual(last);
      for (const f of ['weights.safetensors', 'checkpoint.safetensors'])
        expect(new Set(readFileSync(join(target, f))), f).toEqual(new Set([version & 0xff]));
    }
    console.log(`fault injection, directory writer: ${kills} SIGKILLs, ${interrupted} inside a write (settled)`);
    // Writes are most of the loop's time: some kill landed inside one, so settling was exercised.
    expect(interrupted).toBeGreaterThan(0);
  }, 120_000);

  it('train, train --resume and import killed at random moments leave the previous or the new complete model', async () => {
    const rng = new Random(seed + 1);
    const counts = { SIGKILL: 0, SIGINT: 0, previous: 0, new: 0, none: 0, finishedFirst: 0 };
    const png = join(dir, 'picture.png');
    await sharp(Buffer.alloc(32 * 32 * 3, 90), { raw: { width: 32, height: 32, channels: 3 } })
      .png()
      .toFile(png);

    // --- train and train --resume ---
    const out = join(dir, 'run');
    const opts = ['--epochs', '3', '--limit', '96', '--batch-size', '16', '--json'];
    let prev: { hash: string; epoch: number; step: number } | null = null;
    let runSeed = 1;
    for (let k = 0; k < 8; k++) {
      const ck0 = existsSync(join(out, 'checkpoint.safetensors'))
        ? await loadCheckpoint(join(out, 'checkpoint.safetensors'))
        : null;
      let argv: string[];
      let fresh = false;
      if (!ck0) argv = ['train', ...opts, '--seed', String(runSeed), '--out', out];
      else if (ck0.epoch < 3) argv = ['train', '--resume', out, '--json'];
      else {
        // Done: a new run replaces it (--force); until that run's first save the finished model stays.
        argv = ['train', ...opts, '--seed', String(++runSeed), '--out', out, '--force'];
        fresh = true;
      }
      const signal = rng.int(2) === 0 ? 'SIGKILL' : 'SIGINT';
      const r = await killAt(spawnChild('tests/helpers/cli-child.ts', argv), /vireo train: /, rng.int(800), signal);
      if (r.killed) counts[signal]++;
      else counts.finishedFirst++;
      // A caught Ctrl-C always ends in a saved checkpoint and exit 1 (or 0 when the run was done anyway).
      if (r.killed && signal === 'SIGINT') expect([0, 1], r.output).toContain(r.status);

      const ev = existsSync(out) ? await vireo('eval', '--model', out, '--limit', '16', '--json') : null;
      expect(readdirSync(dir).filter((f) => f.startsWith('.run.vireo-'))).toEqual([]);
      if (!existsSync(out)) {
        expect(prev, 'a complete model vanished').toBeNull();
        counts.none++;
        continue;
      }
      expect(ev?.status, ev?.stderr).toBe(0);
      expect(readdirSync(out).sort()).toEqual(['checkpoint.safetensors', 'model.json', 'weights.safetensors']);
      const ck = await loadCheckpoint(join(out, 'checkpoint.safetensors'));
      const wbytes = new Uint8Array(readFileSync(join(out, 'weights.safetensors')));
      const weights = readSafetensors(wbytes);
      // One save: the checkpoint's model tensors are the weights file's, and model.json counts its epochs.
      expect(Object.keys(ck.model).sort()).toEqual([...weights.keys()].sort());
      for (const [name, t] of weights) expect(ck.model[name].dataSync(), name).toEqual(t.dataSync());
      const meta = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
      expect(meta.training.epochs).toBe(ck.history.length);
      const now = {
        hash: hash(wbytes) + hash(readFileSync(join(out, 'checkpoint.safetensors'))),
        epoch: ck.epoch,
        step: ck.step,
      };
      if (prev && now.hash === prev.hash) counts.previous++;
      else {
        counts.new++;
        // Newer than the previous save of the same run (a --force run starts over).
        if (prev && !fresh) expect(now.epoch * 1000 + now.step).toBeGreaterThan(prev.epoch * 1000 + prev.step);
      }
      prev = now;
    }
    // Whatever the kills left, --resume finishes the run.
    if (existsSync(join(out, 'checkpoint.safetensors'))) {
      const ck = await loadCheckpoint(join(out, 'checkpoint.safetensors'));
      if (ck.epoch < 3) {
        const fin = await vireo('train', '--resume', out, '--json');
        expect(fin.status, fin.stderr).toBe(0);
      }
      expect((await loadCheckpoint(join(out, 'checkpoint.safetensors'))).epoch).toBe(3);
    }

    // --- import --force over an earlier import (class names tell the versions apart) ---
    const imp = join(dir, 'imp');
    const names = (v: number) => Array.from({ length: 10 }, (_, i) => `v${v}c${i}`).join(',');
    expect((await vireo('import', onnxFixture, '--out', imp, '--classes', names(0))).status).toBe(0);
    let version = 0;
    const onnx = hash(readFileSync(onnxFixture));
    for (let k = 1; k <= 4; k++) {
      const signal = rng.int(2) === 0 ? 'SIGKILL' : 'SIGINT';
      const argv = ['import', onnxFixture, '--out', imp, '--force', '--classes', names(k)];
      // Timed from the child's start: the kill lands in start-up, the conversion, the write or after it.
      const r = await killAt(spawnChild('tests/helpers/cli-child.ts', argv), null, rng.int(3000), signal);
      if (r.killed) counts[signal]++;
      else counts.finishedFirst++;
      const p = await vireo('predict', '--model', imp, png, '--json');
      expect(p.status, p.stderr).toBe(0);
      expect(readdirSync(dir).filter((f) => f.startsWith('.imp.vireo-'))).toEqual([]);
      expect(readdirSync(imp).sort()).toEqual(['model.json', 'model.onnx', 'weights.safetensors']);
      expect(hash(readFileSync(join(imp, 'model.onnx')))).toBe(onnx);
      const classes: string[] = JSON.parse(readFileSync(join(imp, 'model.json'), 'utf8')).classes;
      const now = Number(/^v(\d+)c0$/.exec(classes[0])?.[1]);
      expect([version, k]).toContain(now);
      expect(classes.join(',')).toBe(names(now));
      expect(JSON.parse(p.stdout[0]).top[0].label).toMatch(new RegExp(`^v${now}c\\d$`));
      if (now === version) counts.previous++;
      else counts.new++;
      version = now;
    }
    console.log(`fault injection, commands (seed ${seed + 1}): ${JSON.stringify(counts)}`);
    expect(counts.SIGKILL + counts.SIGINT + counts.finishedFirst).toBe(12);
  }, 240_000);
});
