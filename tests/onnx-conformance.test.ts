import { existsSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Tensor, importOnnx } from '../src/index.js';
import { UnsupportedOpError } from '../src/io/onnx/builder.js';
import { decodeOnnx } from '../src/io/onnx/decode.js';
import { backendsUnderTest } from './helpers/backends.js';
import { requireInCi } from './helpers/ci.js';
import { allClose, onnxTestRoot, suiteCases } from './helpers/onnx-suite.js';
import { claimedCases, knownBound, knownRunTime, minPassing } from './onnx-known-failures.js';

/**
 * ONNX backend node tests (Debian's libonnx-testdata) for every op vireo imports, on the reference
 * backend and each wasm build, at the ONNX runner's tolerance: |actual - expected| <= 1e-7 + 1e-3 |expected|.
 *
 * Each case runs first as the test data defines it: every graph input without an initializer is fed at
 * run time. A case vireo cannot run that way (a weight, a Clip bound or a shape given as a graph input,
 * an op or feature vireo lacks) must be listed in tests/onnx-known-failures.ts with its reason; it then
 * runs a second time with the inputs after the first bound as constants, which checks the op's
 * arithmetic where vireo takes those operands as parameters, and that run must pass too unless it is
 * listed as well. Anything else fails the test: a numeric mismatch, an unlisted unsupported case, a
 * listed case that now passes (the list must shrink with it), or an op with fewer passing cases than
 * minPassing records, or fewer passing cases of the claimed ops than claimedCases records.
 *
 * The claimed-op pass rate (printed for each backend): the cases of the ops vireo imports that pass, as
 * defined or with constants bound, over all of them; and the same over the float32 cases only (the others
 * are refused for their data type: vireo computes in float32).
 */
const present = existsSync(onnxTestRoot);
const cases = present ? suiteCases() : [];

type Outcome = { outcome: 'passed' | 'failed' | 'unsupported'; note?: string };
const dataTypeName: Record<number, string> = {
  2: 'uint8',
  3: 'int8',
  6: 'int32',
  7: 'int64',
  9: 'bool',
  10: 'float16',
  11: 'float64',
};

