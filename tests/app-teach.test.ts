// The web app's Teach view in Debian's chromium: three classes of pictures (Fashion-MNIST trousers, sneakers
// and bags from the embedded subset, as 32×32 colour files), trained in the page's Web Worker with a stop and
// a resume, must classify held-out pictures of those classes above ACCURACY; the exported .tar is a model
// directory `vireo eval` scores exactly as the app did and the library predicts as the app did; a reload keeps
// the taught model. Then a backbone made with PyTorch: Teach trains only a new head, the backbone's weights
// come back unchanged, and PyTorch loads the exported directory and gives the app's outputs.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadModel, nn, readSafetensors, tensor } from '../src/index.js';
import { moduleToSpec } from '../src/io/model-file.js';
import { ofClass, rgbPng32 } from './helpers/app-images.js';
import {
  CLASSES,
  TRAIN,
  type Window,
  addClasses,
  classifyHeldOut,
  data,
  exportTar,
  heldOutFolder,
  trained,
} from './helpers/app-teach.js';
import { appPage, appSkipReason, nextClassification, openApp, useAppSession } from './helpers/app-page.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const PYTHON = '/usr/bin/python3';
const ACCURACY = 0.9;
const EPOCHS = 20;
const tmp = mkdtempSync(join(tmpdir(), 'vireo-app-teach-'));
const hasTorch = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;

