import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Tensor, manualSeed, readSafetensors, readSafetensorsFile, tensor, writeSafetensors } from '../src/index.js';
import { fixturePath, readFixture, smallNet } from './helpers/models.js';
import { expectClose, randomArray } from './helpers/random.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const PYTHON = '/usr/bin/python3';

function header(bytes: Uint8Array): { length: number; json: string } {
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { length, json: new TextDecoder().decode(bytes.subarray(8, 8 + length)) };
}

/** Same values, bit for bit where it matters: NaN equals NaN, -0 differs from 0. */
function expectSameValues(actual: Float32Array, expected: Float32Array, what: string): void {
  expect(actual.length, what).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i])) throw new Error(`${what}[${i}]: got ${actual[i]}, expected ${expected[i]}`);
  }
}

describe('reading files written by the PyTorch side (scripts/make_fixtures.py)', () => {
  const { tensors, metadata } = readFixture('dtypes.safetensors');

  it('decodes F16 (subnormals, ±0, ±inf, NaN), BF16, I64, F64, I32, I16, I8, U8 and BOOL exactly', () => {
    const decoded = [...tensors.keys()].filter((k) => !k.endsWith('.f32'));
    expect(decoded).toEqual([
      'zeta.f16',
      'alpha.bf16',
      'mid.i64',
      'num_batches_tracked',
      'beta.f64',
      'b.i32',
      'a.i16',
      'c.i8',
      'd.u8',
      'e.bool',
      'empty',
    ]);
    for (const name of decoded) {
      const t = tensors.get(name) as Tensor;
      const want = tensors.get(`${name}.f32`) as Tensor;
      expect(t.shape, name).toEqual(want.shape);
      expectSameValues(t.dataSync(), want.dataSync(), name);
    }
    // Spot values, independent of the python side's own conversion.
    expect(Array.from(tensors.get('zeta.f16')?.dataSync() ?? []).slice(0, 8)).toEqual([
      0,
      -0,
      1,
      -2.5,
      0.333251953125,
      65504,
      2 ** -14,
      2 ** -24,
    ]);
    expect(Array.from(tensors.get('mid.i64')?.dataSync() ?? [])).toEqual([0, -1, 42, 2 ** 40, -(2 ** 53), 123456792]);
    expect(tensors.get('num_batches_tracked')?.shape).toEqual([]);
    expect(tensors.get('num_batches_tracked')?.dataSync()[0]).toBe(7);
  });

  it('marks integer dtypes so they are written back as I64, floats as F32', () => {
    for (const name of ['mid.i64', 'num_batches_tracked', 'b.i32', 'a.i16', 'c.i8', 'd.u8', 'e.bool'])
      expect(tensors.get(name)?.integer, name).toBe(true);
    for (const name of ['zeta.f16', 'alpha.bf16', 'beta.f64', 'empty', 'zeta.f16.f32'])
      expect(tensors.get(name)?.integer, name).toBe(false);
  });

  it('keeps the file order of names and reads metadata, UTF-8 included', () => {
    expect([...tensors.keys()].slice(0, 4)).toEqual(['zeta.f16', 'zeta.f16.f32', 'alpha.bf16', 'alpha.bf16.f32']);
    expect(metadata).toEqual({
      format: 'pt',
      producer: 'scripts/make_fixtures.py',
      note: 'each tensor X has its float32 value as X.f32',
      unicode: 'naïve ✓',
    });
  });

  it('writes F32/I64 state dicts byte for byte as the PyTorch side wrote them', () => {
    for (const name of ['small_net.safetensors', 'small_net.io.safetensors', 'reference_cnn.safetensors']) {
      const original = new Uint8Array(readFileSync(fixturePath(name)));
      const file = readSafetensorsFile(original, name);
      const rewritten = writeSafetensors(file.tensors, file.metadata);
      expect(rewritten.byteLength, name).toBe(original.byteLength);
      expect(Buffer.compare(Buffer.from(rewritten), Buffer.from(original)), name).toBe(0);
    }
  });
});

