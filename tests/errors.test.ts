import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ArgumentError,
  FormatError,
  ShapeError,
  StateDictError,
  Tensor,
  VireoError,
  nn,
  readSafetensors,
  tensor,
  writeSafetensors,
  zeros,
} from '../src/index.js';
import { fixturePath, readFixture, referenceCnn, smallNet } from './helpers/models.js';
import { randomArray } from './helpers/random.js';

/** Runs `f` and returns what it threw (failing when nothing was thrown). */
async function caught(f: () => unknown): Promise<Error> {
  try {
    await f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error, nothing was thrown');
}

/** Expects an error of `type` whose message contains every fragment. */
async function expectError(
  f: () => unknown,
  type: new (...args: never[]) => Error,
  ...fragments: (string | RegExp)[]
): Promise<Error> {
  const e = await caught(f);
  expect(e, `${e.name}: ${e.message}`).toBeInstanceOf(type);
  for (const fragment of fragments) {
    if (typeof fragment === 'string') expect(e.message).toContain(fragment);
    else expect(e.message).toMatch(fragment);
  }
  return e;
}

/** A safetensors file from a header (object or raw JSON text) and data bytes; headerLength overrides the length field. */
function rawFile(header: unknown, data: Uint8Array | number = 0, headerLength?: bigint): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const bytes = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + json.length + bytes.length);
  new DataView(out.buffer).setBigUint64(0, headerLength ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(bytes, 8 + json.length);
  return out;
}

const SOURCE = 'weights/bad.safetensors';

