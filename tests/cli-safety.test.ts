// Issue 14: the command and the model files under a careless or hostile user. One test per item of the
// issue (numbered as there): nothing lost, nothing clobbered, no raw traps, no hangs.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import type { Io } from '../src/cli/args.js';
import { run } from '../src/cli/main.js';
import { ArgumentError, DataLoader, LimitError, ShapeError, StateDictError, transforms as T, zeros } from '../src/index.js';
import { ImageFolder } from '../src/data/image-folder.js';
import { loadCheckpoint } from '../src/io/checkpoint.js';
import { loadModel } from '../src/io/model-file.js';
import { readSafetensorsFile, writeSafetensors } from '../src/io/safetensors.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'vireo-safety-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function vireo(...argv: string[]) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const io: Io = { out: (l) => stdout.push(l), err: (l) => stderr.push(l) };
  const status = await run(argv, io);
  return { status, stdout: stdout.join('\n'), stderr: stderr.join('\n'), lines: stdout };
}

const tiny = ['--epochs', '1', '--limit', '32', '--batch-size', '16'];
const onnxFixture = fileURLToPath(new URL('./fixtures/onnx/resnet_mini.onnx', import.meta.url));

/** A trained model directory (one tiny epoch), made once and copied per test. */
let trainedOnce: string | null = null;
async function trained(name: string): Promise<string> {
  if (!trainedOnce) {
    trainedOnce = join(dir, 'trained-once');
    const r = await vireo('train', ...tiny, '--out', trainedOnce);
    expect(r.status, r.stderr).toBe(0);
  }
  const out = join(dir, name);
  mkdirSync(out, { recursive: true });
  for (const f of readdirSync(trainedOnce)) copyFileSync(join(trainedOnce, f), join(out, f));
  return out;
}

const editJson = (path: string, edit: (j: Record<string, unknown>) => void) => {
  const j = JSON.parse(readFileSync(path, 'utf8'));
  edit(j);
  writeFileSync(path, JSON.stringify(j));
};

/** Rewrites the `vireo.checkpoint` metadata of a checkpoint file. */
function editCheckpoint(path: string, edit: (meta: Record<string, unknown>) => void) {
  const { tensors, metadata } = readSafetensorsFile(new Uint8Array(readFileSync(path)), path);
  const meta = JSON.parse(metadata['vireo.checkpoint']);
  edit(meta);
  writeFileSync(path, writeSafetensors(tensors, { ...metadata, 'vireo.checkpoint': JSON.stringify(meta) }));
}

