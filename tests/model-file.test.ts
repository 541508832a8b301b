// Model directories: model.json (layer tree, input shape, classes, normalization) + weights.safetensors.
// PyTorch (Debian's python3-torch) rebuilds the module from model.json alone, loads the weights with
// load_state_dict(strict=True) through the hand-written safetensors reader of scripts/make_fixtures.py
// (the python safetensors package is not installed here), and must give the same outputs within 1e-4.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { smallCnn } from '../src/cli/zoo.js';
import { type Tensor, manualSeed, nn, readSafetensors, tensor, writeSafetensors } from '../src/index.js';
import { loadModel, moduleFromSpec, moduleToSpec, readModelMeta, saveModel } from '../src/io/model-file.js';
import type { Module } from '../src/nn/module.js';
import { expectClose, randomArray } from './helpers/random.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const PYTHON = '/usr/bin/python3';
const dir = mkdtempSync(join(tmpdir(), 'vireo-model-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every layer kind the model file describes, with non-default attributes. */
function kitchenSink(): nn.Sequential {
  return new nn.Sequential(
    new Map<string, Module>([
      ['stem', new nn.Conv2d(3, 8, 3, { stride: 2, padding: 1 })],
      ['bn', new nn.BatchNorm2d(8, { eps: 1e-3, momentum: 0.05 })],
      ['act', new nn.LeakyReLU(0.1)],
      ['block', new nn.Residual(new nn.Sequential(new nn.Conv2d(8, 8, 3, { padding: 'same', bias: false }), new nn.ReLU6()))],
      ['proj', new nn.Residual(new nn.Conv2d(8, 8, 1), new nn.Conv2d(8, 8, 4, { padding: 'same' }))],
      ['dw', new nn.Conv2d(8, 8, 3, { padding: 2, dilation: 2, groups: 8 })],
      ['relu', new nn.ReLU()],
      ['maxpool', new nn.MaxPool2d(3, { stride: 2, padding: 1, ceilMode: true })],
      ['sig', new nn.Sigmoid()],
      ['avgpool', new nn.AvgPool2d(2, { padding: 1, countIncludePad: false })],
      ['tanh', new nn.Tanh()],
      ['gap', new nn.AdaptiveAvgPool2d(2)],
      ['flatten', new nn.Flatten()],
      ['drop', new nn.Dropout(0.3)],
      ['fc', new nn.Linear(32, 5)],
      ['softmax', new nn.Softmax(1)],
    ]),
  );
}

function randomizeBatchNorm(net: Module, seed: number): void {
  for (const [name, p] of net.namedBuffers()) {
    if (name.endsWith('running_mean')) p.set(randomArray(p.values.length, seed++, 0.5));
    if (name.endsWith('running_var')) p.set(randomArray(p.values.length, seed++, 0.5).map((v) => 1 + v));
    if (name.endsWith('num_batches_tracked')) p.set(new Float32Array([seed++]));
  }
  for (const [name, p] of net.namedParameters()) if (/bn\d*\./.test(name)) p.set(randomArray(p.values.length, seed++, 1));
}

const torchCheck = spawnSync(PYTHON, ['-c', 'import torch, numpy'], { encoding: 'utf8' });
const torchMissing = torchCheck.status === 0 ? null : `${PYTHON} cannot import torch`;

const pythonSide = `
import json, sys, torch
from collections import OrderedDict
from torch import nn
sys.path.insert(0, 'scripts')
from make_fixtures import load_safetensors, save_safetensors

class Residual(nn.Module):
    def __init__(self, main, shortcut=None):
        super().__init__()
        self.main = main
        self.shortcut = shortcut
    def forward(self, x):
        return self.main(x) + (x if self.shortcut is None else self.shortcut(x))

def build(s):
    t = s['type']
    if t == 'Sequential':
        return nn.Sequential(OrderedDict((l['name'], build(l)) for l in s['layers']))
    if t == 'Residual':
        return Residual(build(s['main']), build(s['shortcut']) if 'shortcut' in s else None)
    if t == 'Conv2d':
        p = s['padding']
        return nn.Conv2d(s['inChannels'], s['outChannels'], tuple(s['kernelSize']), stride=tuple(s['stride']),
                         padding='same' if len(p) == 4 else tuple(p), dilation=tuple(s['dilation']), groups=s['groups'], bias=s['bias'])
    if t == 'Linear': return nn.Linear(s['inFeatures'], s['outFeatures'], bias=s['bias'])
    if t == 'BatchNorm2d': return nn.BatchNorm2d(s['numFeatures'], eps=s['eps'], momentum=s['momentum'])
    if t == 'MaxPool2d':
        return nn.MaxPool2d(tuple(s['kernelSize']), tuple(s['stride']), tuple(s['padding']), tuple(s['dilation']), ceil_mode=s['ceilMode'])
    if t == 'AvgPool2d':
        return nn.AvgPool2d(tuple(s['kernelSize']), tuple(s['stride']), tuple(s['padding']), ceil_mode=s['ceilMode'], count_include_pad=s['countIncludePad'])
    if t == 'AdaptiveAvgPool2d': return nn.AdaptiveAvgPool2d(tuple(s['outputSize']))
    if t == 'LeakyReLU': return nn.LeakyReLU(s['negativeSlope'])
    if t == 'Flatten': return nn.Flatten(s['startDim'], s['endDim'])
    if t == 'Dropout': return nn.Dropout(s['p'])
    if t == 'Softmax': return nn.Softmax(s['dim'])
    return {'ReLU': nn.ReLU, 'ReLU6': nn.ReLU6, 'Sigmoid': nn.Sigmoid, 'Tanh': nn.Tanh}[t]()

d = sys.argv[1]
meta = json.load(open(d + '/model.json'))
model = build(meta['architecture'])
sd, file_meta = load_safetensors(d + '/' + meta['weights'])
model.load_state_dict(sd, strict=True)
model.eval()
x = load_safetensors(d + '/input.safetensors')[0]['x']
with torch.no_grad():
    y = model(x)
save_safetensors(d + '/output.safetensors', {'y': y})
print(json.dumps({'keys': list(sd), 'torchKeys': list(model.state_dict()), 'inputShape': meta['inputShape'],
                  'classes': meta['classes'], 'metadata': file_meta}))
`;

async function outputOf(net: Module, x: Tensor): Promise<Float32Array> {
  net.eval();
  await net.to('reference');
  return (await net.forward(x)).data();
}

describe('model directories', () => {
  it('the layer tree round-trips: same spec, same state-dict names, same outputs after loadModel', async () => {
    manualSeed(3);
    const net = kitchenSink();
    randomizeBatchNorm(net, 40);
    const spec = moduleToSpec(net);
    expect(moduleToSpec(moduleFromSpec(JSON.parse(JSON.stringify(spec))))).toEqual(spec);
    const out = join(dir, 'sink');
    const classes = ['a', 'b', 'c', 'd', 'e'];
    await saveModel(out, net, {
      name: 'sink',
      inputShape: [3, 17, 19],
      classes,
      normalization: { mean: [0.1, 0.2, 0.3], std: [1, 2, 3] },
    });
    const { model, meta } = await loadModel(out);
    expect(meta.classes).toEqual(classes);
    expect(meta.inputShape).toEqual([3, 17, 19]);
    expect(Object.keys(model.stateDict())).toEqual(Object.keys(net.stateDict()));
    const x = tensor(randomArray(2 * 3 * 17 * 19, 9, 1), [2, 3, 17, 19]);
    expect(await outputOf(model, x)).toEqual(await outputOf(net, x));
  });

  it('refuses broken model.json files with a message naming the file and the problem', async () => {
    const bad = join(dir, 'bad');
    manualSeed(1);
    await saveModel(bad, smallCnn(1, 28, 28, 10), {
      inputShape: [1, 28, 28],
      classes: [...'0123456789'],
      normalization: { mean: [0], std: [1] },
    });
    const good = readFileSync(join(bad, 'model.json'), 'utf8');
    const variants: [string, RegExp][] = [
      ['{', /model\.json: not valid JSON/],
      [good.replace('"vireo-model"', '"keras"'), /not a vireo model file/],
      [good.replace('"Conv2d"', '"Conv3d"'), /architecture\.conv1: unknown layer type "Conv3d"/],
      [good.replace('"inputShape": [\n    1,', '"inputShape": [\n    2,'), /normalization needs 2 means/],
    ];
    for (const [text, message] of variants) {
      writeFileSync(join(bad, 'model.json'), text);
      await expect(loadModel(bad)).rejects.toThrow(message);
    }
    await expect(readModelMeta(join(dir, 'nothing-here'))).rejects.toThrow(/no model\.json here; train one with `vireo train/);
  });

  describe.skipIf(torchMissing !== null)(
    `PyTorch loads the directory${torchMissing ? ` (skipped: ${torchMissing})` : ''}`,
    () => {
      for (const [label, make, shape] of [
        ['small-cnn (the default of vireo train)', () => smallCnn(1, 28, 28, 10), [1, 28, 28]],
        ['every serializable layer kind', kitchenSink, [3, 17, 19]],
      ] as const) {
        it(`${label}: load_state_dict(strict=True) and the same outputs within 1e-4`, async () => {
          manualSeed(11);
          const net = make();
          randomizeBatchNorm(net, 70);
          const out = join(dir, label.split(' ')[0]);
          const c = shape[0];
          const classes = Array.from({ length: label.startsWith('small') ? 10 : 5 }, (_, i) => `class${i}`);
          await saveModel(out, net, {
            inputShape: [...shape],
            classes,
            normalization: { mean: Array(c).fill(0.5), std: Array(c).fill(0.25) },
          });
          const x = tensor(randomArray(3 * shape[0] * shape[1] * shape[2], 5, 2), [3, ...shape]);
          writeFileSync(join(out, 'input.safetensors'), writeSafetensors({ x }));
          const run = spawnSync(PYTHON, ['-c', pythonSide, out], { cwd: repoRoot, encoding: 'utf8' });
          if (run.status !== 0) throw new Error(`python side failed:\n${run.stderr}`);
          const report = JSON.parse(run.stdout.trim().split('\n').pop() as string);
          expect(report.keys).toEqual(Object.keys(net.stateDict()));
          expect(report.torchKeys).toEqual(report.keys);
          expect(report.inputShape).toEqual([...shape]);
          expect(report.classes).toEqual(classes);
          expect(report.metadata).toEqual({ format: 'pt', producer: 'vireo' });
          const theirs = readSafetensors(new Uint8Array(readFileSync(join(out, 'output.safetensors')))).get('y') as Tensor;
          const ours = await outputOf((await loadModel(out)).model, x);
          expect(theirs.size).toBe(ours.length);
          expectClose(ours, theirs.dataSync(), 1e-4, 1e-4, `${label}: vireo vs torch`);
        });
      }
    },
  );
});