describe('malformed safetensors → FormatError naming the source and the problem', () => {
  const cases: { name: string; bytes: () => Uint8Array; says: (string | RegExp)[] }[] = [
    { name: 'empty file', bytes: () => new Uint8Array(0), says: ['0 bytes is too short'] },
    { name: 'too short for the length field', bytes: () => new Uint8Array(5), says: ['5 bytes is too short'] },
    {
      name: 'header length past the end',
      bytes: () => rawFile('{}', 0, 1000n),
      says: ['header length 1000 runs past the end of the file (10 bytes)', 'truncated'],
    },
    { name: 'absurd header length', bytes: () => rawFile('{}', 0, 2n ** 63n), says: ['runs past the end'] },
    { name: 'header is not JSON', bytes: () => rawFile('{"w": {"dtype": "F32",'), says: ['header is not valid UTF-8 JSON'] },
    {
      name: 'header is not UTF-8',
      bytes: () => rawFile(new TextDecoder('latin1').decode(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]))),
      says: ['UTF-8'],
    },
    { name: 'header is a JSON array', bytes: () => rawFile('[1, 2]'), says: ["header does not start with '{'"] },
    { name: 'header with leading spaces', bytes: () => rawFile('  {}'), says: ["header does not start with '{'"] },
    { name: 'empty header', bytes: () => rawFile(''), says: ["header does not start with '{'"] },
    { name: 'tensor entry is not an object', bytes: () => rawFile({ w: 3 }), says: ["tensor 'w'", 'not an object'] },
    {
      name: 'unsupported dtype',
      bytes: () => rawFile({ 'conv.weight': { dtype: 'F8_E4M3', shape: [2], data_offsets: [0, 2] } }, 2),
      says: ['tensor \'conv.weight\' has unsupported dtype "F8_E4M3"', 'supported: F64, F32, F16, BF16, I64'],
    },
    {
      name: 'missing dtype',
      bytes: () => rawFile({ w: { shape: [2], data_offsets: [0, 8] } }, 8),
      says: ["tensor 'w' has unsupported dtype undefined"],
    },
    {
      name: 'negative dimension',
      bytes: () => rawFile({ w: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, 8),
      says: ["tensor 'w' has an invalid shape [-2]"],
    },
    {
      name: 'fractional dimension',
      bytes: () => rawFile({ w: { dtype: 'F32', shape: [2.5], data_offsets: [0, 10] } }, 10),
      says: ["tensor 'w' has an invalid shape [2.5]"],
    },
    {
      name: 'data_offsets not a pair',
      bytes: () => rawFile({ w: { dtype: 'F32', shape: [2], data_offsets: [8] } }, 8),
      says: ["tensor 'w' has invalid data_offsets [8]"],
    },
    {
      name: 'data_offsets do not match the shape',
      bytes: () => rawFile({ 'fc.weight': { dtype: 'F32', shape: [2, 3], data_offsets: [0, 20] } }, 20),
      says: ["tensor 'fc.weight' (F32 [2, 3]) needs 24 bytes but data_offsets [0, 20] span 20"],
    },
    {
      name: 'data_offsets reversed',
      bytes: () => rawFile({ w: { dtype: 'F32', shape: [0], data_offsets: [8, 0] } }, 8),
      says: ["tensor 'w'", 'data_offsets [8, 0]'],
    },
    {
      name: 'overlapping tensors',
      bytes: () =>
        rawFile(
          { a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] }, b: { dtype: 'F32', shape: [4], data_offsets: [8, 24] } },
          24,
        ),
      says: ["tensors 'a' and 'b' overlap"],
    },
    {
      name: 'a hole in the data section',
      bytes: () =>
        rawFile(
          { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [16, 24] } },
          24,
        ),
      says: ["bytes 8..16 of the data section belong to no tensor (before 'b')"],
    },
    {
      name: 'bytes after the last tensor',
      bytes: () => rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, 12),
      says: ['the tensors cover 8 bytes but the data section has 12'],
    },
    {
      name: 'truncated data',
      bytes: () => rawFile({ 'conv1.weight': { dtype: 'F32', shape: [4, 4], data_offsets: [0, 64] } }, 40),
      says: ["tensor 'conv1.weight' ends at byte 64 of a 40-byte data section; the file may be truncated"],
    },
    {
      name: 'metadata that is not string → string',
      bytes: () => rawFile({ __metadata__: { epoch: 3 } }),
      says: ['__metadata__ must map strings to strings'],
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      await expectError(
        () => readSafetensors(c.bytes(), SOURCE),
        FormatError,
        `${SOURCE}: not a valid safetensors file: `,
        ...c.says,
      );
    });
  }

  it('accepts what the spec allows: trailing space padding, no tensors, metadata only', () => {
    expect(readSafetensors(rawFile('{}      ')).size).toBe(0);
    const f = rawFile(
      `${JSON.stringify({ __metadata__: { a: 'b' }, w: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } })}   `,
      4,
    );
    expect([...readSafetensors(f).keys()]).toEqual(['w']);
  });

  it('a real file cut anywhere is a FormatError, never a crash or a silently short read', () => {
    const whole = new Uint8Array(readFileSync(fixturePath('dtypes.safetensors')));
    expect(readSafetensors(whole).size).toBeGreaterThan(0);
    for (let n = 0; n < whole.length; n++) {
      let error: unknown = null;
      try {
        readSafetensors(whole.subarray(0, n), 'cut.safetensors');
      } catch (e) {
        error = e;
      }
      if (!(error instanceof FormatError) || !error.message.startsWith('cut.safetensors: ')) {
        throw new Error(`cut at ${n} of ${whole.length} bytes: ${error ? String(error) : 'no error'}`);
      }
    }
  });

  it('a corrupted header byte is a FormatError or still a consistent file, never another error', () => {
    const whole = new Uint8Array(readFileSync(fixturePath('small_net.safetensors')));
    const headerEnd = 8 + Number(new DataView(whole.buffer).getBigUint64(0, true));
    const values = randomArray(400, 3, 1);
    for (let i = 0; i < values.length; i += 2) {
      const copy = whole.slice();
      const at = Math.floor(Math.abs(values[i]) * headerEnd);
      copy[at] = Math.floor(Math.abs(values[i + 1]) * 256);
      try {
        readSafetensors(copy, 'flipped.safetensors');
      } catch (e) {
        if (!(e instanceof FormatError)) throw new Error(`byte ${at} set to ${copy[at]}: ${String(e)}`);
      }
    }
  });
});