function child(argv: string[]) {
  return spawn(process.execPath, ['--import', 'tsx', 'tests/helpers/cli-child.ts', ...argv], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

describe('issue 14: nothing lost, nothing clobbered', () => {
  it('1. Ctrl-C in the first epoch leaves a resumable checkpoint in a directory that did not exist', async () => {
    const out = join(dir, 'new', 'nested');
    const c = child(['train', '--epochs', '2', '--limit', '640', '--batch-size', '16', '--out', out, '--json']);
    let stderr = '';
    let sent = false;
    c.stderr.on('data', (d) => {
      stderr += d;
      // The header is printed just before the first step: the signal lands in epoch 1.
      if (!sent && /vireo train/.test(stderr)) {
        sent = true;
        c.kill('SIGINT');
      }
    });
    const status = await new Promise<number | null>((r) => c.on('exit', (code) => r(code)));
    expect(status, stderr).toBe(1);
    expect(stderr).toMatch(/interrupted in epoch 1 after \d+ of 40 steps; checkpoint saved/);
    const ck = await loadCheckpoint(join(out, 'checkpoint.safetensors'));
    expect(ck.epoch).toBe(0);
    expect(readdirSync(join(dir, 'new'))).toEqual(['nested']); // no temporary siblings left
    const resumed = await vireo('train', '--resume', out, '--stop-after', '1');
    expect(resumed.status, resumed.stderr).toBe(0);
    expect((await loadCheckpoint(join(out, 'checkpoint.safetensors'))).epoch).toBe(1);
  }, 60_000);

  it('2. a directory holding a model is refused (naming it) unless --force; an import replaces it whole', async () => {
    const out = await trained('clobber');
    const before = readFileSync(join(out, 'weights.safetensors'));
    const again = await vireo('train', ...tiny, '--seed', '9', '--out', out);
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(
      /already holds a trained model \(small-cnn trained 1 epoch, validation accuracy 0\.\d+\): pass --force/,
    );
    expect(again.stderr).toMatch(/--resume .* to continue its training/);
    expect(readFileSync(join(out, 'weights.safetensors')).equals(before)).toBe(true);

    const imp = await vireo('import', onnxFixture, '--out', out);
    expect(imp.status).toBe(2);
    expect(imp.stderr).toMatch(/already holds a trained model/);
    const forced = await vireo('import', onnxFixture, '--out', out, '--force');
    expect(forced.status, forced.stderr).toBe(0);
    // Never two models' files in one directory: the old checkpoint went with the old model.
    expect(readdirSync(out).sort()).toEqual(['model.json', 'model.onnx', 'weights.safetensors']);
    const resume = await vireo('train', '--resume', out);
    expect(resume.status).toBe(2);
    expect(resume.stderr).toMatch(/no checkpoint\.safetensors there/);

    // A directory with files of its own is never taken over, --force or not.
    const mine = join(dir, 'mine');
    mkdirSync(mine);
    writeFileSync(join(mine, 'notes.txt'), 'mine');
    const r = await vireo('train', ...tiny, '--out', mine, '--force');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/holds files that are not a vireo model's \(notes\.txt\)/);
    expect(readdirSync(mine)).toEqual(['notes.txt']);

    const replaced = await vireo('train', ...tiny, '--seed', '9', '--out', await trained('clobber-force'), '--force');
    expect(replaced.status, replaced.stderr).toBe(0);
  }, 60_000);

  it('3. an import that fails midway leaves no half model', async () => {
    const out = join(dir, 'half');
    mkdirSync(join(out, 'model.onnx'), { recursive: true });
    const r = await vireo('import', onnxFixture, '--out', out);
    expect(r.status).not.toBe(0);
    expect(existsSync(join(out, 'model.json'))).toBe(false);
    expect(existsSync(join(out, 'weights.safetensors'))).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes('.vireo-'))).toEqual([]);
  });

  it('4. --out on a file, or where no directory can be made, fails before any work', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    const r = await vireo('train', ...tiny, '--out', file, '--json');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--out .*a-file: a file is there/);
    expect(r.lines).toEqual([]); // no epoch was trained
    const under = await vireo('import', onnxFixture, '--out', join(file, 'sub'));
    expect(under.status).toBe(2);
    expect(under.stderr).toMatch(/a-file is a file, not a directory/);
    // Node 20's recursive mkdirSync spins forever under /proc: a child, so a regression cannot hang the suite.
    const p = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'tests/helpers/cli-child.ts', 'train', ...tiny, '--out', '/proc/vireo-test/model'],
      { cwd: root, encoding: 'utf8', timeout: 60_000 },
    );
    expect(p.status, p.stderr).toBe(2);
    expect(p.stderr).toMatch(/cannot create directories in \/proc/);
  }, 90_000);
});

