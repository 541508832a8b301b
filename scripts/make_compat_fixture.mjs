// Writes tests/fixtures/compat/: a model directory trained and checkpointed by an EARLIER vireo, and what
// that vireo gave when it evaluated it and resumed it. tests/compat.test.ts checks that the current code
// evaluates and resumes it to the same numbers, bit for bit. Run with the earlier revision's build:
//   node scripts/make_compat_fixture.mjs REV      (e.g. 5c7ce92; built in a temporary git worktree)
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = resolve(import.meta.dirname, '..');
const rev = process.argv[2];
if (!rev) throw new Error('usage: node scripts/make_compat_fixture.mjs REV');
const work = mkdtempSync(join(tmpdir(), 'vireo-compat-'));
const old = join(work, 'vireo');
execFileSync('git', ['worktree', 'add', '--detach', old, rev], { cwd: root, stdio: 'ignore' });
try {
  symlinkSync(join(root, 'node_modules'), join(old, 'node_modules'));
  execFileSync('npm', ['run', '--silent', 'build:wasm'], { cwd: old, stdio: 'ignore' });
  execFileSync('npm', ['run', '--silent', 'build:ts'], { cwd: old, stdio: 'ignore' });
  const v = await import(pathToFileURL(join(old, 'dist', 'index.js')).href);
  const { saveModel } = await import(pathToFileURL(join(old, 'dist', 'io', 'model-file.js')).href);
  const vireo = (...args) => execFileSync(process.execPath, [join(old, 'bin', 'vireo.js'), ...args], { cwd: work }).toString();
  // Every kind of state a checkpoint carries: conv, BatchNorm (running statistics and the batch count),
  // Dropout (its generator), Linear, SGD momentum, gradient clipping, augmentation.
  v.manualSeed(11);
  const net = new v.nn.Sequential({
    conv: new v.nn.Conv2d(1, 6, 3, { padding: 1 }),
    bn: new v.nn.BatchNorm2d(6),
    relu1: new v.nn.ReLU(),
    pool: new v.nn.MaxPool2d(4),
    flatten: new v.nn.Flatten(),
    fc1: new v.nn.Linear(6 * 7 * 7, 24),
    relu2: new v.nn.ReLU(),
    drop: new v.nn.Dropout(0.25),
    fc2: new v.nn.Linear(24, 10),
  });
  const start = join(work, 'start');
  await saveModel(start, net, {
    inputShape: [1, 28, 28],
    classes: v.datasets.FashionMNIST.classes,
    normalization: { mean: [0.5], std: [0.5] },
  });
  const stopped = join(work, 'stopped');
  const opts = [
    '--epochs',
    '2',
    '--limit',
    '64',
    '--batch-size',
    '16',
    '--optimizer',
    'sgd',
    '--momentum',
    '0.9',
    '--clip-norm',
    '2',
    '--augment',
  ];
  vireo('train', '--model', start, ...opts, '--out', stopped, '--stop-after', '1', '--json');
  const evalJson = vireo('eval', '--model', stopped, '--limit', '64', '--json');
  const resumed = join(work, 'resumed');
  cpSync(stopped, resumed, { recursive: true });
  vireo('train', '--resume', resumed, '--json');
  const out = join(root, 'tests', 'fixtures', 'compat');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  cpSync(stopped, join(out, 'stopped'), { recursive: true });
  writeFileSync(join(out, 'eval.json'), evalJson);
  writeFileSync(join(out, 'resumed-weights.safetensors'), readFileSync(join(resumed, 'weights.safetensors')));
  writeFileSync(
    join(out, 'README.md'),
    `Made by scripts/make_compat_fixture.mjs with vireo at ${execFileSync('git', ['rev-parse', '--short', rev], { cwd: root }).toString().trim()}: \`stopped/\` is a model directory after epoch 1 of 2 (checkpoint included), \`eval.json\` what that vireo's \`vireo eval --limit 64 --json\` printed for it, \`resumed-weights.safetensors\` the weights its \`vireo train --resume\` ended with.\n`,
  );
  console.log(`wrote ${out}`);
} finally {
  execFileSync('git', ['worktree', 'remove', '--force', old], { cwd: root, stdio: 'ignore' });
  rmSync(work, { recursive: true, force: true });
}
