// A model directory in memory (encodeModel / decodeModel, what the web app stores and downloads) and the tar
// archive that carries it as one download: the bytes equal what saveModel writes, a round trip gives the
// same outputs, the system's tar unpacks what writeTar makes and readTar reads what the system's tar makes.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { smallCnn } from '../src/cli/zoo.js';
import { FormatError, decodeModel, encodeModel, manualSeed, readTar, saveModel, tensor, writeTar } from '../src/index.js';
import { randomArray } from './helpers/random.js';

const dir = mkdtempSync(join(tmpdir(), 'vireo-model-bytes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const options = {
  name: 'small-cnn',
  inputShape: [1, 28, 28] as [number, number, number],
  classes: Array.from({ length: 10 }, (_, i) => `c${i}`),
  normalization: { mean: [0.5], std: [0.25] },
};

describe('encodeModel / decodeModel', () => {
  it('writes the bytes saveModel writes, and reads them back into the same function', async () => {
    manualSeed(3);
    const net = smallCnn(1, 28, 28, 10);
    net.eval();
    const files = encodeModel(net, options);
    await saveModel(join(dir, 'm'), net, options);
    expect(files.json).toBe(readFileSync(join(dir, 'm', 'model.json'), 'utf8'));
    expect(Buffer.from(files.weights).equals(readFileSync(join(dir, 'm', 'weights.safetensors')))).toBe(true);

    const { model, meta } = decodeModel(files.json, files.weights);
    expect(meta.classes).toEqual(options.classes);
    const x = tensor(randomArray(2 * 28 * 28, 5), [2, 1, 28, 28]);
    const a = await (await net.forward(x)).data();
    const b = await (await model.forward(x)).data();
    expect(Array.from(b)).toEqual(Array.from(a));
  });

  it('names the file for a model.json that is not one, and for weights that do not fit', () => {
    manualSeed(3);
    const files = encodeModel(smallCnn(1, 28, 28, 10), options);
    expect(() => decodeModel('{"format":"other"}', files.weights, 'upload')).toThrow(
      /upload\/model.json: not a vireo model file/,
    );
    expect(() => decodeModel('not json', files.weights, 'upload')).toThrow(FormatError);
    expect(() => decodeModel(files.json, new Uint8Array(20), 'upload')).toThrow(/upload\/weights.safetensors/);
    const other = encodeModel(smallCnn(1, 28, 28, 3), { ...options, classes: ['a', 'b', 'c'] });
    expect(() => decodeModel(files.json, other.weights)).toThrow(/fc2/);
  });
});

describe('writeTar / readTar', () => {
  const entries = [
    { name: 'model.json', data: new TextEncoder().encode('{"a":1}\n') },
    { name: 'weights.safetensors', data: Uint8Array.from({ length: 1300 }, (_, i) => (i * 7) & 255) },
    { name: 'empty', data: new Uint8Array(0) },
  ];

  it("round-trips, and the system's tar unpacks it byte for byte", () => {
    const tar = writeTar(entries);
    expect(tar.length % 512).toBe(0);
    expect(readTar(tar).map((e) => [e.name, Array.from(e.data)])).toEqual(entries.map((e) => [e.name, Array.from(e.data)]));
    const out = join(dir, 'unpacked');
    writeFileSync(join(dir, 'a.tar'), tar);
    execFileSync('mkdir', ['-p', out]);
    execFileSync('tar', ['-xf', join(dir, 'a.tar'), '-C', out]);
    for (const e of entries) expect(Buffer.from(e.data).equals(readFileSync(join(out, e.name)))).toBe(true);
  });

  it("reads what the system's tar writes (a folder entry and its files)", () => {
    const src = join(dir, 'src', 'model');
    execFileSync('mkdir', ['-p', src]);
    for (const e of entries.slice(0, 2)) writeFileSync(join(src, e.name), e.data);
    execFileSync('tar', ['--format=ustar', '-cf', join(dir, 'b.tar'), '-C', join(dir, 'src'), 'model']);
    const read = readTar(new Uint8Array(readFileSync(join(dir, 'b.tar'))));
    expect(read.map((e) => e.name).sort()).toEqual(['model/model.json', 'model/weights.safetensors']);
    expect(Buffer.from(read.find((e) => e.name.endsWith('.safetensors'))?.data ?? []).equals(entries[1].data)).toBe(true);
  });

  it('rejects what is not an archive, a bad checksum and a truncated file', () => {
    expect(() => readTar(new TextEncoder().encode('hello'), 'x.tar')).toThrow(/x.tar: not a tar archive/);
    const tar = writeTar(entries);
    const bad = tar.slice();
    bad[10] ^= 1;
    expect(() => readTar(bad)).toThrow(/checksum/);
    expect(() => readTar(tar.slice(0, 1024))).toThrow(/truncated/);
    expect(() => readTar(tar.slice(0, 1024 + 512 + 100))).toThrow(/runs past the end/);
    expect(() => writeTar([{ name: 'x'.repeat(101), data: new Uint8Array(1) }])).toThrow(/1 to 100 bytes/);
  });
});