describe('issue 14: validation before allocation', () => {
  it('5. every checkpoint field is checked before resuming, naming the field', async () => {
    const cases: [(m: Record<string, unknown>) => void, RegExp][] = [
      [(m) => (m.epoch = 'one'), /checkpoint field 'epoch' must be an integer ≥ 0 .*got "one"/],
      [(m) => (m.epoch = -4), /checkpoint field 'epoch' must be an integer ≥ 0 .*got -4/],
      [
        (m) => Object.assign(m, { epoch: 0, step: 1e9 }),
        /checkpoint field 'step' is 1000000000, but an epoch of this run has 2 steps/,
      ],
      [(m) => (m.optimizer = null), /checkpoint field 'optimizer' is missing/],
      [(m) => (m.rng = { seed: 1 }), /checkpoint field 'rng\.loaderEpoch' must be an integer/],
      [(m) => ((m.config as Record<string, unknown>).lr = 'fast'), /checkpoint field 'config\.lr' must be a number > 0/],
      [(m) => ((m.config as Record<string, unknown>).epochs = 0), /checkpoint field 'config\.epochs' must be an integer ≥ 1/],
      [
        (m) => ((m.optimizer as { paramGroups: unknown[] }).paramGroups = [{ params: [0], lr: 'x' }]),
        /checkpoint field 'optimizer\.paramGroups\[0\]\.lr' must be a finite number/,
      ],
    ];
    for (const [edit, message] of cases) {
      const out = await trained('ckpt-edit');
      editCheckpoint(join(out, 'checkpoint.safetensors'), edit);
      const r = await vireo('train', '--resume', out, '--json');
      expect(r.status, `${message}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toContain(join(out, 'checkpoint.safetensors'));
      expect(r.lines).toEqual([]);
      rmSync(out, { recursive: true });
    }
  }, 90_000);

  it('6. oversized models fail naming the file, the layer and the size, before allocating', async () => {
    const out = await trained('huge');
    const json = join(out, 'model.json');
    const good = readFileSync(json, 'utf8');
    type Layer = Record<string, unknown>;
    const layers = (j: Record<string, unknown>) => (j.architecture as { layers: Layer[] }).layers;
    const fc = (j: Record<string, unknown>) => layers(j).find((l) => l.type === 'Linear') as Layer;

    editJson(json, (j) => (fc(j).inFeatures = 1e9));
    await expect(loadModel(out)).rejects.toThrow(LimitError);
    await expect(loadModel(out)).rejects.toThrow(
      /model\.json: architecture: .* parameters \(largest: layer 'fc1', Linear, .*\) needs \d+\.\d GiB, over the limit of 2\.0 GiB/,
    );

    writeFileSync(json, good);
    // The classifier as Linear(2.5e7, 10): 1 GB, under the limit, but not what the weights file holds.
    const classifier = (j: Record<string, unknown>) =>
      layers(j)
        .filter((l) => l.type === 'Linear')
        .at(-1) as Layer;
    editJson(json, (j) => (classifier(j).inFeatures = 2.5e7));
    const err = await loadModel(out).catch((e) => e);
    expect(err).toBeInstanceOf(StateDictError);
    expect(err.message).toMatch(
      /weights\.safetensors: tensor 'fc2\.weight' has shape \[10, 128\], the model's layer 'fc2' needs \[10, 25000000\]/,
    );

    writeFileSync(json, good);
    editJson(json, (j) => (j.inputShape = [1, 100000, 100000]));
    await expect(loadModel(out)).rejects.toThrow(/model\.json: an input batch of 1×1×100000×100000 needs 37\.3 GiB/);

    // 20,000 levels of nesting: refused by depth, not by the stack.
    // (Written as text: JSON.stringify itself overflows the stack at this depth.)
    const deep = `${'{"type": "Residual", "main": '.repeat(20_000)}{"type": "ReLU"}${'}'.repeat(20_000)}`;
    writeFileSync(json, good);
    editJson(json, (j) => (j.architecture = '@deep'));
    writeFileSync(json, readFileSync(json, 'utf8').replace('"@deep"', deep));
    await expect(loadModel(out)).rejects.toThrow(/model\.json: architecture\.main\.main.*: layers nest more than 64 deep/);

    // An imported model's input: checked before the graph is built.
    const imported = join(dir, 'huge-onnx');
    expect((await vireo('import', onnxFixture, '--out', imported)).status).toBe(0);
    editJson(join(imported, 'model.json'), (j) => (j.inputShape = [3, 100000, 100000]));
    const p = await vireo('predict', '--model', imported, join(dir, 'none.png'));
    expect(p.status).toBe(1);
    expect(p.stderr).toMatch(/model\.json: an input of 1×3×100000×100000 needs 111\.8 GiB, over the limit/);

    // The limit is stated and can be set.
    process.env.VIREO_MEMORY_LIMIT = '1M';
    try {
      writeFileSync(json, good);
      await expect(loadModel(out)).rejects.toThrow(/over the limit of 1\.0 MiB \(VIREO_MEMORY_LIMIT sets it\)/);
    } finally {
      delete process.env.VIREO_MEMORY_LIMIT;
    }
  }, 60_000);

  it('7. layer errors name the file and the layer; zeros([-5]) is a ShapeError', async () => {
    const out = await trained('layer-errors');
    editJson(join(out, 'model.json'), (j) => {
      (j.architecture as { layers: Record<string, unknown>[] }).layers[0].outChannels = 0;
    });
    await expect(loadModel(out)).rejects.toThrow(
      /layer-errors\/model\.json: architecture\.conv1: Conv2d outChannels must be a positive integer, got 0/,
    );
    expect(() => zeros([-5])).toThrow(ShapeError);
    expect(() => zeros([2, 1.5])).toThrow(ShapeError);
  });

  it('8. a class list that does not match the outputs is refused at load, naming both counts', async () => {
    const out = await trained('classes');
    editJson(join(out, 'model.json'), (j) => (j.classes = ['a', 'b', 'c']));
    const r = await vireo('predict', '--model', out, join(out, 'model.json'));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/model\.json: 3 class names, but the model's output is 10 values per image/);
    const imported = join(dir, 'classes-onnx');
    expect((await vireo('import', onnxFixture, '--out', imported)).status).toBe(0);
    editJson(join(imported, 'model.json'), (j) => (j.classes = ['a', 'b', 'c']));
    const e = await vireo('eval', '--model', imported, '--data', dir);
    expect(e.status).toBe(1);
    expect(e.stderr).toMatch(/model\.json: 3 class names, but the model's output is 10 values per image/);
  });
});

describe('issue 14: resources and input the user does not control', () => {
  it('9. --workers beyond the cores is capped, and says so', async () => {
    const cores = availableParallelism();
    const r = await vireo('train', ...tiny, '--workers', '1000', '--out', join(dir, 'workers'), '--json');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`note: --workers 1000 is more than this machine's ${cores} cores; using ${cores}`);
    const { cappedWorkerCount } = await import('../src/data/pool.js');
    expect(await cappedWorkerCount(1000)).toBe(cores);
  }, 60_000);

  it('10. predict reads only regular files, and names a FIFO, a device and a link loop', async () => {
    const out = await trained('reads');
    const fifo = join(dir, 'pipe.png');
    execFileSync('mkfifo', [fifo]);
    const zero = join(dir, 'zero.png');
    symlinkSync('/dev/zero', zero);
    const loop = join(dir, 'loop.png');
    symlinkSync(loop, loop);
    const cases: [string, RegExp][] = [
      [fifo, /pipe\.png: a FIFO \(named pipe\), not a regular file/],
      [zero, /zero\.png: a character device, not a regular file/],
      [loop, /loop\.png: a symbolic link loop/],
      [join(dir, 'missing.png'), /missing\.png: no such file/],
    ];
    for (const [file, message] of cases) {
      const r = await vireo('predict', '--model', out, file);
      expect(r.status, file).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });

  it('11. control characters in class names are escaped in human output; JSON keeps them exact', async () => {
    const out = await trained('escape');
    const hostile = '\x1b[2J\x1b[31mT-shirt\nvireo: all good\r';
    editJson(join(out, 'model.json'), (j) => (j.classes = Array.from({ length: 10 }, () => hostile)));
    const png = join(dir, 'gray.png');
    await sharp(Buffer.alloc(28 * 28, 128), { raw: { width: 28, height: 28, channels: 1 } })
      .png()
      .toFile(png);
    const human = await vireo('predict', '--model', out, png);
    expect(human.status, human.stderr).toBe(0);
    expect(human.lines).toHaveLength(1); // one image, one line: the newline in the name did not start another
    for (const c of ['\x1b', '\r', '\n']) expect(human.lines[0]).not.toContain(c);
    expect(human.stdout).toContain('\\x1b[2J\\x1b[31mT-shirt\\x0avireo: all good\\x0d');
    const json = await vireo('predict', '--model', out, png, '--json');
    expect(JSON.parse(json.lines[0]).top[0].label).toBe(hostile);
    const ev = await vireo('eval', '--model', out, '--limit', '20');
    expect(ev.status, ev.stderr).toBe(0);
    expect(ev.stdout).not.toContain('\x1b');
    expect(ev.stdout).toContain('\\x1b[31mT-shirt');
  }, 60_000);

  it('12. paths a model file names stay inside its directory', async () => {
    const out = await trained('paths');
    const other = join(dir, 'other');
    mkdirSync(other, { recursive: true });
    copyFileSync(join(out, 'weights.safetensors'), join(other, 'w.safetensors'));
    editJson(join(out, 'model.json'), (j) => (j.weights = '../other/w.safetensors'));
    await expect(loadModel(out)).rejects.toThrow(
      /model\.json: 'weights' "\.\.\/other\/w\.safetensors" points outside the model directory/,
    );
    editJson(join(out, 'model.json'), (j) => (j.weights = join(other, 'w.safetensors')));
    await expect(loadModel(out)).rejects.toThrow(/'weights' must be a file name inside the model directory/);
    symlinkSync(join(other, 'w.safetensors'), join(out, 'link.safetensors'));
    editJson(join(out, 'model.json'), (j) => (j.weights = 'link.safetensors'));
    await expect(loadModel(out)).rejects.toThrow(/'weights' "link\.safetensors" is a link to a file outside the model directory/);

    const imported = join(dir, 'paths-onnx');
    expect((await vireo('import', onnxFixture, '--out', imported)).status).toBe(0);
    editJson(join(imported, 'model.json'), (j) => (j.onnx = '../../etc/passwd'));
    const r = await vireo('predict', '--model', imported, join(dir, 'x.png'));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/'onnx' "\.\.\/\.\.\/etc\/passwd" points outside the model directory/);
  });

  it('13. a transform failing in a worker keeps its error class and names the sample and its file', async () => {
    const root13 = join(dir, 'small-images');
    for (const c of ['a', 'b']) {
      mkdirSync(join(root13, c), { recursive: true });
      for (let i = 0; i < 2; i++)
        await sharp(Buffer.alloc(4 * 4 * 3, 40 * i), { raw: { width: 4, height: 4, channels: 3 } })
          .png()
          .toFile(join(root13, c, `${i}.png`));
    }
    const ds = await ImageFolder.fromDirectory(root13, { transform: new T.Compose([new T.RandomCrop(16), new T.ToTensor()]) });
    const loader = new DataLoader(ds, { batchSize: 2, numWorkers: 2 });
    try {
      const err = await (async () => {
        for await (const _ of loader);
      })().catch((e) => e);
      expect(err).toBeInstanceOf(ArgumentError);
      expect(err.message).toMatch(
        /^sample (\d) \(.*small-images\/[ab]\/[01]\.png \(record \1\)\): RandomCrop: crop size 16x16 is larger/,
      );
    } finally {
      await loader.close();
    }
  }, 60_000);

  it('14. small ones: empty class folders, --runs 0, --epochs 0x1 and -1, npm warnings', async () => {
    const folder = join(dir, 'with-empty');
    for (const c of ['cat', 'dog', 'empty']) mkdirSync(join(folder, c), { recursive: true });
    for (const c of ['cat', 'dog'])
      await sharp(Buffer.alloc(8 * 8 * 3, 9), { raw: { width: 8, height: 8, channels: 3 } })
        .png()
        .toFile(join(folder, c, 'x.png'));
    const e = await vireo('train', '--data', folder, ...tiny, '--out', join(dir, 'empty-out'));
    expect(e.status).toBe(1);
    expect(e.stderr).toMatch(/with-empty: class folder 'empty' holds no images/);

    const usage: [string[], RegExp][] = [
      [['demo', '--runs', '0'], /--runs must be an integer ≥ 1, got '0'/],
      [['train', '--epochs', '0x1'], /--epochs must be an integer ≥ 1, got '0x1'/],
      [['train', '--epochs', '-1'], /--epochs must be an integer ≥ 1, got '-1'/],
      [['train', '--epochs=-1'], /--epochs must be an integer ≥ 1, got '-1'/],
      [['train', '--lr', '0x10'], /--lr must be a number > 0, got '0x10'/],
      [['eval', '--limit', '-2'], /--limit must be an integer ≥ 1, got '-2'/],
    ];
    for (const [argv, message] of usage) {
      const r = await vireo(...argv);
      expect(r.status, argv.join(' ')).toBe(2);
      expect(r.stderr, argv.join(' ')).toMatch(message);
    }

    // The first thing a newcomer sees from `npx vireo …` must not be npm complaining about the project's .npmrc.
    // (npm_* variables of the npm that started this test are left out: they are not the project's config.)
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
    const npm = spawnSync('npm', ['config', 'get', 'registry'], { cwd: root, encoding: 'utf8', env });
    expect(npm.status).toBe(0);
    expect(npm.stderr).not.toMatch(/Unknown project config/);
  }, 60_000);
});