describe('loadStateDict: a state dict that does not fit → StateDictError naming the key; nothing half-loaded', () => {
  const good = readFixture('small_net.safetensors').tensors;

  function withChange(change: (m: Map<string, Tensor>) => void): Map<string, Tensor> {
    const copy = new Map(good);
    change(copy);
    return copy;
  }

  const cases: { name: string; stateDict: () => Map<string, Tensor>; says: string[] }[] = [
    {
      name: 'a missing tensor',
      stateDict: () => withChange((m) => m.delete('block2.shortcut.1.running_var')),
      says: ['missing: block2.shortcut.1.running_var'],
    },
    {
      name: 'an unexpected key',
      stateDict: () => withChange((m) => m.set('head.weight', zeros([10, 18]))),
      says: ['unexpected: head.weight'],
    },
    {
      name: 'a misshaped tensor',
      stateDict: () => withChange((m) => m.set('fc.weight', zeros([10, 17]))),
      says: ["'fc.weight' has shape [10, 17], the model expects [10, 18]"],
    },
    {
      name: 'a transposed weight',
      stateDict: () => withChange((m) => m.set('block1.main.3.weight', zeros([10, 10, 1, 1]).reshape([10, 10]))),
      says: ["'block1.main.3.weight' has shape [10, 10], the model expects [10, 10, 1, 1]"],
    },
    {
      name: 'a NaN value',
      stateDict: () =>
        withChange((m) => {
          const v = (m.get('bn0.running_var') as Tensor).dataSync().slice();
          v[3] = Number.NaN;
          m.set('bn0.running_var', tensor(v, [10]));
        }),
      says: ["'bn0.running_var' holds a non-finite value at index 3"],
    },
    {
      name: 'an infinite value',
      stateDict: () => withChange((m) => m.set('fc.bias', tensor(new Float32Array(10).fill(Number.NEGATIVE_INFINITY), [10]))),
      says: ["'fc.bias' holds a non-finite value at index 0"],
    },
    {
      name: 'a value that is not a Tensor',
      stateDict: () => withChange((m) => m.set('fc.bias', new Float32Array(10) as unknown as Tensor)),
      says: ["'fc.bias' is not a Tensor"],
    },
    {
      name: "another model's weights",
      stateDict: () => readFixture('reference_cnn.safetensors').tensors,
      says: ['missing: stem.weight, bn0.weight', 'unexpected: conv1.weight, conv1.bias'],
    },
  ];

  for (const c of cases) {
    it(`${c.name}: the model keeps its weights and its output`, async () => {
      const net = smallNet();
      net.loadStateDict(good);
      net.eval();
      await net.to('reference');
      const x = tensor(randomArray(1 * 3 * 33 * 33, 9, 1), [1, 3, 33, 33]);
      const before = Array.from(await (await net.forward(x)).data());
      const weights = net.stateDict();
      const versions = [...net.namedParameters(), ...net.namedBuffers()].map(([, p]) => p.version);

      // Every other entry is a valid, different value, so a half-done load would show.
      const bad = new Map(
        [...c.stateDict()].map(([k, t]) => [
          k,
          t instanceof Tensor && !t.integer && t.size > 0 && Number.isFinite(t.dataSync()[0])
            ? tensor(
                t.dataSync().map((v) => v * 0.5 + 0.25),
                t.shape,
              )
            : t,
        ]),
      );
      await expectError(() => net.loadStateDict(bad), StateDictError, 'loadStateDict: ', ...c.says);

      expect([...net.namedParameters(), ...net.namedBuffers()].map(([, p]) => p.version)).toEqual(versions);
      const after = net.stateDict();
      for (const [name, t] of Object.entries(weights))
        expect(Array.from(after[name].dataSync()), name).toEqual(Array.from(t.dataSync()));
      expect(Array.from(await (await net.forward(x)).data())).toEqual(before);
      net.releasePlans();
    });
  }

  it('strict: false loads the matching entries and ignores missing and unexpected ones', () => {
    const net = smallNet();
    const partial = withChange((m) => {
      m.delete('fc.bias');
      m.set('head.weight', zeros([1]));
    });
    const fcBias = Array.from(net.stateDict()['fc.bias'].dataSync());
    net.loadStateDict(partial, { strict: false });
    expect(Array.from(net.stateDict()['fc.weight'].dataSync())).toEqual(Array.from((good.get('fc.weight') as Tensor).dataSync()));
    expect(Array.from(net.stateDict()['fc.bias'].dataSync())).toEqual(fcBias);
  });

  it('a misshaped tensor is still an error with strict: false', async () => {
    await expectError(
      () =>
        smallNet().loadStateDict(
          withChange((m) => m.set('fc.weight', zeros([18, 10]))),
          { strict: false },
        ),
      StateDictError,
      "'fc.weight' has shape [18, 10]",
    );
  });
});

