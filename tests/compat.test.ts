// A model directory trained, checkpointed and evaluated by an earlier vireo (tests/fixtures/compat, made by
// scripts/make_compat_fixture.mjs with that revision's build) must load, evaluate and resume with the
// current engine to the same numbers, bit for bit: the redesigned executor (device-resident parameters,
// optimizer state and BatchNorm statistics) changes where the arithmetic runs, not its result.
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../src/cli/main.js';

const fixture = fileURLToPath(new URL('./fixtures/compat/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'vireo-compat-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function vireo(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const status = await run(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { status, out, stderr: err.join('\n') };
}

describe('a model saved by an earlier vireo', () => {
  it('evaluates to the same metrics and confusion matrix as that vireo printed', async () => {
    const model = join(dir, 'eval');
    cpSync(join(fixture, 'stopped'), model, { recursive: true });
    const r = await vireo('eval', '--model', model, '--limit', '64', '--json');
    expect(r.status, r.stderr).toBe(0);
    const { model: _a, ...now } = JSON.parse(r.out[0]);
    const { model: _b, ...then } = JSON.parse(readFileSync(join(fixture, 'eval.json'), 'utf8'));
    expect(now).toEqual(then);
  });

  it('resumes (BatchNorm, Dropout, SGD momentum, clipping, augmentation) to the same weights, bit for bit', async () => {
    const model = join(dir, 'resume');
    cpSync(join(fixture, 'stopped'), model, { recursive: true });
    const r = await vireo('train', '--resume', model, '--json');
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.out[0]).epoch).toBe(2);
    const now = readFileSync(join(model, 'weights.safetensors'));
    const then = readFileSync(join(fixture, 'resumed-weights.safetensors'));
    expect(now.equals(then)).toBe(true);
  }, 60_000);
});