/** Runs one case; `bind` binds graph inputs after the first as constants (vireo's parameter path). */
async function runCase(c: (typeof cases)[number], backend: (typeof backendsUnderTest)[number], bind: boolean): Promise<Outcome> {
  if (c.unreadable) return { outcome: 'unsupported', note: `not readable by vireo's decoder (${c.unreadable})` };
  const proto = decodeOnnx(c.bytes);
  const inputNames = proto.inputs.filter((i) => !proto.initializers.has(i.name)).map((i) => i.name);
  for (const [k, set] of c.sets.entries()) {
    const fed = bind ? set.inputs.slice(0, 1) : set.inputs;
    // A bool input (a Where condition) is fed as 0/1 floats, which hold it exactly; other types are refused.
    const odd = fed.findIndex((t) => t.dataType !== 1 && t.dataType !== 9);
    if (odd >= 0) {
      const type = dataTypeName[fed[odd].dataType] ?? `data type ${fed[odd].dataType}`;
      return { outcome: 'unsupported', note: `input ${odd} is ${type} (vireo computes in float32)` };
    }
    if (proto.outputs.length !== set.outputs.length) return { outcome: 'unsupported', note: 'optional outputs' };
    const constants = bind ? Object.fromEntries(inputNames.slice(1).map((n, i) => [n, set.inputs[i + 1]])) : {};
    let outputs: Record<string, Tensor>;
    try {
      const model = await importOnnx(c.bytes, { constants });
      await model.to(backend.name, backend.build ? { build: backend.build } : {});
      const feeds = Object.fromEntries(fed.map((t, i) => [inputNames[i], new Tensor(Float32Array.from(t.values), t.dims)]));
      outputs = await model.run(feeds);
      model.releasePlans();
    } catch (e) {
      if (e instanceof UnsupportedOpError) return { outcome: 'unsupported', note: e.message.replace(/^node '[^']*' /, '') };
      return { outcome: 'failed', note: `set ${k}: ${(e as Error).message}` };
    }
    for (const [i, o] of proto.outputs.entries()) {
      const got = outputs[o.name];
      const expected = set.outputs[i];
      if (got.shape.join(',') !== expected.dims.join(','))
        return { outcome: 'failed', note: `set ${k}: shape [${got.shape}] vs [${expected.dims}]` };
      const bad = allClose(got.dataSync(), expected.values);
      if (bad) return { outcome: 'failed', note: `set ${k} output '${o.name}': ${bad}` };
    }
  }
  return { outcome: 'passed' };
}

/** A refusal for the data type alone: an input that is not float32 (or bool), or one the decoder cannot read. */
const typeRefusal = /^input \d+ is \w+ \(vireo computes in float32\)$|has data type \w+, which vireo does not read/;

/** True when the case passed; records a problem unless the outcome is exactly the listed one. */
function check(name: string, r: Outcome, listed: string | undefined, problems: string[], list: string): boolean {
  if (r.outcome === 'passed') {
    if (listed !== undefined) problems.push(`${name} passes now: remove it from ${list} ('${listed}')`);
    return true;
  }
  if (listed === undefined) problems.push(`${name}: ${r.outcome}: ${r.note} (not in ${list})`);
  else if (r.outcome !== 'unsupported' || r.note !== listed)
    problems.push(`${name}: ${r.outcome}: ${r.note}; ${list} expects '${listed}'`);
  return false;
}

describe.skipIf(!present)(`ONNX conformance (${onnxTestRoot})`, () => {
  for (const backend of backendsUnderTest) {
    it(`node tests on ${backend.label}: failures only where listed, at least the recorded passes per op`, {
      timeout: 300_000,
    }, async () => {
      const problems: string[] = [];
      const passed = new Map<string, number>();
      const dump: Record<string, unknown> = {};
      const tally = { total: 0, passing: 0, otherTypes: 0 };
      for (const c of cases) {
        const r = await runCase(c, backend, false);
        let ok = check(c.name, r, knownRunTime.get(c.name), problems, 'knownRunTime');
        let bound: Outcome | undefined;
        if (!ok && knownRunTime.has(c.name)) {
          bound = await runCase(c, backend, true);
          ok = check(`${c.name} with constants bound`, bound, knownBound.get(c.name), problems, 'knownBound');
        }
        dump[c.name] = { op: c.op, runTime: r, bound };
        if (ok) passed.set(c.op, (passed.get(c.op) ?? 0) + 1);
        if (!c.op.startsWith('(')) {
          tally.total++;
          if (ok) tally.passing++;
          if (!ok && typeRefusal.test(`${(bound ?? r).note}`)) tally.otherTypes++;
        }
      }
      const rate = (p: number, t: number) => `${p} of ${t} (${((100 * p) / t).toFixed(1)}%)`;
      console.log(
        `claimed-op conformance on ${backend.label}: ${rate(tally.passing, tally.total)} pass; float32 cases: ${rate(tally.passing, tally.total - tally.otherTypes)}`,
      );
      if (tally.total !== claimedCases.total)
        problems.push(`${tally.total} claimed-op cases, claimedCases records ${claimedCases.total}: regenerate the list`);
      // The bar: 95% of the float32 cases of the claimed ops (the others are refused for their type).
      if (tally.passing < 0.95 * (tally.total - tally.otherTypes))
        problems.push(`claimed-op float32 pass rate below 95%: ${rate(tally.passing, tally.total - tally.otherTypes)}`);
      if (tally.passing < claimedCases.passing)
        problems.push(`${tally.passing} claimed-op cases pass, fewer than the ${claimedCases.passing} recorded`);
      if (process.env.VIREO_CONFORMANCE_DUMP)
        writeFileSync(`${process.env.VIREO_CONFORMANCE_DUMP}.${backend.label}.json`, JSON.stringify(dump, null, 1));
      for (const [op, min] of Object.entries(minPassing)) {
        const n = passed.get(op) ?? 0;
        if (n < min) problems.push(`${op}: ${n} cases pass, fewer than the ${min} recorded in minPassing`);
      }
      expect(problems, problems.join('\n')).toEqual([]);
    });
  }
});

// Defined only when the data is missing, so a run that has it counts no skip.
if (!present)
  describe('ONNX conformance', () => {
    it(`needs ${onnxTestRoot} (apt-get install libonnx-testdata)`, (ctx) => requireInCi(ctx, `${onnxTestRoot} is absent`));
  });