describe('wrong input shape → ShapeError naming the layer, the expected and the actual shape', () => {
  const cases: { name: string; build: () => nn.Module; input: number[]; says: string[] }[] = [
    {
      name: 'too few channels',
      build: referenceCnn,
      input: [2, 1, 32, 32],
      says: ["layer 'conv1' (Conv2d)", 'expected 3 input channels ([N, 3, H, W])', 'got [2, 1, 32, 32]'],
    },
    {
      name: 'a missing batch dimension',
      build: referenceCnn,
      input: [3, 32, 32],
      says: ["layer 'conv1' (Conv2d)", 'rank-4', '[3, 32, 32]'],
    },
    {
      name: 'an image size the classifier was not built for',
      build: referenceCnn,
      input: [1, 3, 28, 28],
      says: ["layer 'fc1' (Linear)", 'expected input [*, 4096] (inFeatures = 4096), got [1, 2304]'],
    },
    {
      name: 'an image too small for the pooling',
      build: referenceCnn,
      input: [1, 3, 2, 2],
      says: ["layer 'pool2' (MaxPool2d)", 'input [1, 128, 1, 1] is smaller than the 2x2 window'],
    },
    {
      name: 'a nested layer',
      build: smallNet,
      input: [1, 4, 33, 33],
      says: ["layer 'stem' (Conv2d)", 'expected 3 input channels', 'got [1, 4, 33, 33]'],
    },
    {
      name: 'a residual whose branches disagree',
      build: () => new nn.Sequential({ block: new nn.Residual(new nn.Conv2d(3, 8, 3, { padding: 1 })) }),
      input: [1, 3, 8, 8],
      says: ["layer 'block' (Add)", 'cannot add [1, 8, 8, 8] and [1, 3, 8, 8]'],
    },
    {
      name: 'a Linear with the wrong inFeatures',
      build: () => new nn.Sequential(new nn.Flatten(), new nn.Linear(10, 2)),
      input: [2, 3, 2, 2],
      says: ["layer '1' (Linear)", 'inFeatures = 10', 'got [2, 12]'],
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const net = c.build();
      await net.to('reference');
      net.eval();
      await expectError(() => net.forward(zeros(c.input)), ShapeError, ...c.says);
    });
  }

  it('a tensor whose values do not fill its shape', async () => {
    await expectError(
      () => tensor(new Float32Array(10), [2, 3, 2]),
      ShapeError,
      '10 values do not fill shape [2, 3, 2] (12 values)',
    );
  });
});