describe.skipIf(appSkipReason !== null)('web app: Teach', () => {
  const session = useAppSession({ viewport: { width: 1080, height: 1920 }, acceptDownloads: true }, tmp);

  it(`learns three classes from ${TRAIN} pictures each (stopped and resumed once), exports, and keeps the model over a reload`, async () => {
    const page = await appPage(session.context, session.errors);
    await openApp(page, session.url, '?view=teach');
    await addClasses(page);
    await page.selectOption('#teach-size', '32');
    await page.fill('#teach-epochs', String(EPOCHS));
    await page.click('#teach-train');
    // Stop after the first step, check it holds, resume.
    await page.waitForFunction(() => (window as unknown as Window).vireoApp.teach.state === 'training');
    await page.waitForFunction(() => Number((document.getElementById('teach-progress') as HTMLProgressElement).value) > 0);
    await page.click('#teach-stop');
    await page.waitForFunction(() => (window as unknown as Window).vireoApp.teach.state === 'paused');
    const held = await page.locator('#teach-progress').evaluate((p) => (p as HTMLProgressElement).value);
    await page.waitForTimeout(300);
    expect(await page.locator('#teach-progress').evaluate((p) => (p as HTMLProgressElement).value)).toBe(held);
    expect(await page.locator('#teach-stop').textContent()).toBe('Resume');
    await page.click('#teach-stop');
    await trained(page);
    const history = await page.evaluate(() => (window as unknown as Window).vireoApp.teach.history ?? []);
    expect(history).toHaveLength(EPOCHS);
    expect(history.at(-1)?.loss).toBeLessThan(history[0].loss);
    expect(await page.locator('#teach-status').textContent()).toMatch(/kept on this device/);

    const results = await classifyHeldOut(page);
    const accuracy = results.filter((r) => r.top === r.truth).length / results.length;
    console.log(
      `Teach: ${TRAIN} pictures per class, ${EPOCHS} epochs at 32×32 → ${(100 * accuracy).toFixed(1)}% on ${results.length} held-out pictures`,
    );
    expect(accuracy).toBeGreaterThanOrEqual(ACCURACY);

    // The export is a model directory: vireo eval scores the held-out folder as the app did, and the library
    // gives the app's outputs for the app's inputs.
    const dir = join(tmp, 'export', 'model');
    await exportTar(page, dir);
    const folder = join(tmp, 'held-out');
    await heldOutFolder(folder);
    const evaluated = JSON.parse(
      execFileSync(process.execPath, ['bin/vireo.js', 'eval', '--model', dir, '--data', folder, '--split', 'train', '--json'], {
        cwd: root,
        encoding: 'utf8',
      }),
    );
    expect(evaluated.images).toBe(results.length);
    expect(evaluated.accuracy).toBeCloseTo(accuracy, 10);
    // vireo predict on the held-out files (32×32: no resizing) names the class the app named.
    const files = CLASSES.flatMap((c) => ofClass(data.labels, c.label, 3, TRAIN).map((i) => join(folder, c.name, `${i}.png`)));
    const predicted = execFileSync(
      process.execPath,
      ['bin/vireo.js', 'predict', '--model', dir, '--top', '1', '--json', ...files],
      {
        cwd: root,
        encoding: 'utf8',
      },
    )
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line).top[0].label);
    const appNamed = CLASSES.flatMap((c) =>
      results
        .filter((r) => r.truth === c.name)
        .slice(0, 3)
        .map((r) => r.top),
    );
    expect(predicted).toEqual(appNamed);
    const { model, meta } = await loadModel(dir);
    expect(meta.classes).toEqual(CLASSES.map((c) => c.name));
    expect(meta.inputShape).toEqual([3, 32, 32]);
    for (const r of results.slice(0, 12)) {
      const out = Array.from(await (await model.forward(tensor(Float32Array.from(r.input), [1, 3, 32, 32]))).data());
      for (let j = 0; j < out.length; j++) expect(Math.abs(out[j] - r.logits[j])).toBeLessThan(1e-4 * (1 + Math.abs(out[j])));
    }

    // A reload (a kiosk restarting) keeps the taught model: same outputs for the same picture.
    await page.reload();
    await page.waitForFunction(() => (window as unknown as { vireoApp: { ready?: boolean } }).vireoApp.ready === true);
    await page.click('.tab[data-view="classify"]');
    await page.selectOption('#classify-model', 'taught');
    const again = await nextClassification(page, async () =>
      page.setInputFiles('#classify-file', {
        name: 'again.png',
        mimeType: 'image/png',
        buffer: await rgbPng32(data.at(ofClass(data.labels, 8, 1, TRAIN)[0])),
      }),
    );
    expect(again.logits).toEqual(results[0].logits);
    await page.close();
  });

  it('storage full: an imported model still works, and a plain message says it could not be kept', async () => {
    const tar = join(tmp, 'export', 'model.tar'); // exported by the first test
    expect(existsSync(tar)).toBe(true);
    const full = await session.browser.newContext({ viewport: { width: 360, height: 740 } });
    await full.addInitScript(() => {
      IDBObjectStore.prototype.put = () => {
        throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      };
    });
    const page = await appPage(full, session.errors);
    await openApp(page, session.url, '?view=teach');
    await page.setInputFiles('#teach-import', tar);
    await expect
      .poll(() => page.locator('#notices [data-id="teach-keep"]').textContent())
      .toMatch(/could not be kept on this device: This device is out of storage space/);
    expect(await page.locator('#teach-model-note').textContent()).toBe('Your model: bag, sneaker, trouser (32×32 input).');
    await page.click('.tab[data-view="classify"]');
    await page.selectOption('#classify-model', 'taught');
    const r = await nextClassification(page, async () =>
      page.setInputFiles('#classify-file', {
        name: 'bag.png',
        mimeType: 'image/png',
        buffer: await rgbPng32(data.at(ofClass(data.labels, 8, 1, TRAIN)[0])),
      }),
    );
    expect(r.model).toBe('taught');
    await full.close();
  });

  it.skipIf(!hasTorch)('fine-tunes only a new head on a backbone PyTorch made; PyTorch loads the export and agrees', async () => {
    const dir = join(tmp, 'backbone');
    mkdirSync(dir, { recursive: true });
    // vireo's description of the architecture; PyTorch makes the weights (its own initialization, seed 0).
    const backbone = new nn.Sequential(
      new Map<string, nn.Module>([
        ['conv1', new nn.Conv2d(3, 8, 3, { padding: 1 })],
        ['bn1', new nn.BatchNorm2d(8)],
        ['relu1', new nn.ReLU()],
        ['pool1', new nn.MaxPool2d(4)],
        ['flatten', new nn.Flatten()],
        ['fc', new nn.Linear(8 * 8 * 8, 10)],
      ]),
    );
    const meta = {
      format: 'vireo-model',
      version: 1,
      name: 'torch-backbone',
      inputShape: [3, 32, 32],
      classes: Array.from({ length: 10 }, (_, i) => `c${i}`),
      normalization: { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] },
      architecture: moduleToSpec(backbone),
      weights: 'weights.safetensors',
    };
    writeFileSync(join(dir, 'model.json'), JSON.stringify(meta));
    const torchScript = `
import json, struct, sys, collections, torch
from torch import nn
def write(path, sd):
    header, blobs, off = {}, [], 0
    for k, v in sd.items():
        dt = 'I64' if v.dtype == torch.int64 else 'F32'
        b = v.contiguous().numpy().tobytes() if dt == 'I64' else v.float().contiguous().numpy().tobytes()
        header[k] = {'dtype': dt, 'shape': list(v.shape), 'data_offsets': [off, off + len(b)]}
        blobs.append(b); off += len(b)
    h = json.dumps(header).encode(); h += b' ' * (-len(h) % 8)
    open(path, 'wb').write(struct.pack('<Q', len(h)) + h + b''.join(blobs))
def read(path):
    raw = open(path, 'rb').read(); n = struct.unpack('<Q', raw[:8])[0]; header = json.loads(raw[8:8 + n]); out = collections.OrderedDict()
    for k, v in header.items():
        if k == '__metadata__': continue
        a, b = v['data_offsets']; dt = torch.int64 if v['dtype'] == 'I64' else torch.float32
        out[k] = torch.frombuffer(bytearray(raw[8 + n + a:8 + n + b]), dtype=dt).reshape(v['shape'])
    return out
def backbone():
    return nn.Sequential(collections.OrderedDict(conv1=nn.Conv2d(3, 8, 3, padding=1), bn1=nn.BatchNorm2d(8), relu1=nn.ReLU(), pool1=nn.MaxPool2d(4), flatten=nn.Flatten(), fc=nn.Linear(512, 10)))
if sys.argv[1] == 'make':
    torch.manual_seed(0); m = backbone()
    with torch.no_grad():  # batch-norm statistics a trained backbone would have
        m.bn1.running_mean.uniform_(-0.5, 0.5); m.bn1.running_var.uniform_(0.5, 2.0)
    write(sys.argv[2], m.state_dict())
else:
    full = backbone(); head = nn.Linear(512, 3)
    model = nn.Sequential(collections.OrderedDict(backbone=nn.Sequential(*[]), head=nn.Sequential(collections.OrderedDict(fc=head))))
    bb = nn.Sequential(collections.OrderedDict(list(full.named_children())[:-1]))
    model = nn.Sequential(collections.OrderedDict(backbone=bb, head=nn.Sequential(collections.OrderedDict(fc=head))))
    model.load_state_dict(read(sys.argv[2]), strict=True); model.eval()
    x = torch.tensor(json.load(open(sys.argv[3])), dtype=torch.float32).reshape(-1, 3, 32, 32)
    with torch.no_grad(): print(json.dumps(model(x).tolist()))
`;
    writeFileSync(join(tmp, 'torch_backbone.py'), torchScript);
    execFileSync(PYTHON, [join(tmp, 'torch_backbone.py'), 'make', join(dir, 'weights.safetensors')]);
    const original = readSafetensors(new Uint8Array(readFileSync(join(dir, 'weights.safetensors'))));

    // A fresh profile: the first test's classes and pictures are kept in its own (and would come back here).
    const fresh = await session.browser.newContext({ viewport: { width: 1080, height: 1920 }, acceptDownloads: true });
    const page = await appPage(fresh, session.errors);
    await openApp(page, session.url, '?view=teach');
    await page.setInputFiles('#teach-backbone-file', [join(dir, 'model.json'), join(dir, 'weights.safetensors')]);
    await expect.poll(() => page.locator('#teach-backbone-note').textContent()).toMatch(/torch-backbone.*stays frozen/);
    await addClasses(page);
    await page.fill('#teach-epochs', '3');
    await page.click('#teach-train');
    await trained(page);
    const results = (await classifyHeldOut(page)).slice(0, 9);

    const out = join(tmp, 'export-backbone', 'model');
    await exportTar(page, out);
    const exported = readSafetensors(new Uint8Array(readFileSync(join(out, 'weights.safetensors'))));
    // The frozen backbone comes back bit for bit (weights and batch-norm statistics); the head is new and trained.
    for (const [name, t] of original) {
      if (name.startsWith('fc.')) continue;
      expect(Array.from(exported.get(`backbone.${name}`)?.dataSync() ?? []), name).toEqual(Array.from(t.dataSync()));
    }
    expect(exported.get('head.fc.weight')?.shape).toEqual([3, 512]);
    writeFileSync(join(tmp, 'inputs.json'), JSON.stringify(results.map((r) => r.input)));
    const torchOut = JSON.parse(
      execFileSync(
        PYTHON,
        [join(tmp, 'torch_backbone.py'), 'check', join(out, 'weights.safetensors'), join(tmp, 'inputs.json')],
        {
          encoding: 'utf8',
        },
      ),
    ) as number[][];
    results.forEach((r, k) => {
      for (let j = 0; j < 3; j++) expect(Math.abs(torchOut[k][j] - r.logits[j])).toBeLessThan(1e-4 * (1 + Math.abs(r.logits[j])));
    });
    await fresh.close();
  });
});