describe("vireo's writer", () => {
  it('pads the header with spaces to 8-byte alignment and starts it with {', () => {
    for (let n = 0; n < 9; n++) {
      // ASCII names of every length mod 8, and non-ASCII ones (UTF-8 bytes ≠ UTF-16 units).
      const bytes = writeSafetensors({ ['x'.repeat(n)]: tensor([1, 2, 3]) }, { ['é'.repeat(n)]: '✓'.repeat(n) });
      const h = header(bytes);
      expect((8 + h.length) % 8).toBe(0);
      expect(h.json.startsWith('{')).toBe(true);
      expect(/^[^ ]*\} *$/.test(h.json)).toBe(true);
      expect(JSON.parse(h.json)['x'.repeat(n)]).toEqual({ dtype: 'F32', shape: [3], data_offsets: [0, 12] });
    }
  });

  it('round-trips values bit for bit, integer tensors as I64, metadata, and key order (integer-like names too)', () => {
    const special = new Float32Array([0, -0, Number.NaN, Number.POSITIVE_INFINITY, -1e-45, 3.4028234663852886e38, 1 / 3]);
    const entries = new Map<string, Tensor>([
      ['zz', tensor(special, [7])],
      ['10', tensor(randomArray(12, 1), [3, 4])],
      ['2', tensor(randomArray(6, 2), [1, 2, 3])],
      ['a.num_batches_tracked', new Tensor(new Float32Array([5]), [], { integer: true })],
      ['m', tensor(new Float32Array(0), [0, 4])],
    ]);
    const meta = { format: 'pt', clé: 'valeur ✓', empty: '' };
    const bytes = writeSafetensors(entries, meta);
    const json = JSON.parse(header(bytes).json);
    expect(json['a.num_batches_tracked']).toEqual({ dtype: 'I64', shape: [], data_offsets: expect.any(Array) });
    const back = readSafetensorsFile(bytes, 'roundtrip');
    expect([...back.tensors.keys()]).toEqual([...entries.keys()]);
    expect(back.metadata).toEqual(meta);
    for (const [name, t] of entries) {
      const r = back.tensors.get(name) as Tensor;
      expect(r.shape, name).toEqual(t.shape);
      expect(r.integer, name).toBe(t.integer);
      expectSameValues(r.dataSync(), t.dataSync(), name);
    }
    // A record works the same as a Map; readSafetensors gives just the tensors.
    expect([...readSafetensors(writeSafetensors({ b: tensor([1]), a: tensor([2]) })).keys()]).toEqual(['b', 'a']);
  });
});

const torchCheck = spawnSync(PYTHON, ['-c', 'import torch, numpy'], { encoding: 'utf8' });
const torchMissing =
  torchCheck.status === 0
    ? null
    : `${PYTHON} cannot import torch (${(torchCheck.stderr || String(torchCheck.error)).trim().split('\n').pop()})`;

// Reads vireo's file with the strict hand-written reader in scripts/make_fixtures.py (which checks
// what the Rust library checks) and, where installed, with safetensors.torch.load_file as well.
const pythonSide = `
import json, sys, torch
sys.path.insert(0, 'scripts')
from make_fixtures import load_safetensors, save_safetensors, small_net
d = sys.argv[1]
sd, meta = load_safetensors(d + '/model.safetensors')
report = {'keys': list(sd), 'metadata': meta, 'dtypes': sorted(set(str(v.dtype) for v in sd.values())),
          'int64': [k for k, v in sd.items() if v.dtype == torch.int64]}
try:
    from safetensors.torch import load_file
except ImportError:
    report['library'] = 'python safetensors package not installed'
else:
    lib = load_file(d + '/model.safetensors')
    assert set(lib) == set(sd) and all(torch.equal(lib[k], sd[k]) for k in sd)
    report['library'] = 'safetensors.torch.load_file agrees'
model = small_net()
model.load_state_dict(sd, strict=True)
model.eval()
x = load_safetensors(d + '/input.safetensors')[0]['x']
with torch.no_grad():
    y = model(x)
save_safetensors(d + '/output.safetensors', {'y': y})
report['num_batches_tracked'] = [int(m.num_batches_tracked) for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
# The reader is strict enough to matter: one byte more or a shifted offset is refused.
raw = open(d + '/model.safetensors', 'rb').read()
n = int.from_bytes(raw[:8], 'little')
variants = {'trailing byte': raw + b'\\x00', 'shifted offset': raw[:8] + raw[8:8 + n].replace(b'"data_offsets":[0,', b'"data_offsets":[4,', 1) + raw[8 + n:]}
report['rejected'] = []
for what, data in variants.items():
    open(d + '/bad.safetensors', 'wb').write(data)
    try:
        load_safetensors(d + '/bad.safetensors')
    except ValueError:
        report['rejected'].append(what)
print(json.dumps(report))
`;