describe('layer constructor arguments → ArgumentError naming the layer and the argument', () => {
  const cases: { name: string; make: () => unknown; says: string }[] = [
    {
      name: 'Conv2d groups not dividing inChannels',
      make: () => new nn.Conv2d(6, 8, 3, { groups: 4 }),
      says: 'Conv2d: groups (4) must divide inChannels (6) and outChannels (8)',
    },
    {
      name: 'Conv2d groups not dividing outChannels',
      make: () => new nn.Conv2d(8, 6, 3, { groups: 4 }),
      says: 'Conv2d: groups (4) must divide',
    },
    { name: 'Conv2d groups 0', make: () => new nn.Conv2d(4, 4, 3, { groups: 0 }), says: 'Conv2d: groups (0)' },
    {
      name: "Conv2d 'same' with stride 2",
      make: () => new nn.Conv2d(3, 8, 3, { padding: 'same', stride: 2 }),
      says: "Conv2d: padding 'same' needs stride 1",
    },
    {
      name: 'Conv2d negative inChannels',
      make: () => new nn.Conv2d(-3, 8, 3),
      says: 'Conv2d: inChannels must be a positive integer, got -3',
    },
    {
      name: 'Conv2d zero outChannels',
      make: () => new nn.Conv2d(3, 0, 3),
      says: 'Conv2d: outChannels must be a positive integer, got 0',
    },
    {
      name: 'Conv2d fractional channels',
      make: () => new nn.Conv2d(3.5, 8, 3),
      says: 'Conv2d: inChannels must be a positive integer, got 3.5',
    },
    { name: 'Conv2d negative kernel', make: () => new nn.Conv2d(3, 8, -1), says: 'Conv2d kernelSize must be an integer ≥ 1' },
    {
      name: 'Conv2d negative padding',
      make: () => new nn.Conv2d(3, 8, 3, { padding: -1 }),
      says: 'Conv2d padding must be an integer ≥ 0',
    },
    {
      name: 'Conv2d unknown padding mode',
      make: () => new nn.Conv2d(3, 8, 3, { padding: 'full' as never }),
      says: 'Conv2d padding must be',
    },
    {
      name: 'Conv2d zero stride',
      make: () => new nn.Conv2d(3, 8, 3, { stride: [1, 0] }),
      says: 'Conv2d stride must be an integer ≥ 1 or a pair of them, got [1,0]',
    },
    {
      name: 'Conv2d zero dilation',
      make: () => new nn.Conv2d(3, 8, 3, { dilation: 0 }),
      says: 'Conv2d dilation must be an integer ≥ 1',
    },
    {
      name: 'Linear negative inFeatures',
      make: () => new nn.Linear(-1, 2),
      says: 'Linear: inFeatures must be a positive integer, got -1',
    },
    {
      name: 'Linear zero outFeatures',
      make: () => new nn.Linear(4, 0),
      says: 'Linear: outFeatures must be a positive integer, got 0',
    },
    { name: 'MaxPool2d zero kernel', make: () => new nn.MaxPool2d(0), says: 'MaxPool2d kernelSize must be an integer ≥ 1' },
    {
      name: 'MaxPool2d negative padding',
      make: () => new nn.MaxPool2d(3, { padding: -1 }),
      says: 'MaxPool2d padding must be an integer ≥ 0',
    },
    {
      name: 'MaxPool2d padding over half the kernel',
      make: () => new nn.MaxPool2d(3, { padding: 2 }),
      says: 'MaxPool2d: padding 2 must be at most half the kernel size 3',
    },
    {
      name: 'AvgPool2d zero stride',
      make: () => new nn.AvgPool2d(2, { stride: 0 }),
      says: 'AvgPool2d stride must be an integer ≥ 1',
    },
    {
      name: 'AvgPool2d kernel of one number in a list',
      make: () => new nn.AvgPool2d([2] as never),
      says: 'AvgPool2d kernelSize must be an integer ≥ 1 or a pair of them, got [2]',
    },
    {
      name: 'AvgPool2d padding over half the kernel',
      make: () => new nn.AvgPool2d([4, 2], { padding: [1, 2] }),
      says: 'AvgPool2d: padding [1,2] must be at most half the kernel size [4,2]',
    },
    {
      name: 'AdaptiveAvgPool2d zero output',
      make: () => new nn.AdaptiveAvgPool2d(0),
      says: 'AdaptiveAvgPool2d outputSize must be an integer ≥ 1',
    },
    {
      name: 'BatchNorm2d negative features',
      make: () => new nn.BatchNorm2d(-1),
      says: 'BatchNorm2d: numFeatures must be a positive integer, got -1',
    },
    { name: 'Dropout p out of range', make: () => new nn.Dropout(1.5), says: 'Dropout: p must be in [0, 1), got 1.5' },
    {
      name: 'Sequential child that is not a Module',
      make: () => new nn.Sequential({ a: 3 as never }),
      says: "child 'a' is not an nn.Module",
    },
    {
      name: 'Sequential child name with a dot',
      make: () => new nn.Sequential({ 'a.b': new nn.ReLU() }),
      says: "Sequential: child name 'a.b' must not contain '.'",
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      await expectError(c.make, ArgumentError, c.says);
    });
  }

  it('every error is a VireoError with its class name', async () => {
    const e = await caught(() => new nn.Conv2d(3, 8, 3, { groups: 2 }));
    expect(e).toBeInstanceOf(VireoError);
    expect(e.name).toBe('ArgumentError');
    const f = await caught(() => readSafetensors(writeSafetensors({ w: tensor([1]) }).subarray(0, 12), 'x'));
    expect(f.name).toBe('FormatError');
  });
});
