import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { Tensor, importOnnx } from '../src/index.js';
import { UnsupportedOpError } from '../src/io/onnx/builder.js';
import { FormatError } from '../src/core/errors.js';
import { decodeOnnx } from '../src/io/onnx/decode.js';
import { backendsUnderTest } from './helpers/backends.js';
import { allClose, onnxTestRoot, suiteCases, supportedOps } from './helpers/onnx-suite.js';

/**
 * ONNX backend node tests (Debian's libonnx-testdata) for every op vireo imports, on the reference
 * backend and each wasm build, at the ONNX runner's tolerance: |actual - expected| <= 1e-7 + 1e-3 |expected|.
 * Graph inputs after the first are bound as constants (the suite feeds weights, shapes and second
 * operands as inputs; vireo takes weights as parameters). A case is skipped, with its reason, when it
 * uses a feature vireo lacks (UnsupportedOpError: an op, a non-2-D conv/pool, a run-time shape, a
 * non-float input). Prints passed/failed/skipped per op.
 */
const present = existsSync(onnxTestRoot);
const cases = present ? suiteCases() : [];

type Tally = { passed: number; failed: number; skipped: number; reasons: Set<string>; failures: string[] };
const tally = new Map<string, Map<string, Tally>>();
function record(backend: string, op: string, outcome: 'passed' | 'failed' | 'skipped', note?: string): void {
  let byOp = tally.get(backend);
  if (!byOp) {
    byOp = new Map();
    tally.set(backend, byOp);
  }
  let t = byOp.get(op);
  if (!t) {
    t = { passed: 0, failed: 0, skipped: 0, reasons: new Set(), failures: [] };
    byOp.set(op, t);
  }
  t[outcome]++;
  if (outcome === 'skipped' && note) t.reasons.add(note);
  if (outcome === 'failed' && note) t.failures.push(note);
}

/** Runs one case; 'skipped' with a reason for features vireo lacks. */
async function runCase(
  c: (typeof cases)[number],
  backend: (typeof backendsUnderTest)[number],
): Promise<{ outcome: 'passed' | 'failed' | 'skipped'; note?: string }> {
  if (c.unreadable) return { outcome: 'skipped', note: `test data is not plain tensors (${c.unreadable})` };
  const proto = decodeOnnx(c.bytes);
  const inputNames = proto.inputs.filter((i) => !proto.initializers.has(i.name)).map((i) => i.name);
  for (const [k, set] of c.sets.entries()) {
    if (set.inputs[0] && set.inputs[0].dataType !== 1)
      return {
        outcome: 'skipped',
        note: `first input is ${set.inputs[0].dataType === 7 ? 'int64' : `data type ${set.inputs[0].dataType}`} (vireo computes in float32)`,
      };
    if (proto.outputs.length !== set.outputs.length) return { outcome: 'skipped', note: 'optional outputs' };
    const constants = Object.fromEntries(inputNames.slice(1).map((n, i) => [n, set.inputs[i + 1]]));
    let model: Awaited<ReturnType<typeof importOnnx>>;
    let outputs: Record<string, Tensor>;
    try {
      model = await importOnnx(c.bytes, { constants });
      await model.to(backend.name, backend.build ? { build: backend.build } : {});
      const x = set.inputs[0];
      outputs = await model.run({ [inputNames[0]]: new Tensor(Float32Array.from(x.values), x.dims) });
      model.releasePlans();
    } catch (e) {
      if (e instanceof UnsupportedOpError) return { outcome: 'skipped', note: e.message.replace(/^node '[^']*' /, '') };
      return { outcome: 'failed', note: `${c.name}: ${(e as Error).message}` };
    }
    for (const [i, o] of proto.outputs.entries()) {
      const got = outputs[o.name];
      const expected = set.outputs[i];
      if (got.shape.join(',') !== expected.dims.join(','))
        return { outcome: 'failed', note: `${c.name} set ${k}: shape [${got.shape}] vs [${expected.dims}]` };
      const bad = allClose(got.dataSync(), expected.values);
      if (bad) return { outcome: 'failed', note: `${c.name} set ${k} output '${o.name}': ${bad}` };
    }
  }
  return { outcome: 'passed' };
}

describe.skipIf(!present)(`ONNX conformance (${onnxTestRoot}; skipped without Debian's libonnx-testdata)`, () => {
  for (const backend of backendsUnderTest) {
    it(`node tests on ${backend.label}`, { timeout: 300_000 }, async () => {
      for (const c of cases) {
        const r = await runCase(c, backend);
        record(backend.label, c.op, r.outcome, r.note);
      }
      const byOp = tally.get(backend.label);
      expect(byOp?.size ?? 0).toBeGreaterThan(0);
      const passed = [...(byOp?.values() ?? [])].reduce((s, t) => s + t.passed, 0);
      expect(passed).toBeGreaterThan(0);
    });
  }

  afterAll(() => {
    for (const [backend, byOp] of tally) {
      const lines = [`ONNX conformance on ${backend} (rtol 1e-3, atol 1e-7):`];
      for (const op of supportedOps) {
        const t = byOp.get(op);
        if (!t) {
          lines.push(`  ${op.padEnd(20)} no suite tests`);
          continue;
        }
        lines.push(`  ${op.padEnd(20)} passed ${t.passed}  failed ${t.failed}  skipped ${t.skipped}`);
        for (const r of t.reasons) lines.push(`      skip: ${r}`);
        for (const f of t.failures) lines.push(`      FAIL: ${f}`);
      }
      console.log(lines.join('\n'));
    }
  });
});

describe.skipIf(present)('ONNX conformance', () => {
  it.skip(`skipped: ${onnxTestRoot} is absent (apt-get install libonnx-testdata)`, () => {});
});

export { FormatError };
