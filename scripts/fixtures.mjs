// Regenerates every committed fixture (`npm run fixtures`), or with --check (`npm run fixtures:check`, run by
// .ci/run) regenerates them and fails if any byte differs from what is committed, then puts the committed
// files back. Every generator is deterministic (fixed seeds, one thread; PyTorch 1.13 CPU, torchvision 0.14
// and onnx 1.12 from Debian 12), so a difference means a generator or a fixture changed without the other.
// The whole set takes ~20 s, so CI checks all of it rather than a subset. Not rerun here:
// tests/fixtures/compat/ (scripts/make_compat_fixture.mjs builds an EARLIER revision in a temporary worktree:
// what an older vireo wrote, which the current code must not regenerate); the check leaves it untouched.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const python = '/usr/bin/python3'; // Debian's interpreter, where python3-torch/-torchvision/-onnx live

// In dependency order: make_fixtures writes the weights and inputs the next four read.
const generators = [
  [python, 'scripts/make_fixtures.py'],
  [python, 'scripts/make_grad_fixtures.py'],
  [python, 'scripts/make_train_fixtures.py'],
  [python, 'scripts/make_onnx_fixtures.py'],
  [python, 'scripts/make_op_fixtures.py'],
  [python, 'scripts/make_transform_fixtures.py'],
  [process.execPath, 'scripts/make_fashion_mnist_subset.mjs'], // needs Debian's dataset-fashion-mnist
];
const outputs = ['tests/fixtures', 'data/fashion-mnist-subset'];

function files(dir) {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

function generate() {
  for (const [cmd, script] of generators) {
    console.log(`fixtures: ${script}`);
    const r = spawnSync(cmd, [script], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.status !== 0) {
      console.error(`fixtures: ${script} failed (status ${r.status ?? r.signal})`);
      return false;
    }
  }
  return true;
}

if (!process.argv.includes('--check')) {
  process.exit(generate() ? 0 : 1);
}

const saved = mkdtempSync(join(tmpdir(), 'vireo-fixtures-'));
for (const o of outputs) cpSync(join(root, o), join(saved, o), { recursive: true });
let status = 0;
try {
  if (!generate()) status = 1;
  else {
    const differ = [];
    for (const o of outputs) {
      const before = new Set(files(join(saved, o)).map((f) => relative(saved, f)));
      const after = new Set(files(join(root, o)).map((f) => relative(root, f)));
      for (const f of new Set([...before, ...after])) {
        if (!before.has(f) || !after.has(f)) differ.push(`${f} (${before.has(f) ? 'no longer written' : 'not committed'})`);
        else if (!readFileSync(join(saved, f)).equals(readFileSync(join(root, f)))) differ.push(f);
      }
    }
    if (differ.length) {
      console.error(`fixtures: the generators no longer produce the committed files:\n  ${differ.join('\n  ')}`);
      status = 1;
    } else console.log('fixtures: every committed fixture is what its script writes');
  }
} finally {
  // Leave the committed files as they were, whatever the generators did.
  for (const o of outputs) {
    rmSync(join(root, o), { recursive: true, force: true });
    cpSync(join(saved, o), join(root, o), { recursive: true });
  }
  rmSync(saved, { recursive: true, force: true });
}
process.exit(status);