describe.skipIf(torchMissing !== null)(
  `PyTorch reads what vireo writes${torchMissing ? ` (skipped: ${torchMissing})` : ''}`,
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'vireo-safetensors-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('loads into the torch module with load_state_dict(strict=True) and gives the same output', async () => {
      manualSeed(7);
      const net = smallNet();
      // Non-trivial BatchNorm state so the buffers matter.
      let seed = 100;
      for (const [name, p] of net.namedBuffers()) {
        if (name.endsWith('running_mean')) p.set(randomArray(p.values.length, seed++, 0.5));
        if (name.endsWith('running_var')) p.set(randomArray(p.values.length, seed++, 0.5).map((v) => 1 + v));
        if (name.endsWith('num_batches_tracked')) p.set(new Float32Array([seed++]));
      }
      for (const [name, p] of net.namedParameters())
        if (/bn0|\.1\.|\.4\./.test(name)) p.set(randomArray(p.values.length, seed++, 1));
      net.eval();
      await net.to('reference');
      const x = tensor(randomArray(2 * 3 * 33 * 33, 5, 2), [2, 3, 33, 33]);
      const ours = await (await net.forward(x)).data();

      const sd = net.stateDict();
      writeFileSync(join(dir, 'model.safetensors'), writeSafetensors(sd, { format: 'pt', producer: 'vireo' }));
      writeFileSync(join(dir, 'input.safetensors'), writeSafetensors({ x }));
      const run = spawnSync(PYTHON, ['-c', pythonSide, dir], { cwd: repoRoot, encoding: 'utf8' });
      if (run.status !== 0) throw new Error(`python side failed:\n${run.stderr}`);
      const report = JSON.parse(run.stdout.trim().split('\n').pop() as string);
      expect(report.keys).toEqual(Object.keys(sd));
      expect(report.metadata).toEqual({ format: 'pt', producer: 'vireo' });
      expect(report.dtypes).toEqual(['torch.float32', 'torch.int64']);
      expect(report.int64).toEqual(Object.keys(sd).filter((k) => k.endsWith('num_batches_tracked')));
      expect(report.num_batches_tracked).toEqual(
        net
          .namedBuffers()
          .filter(([k]) => k.endsWith('num_batches_tracked'))
          .map(([, p]) => p.values[0]),
      );
      // Debian 12 has no python3-safetensors, so CI checks with the strict reader alone; where the package
      // is installed it must agree (the python side asserts so and fails the run otherwise).
      expect(['safetensors.torch.load_file agrees', 'python safetensors package not installed']).toContain(report.library);
      expect(report.rejected).toEqual(['trailing byte', 'shifted offset']);

      const theirs = readSafetensors(new Uint8Array(readFileSync(join(dir, 'output.safetensors'))), 'output.safetensors').get(
        'y',
      ) as Tensor;
      expect(theirs.shape).toEqual([2, 10]);
      expectClose(ours, theirs.dataSync(), 1e-4, 1e-4, 'vireo vs torch on the vireo-written state dict');
    });
  },
);
