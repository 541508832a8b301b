// The web app's Teach view with an ONNX file as its backbone, in Debian's chromium: PyTorch exports a small
// classifier (scripts/teach_onnx_backbone.py); the page imports it with the library (importOnnx,
// onnxWithNewHead), freezes it and trains a new head on three classes. The exported .tar is an import
// directory (model.json of format vireo-onnx, weights.safetensors, model.onnx) that `vireo eval` and
// `vireo predict` run with the app's results and Classify imports; the frozen weights come back bit for bit;
// PyTorch's own network with the exported head gives the app's logits; a reload keeps the model. A file that is not ONNX gets a plain
// message and the view keeps working.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { importOnnx, readSafetensors } from '../src/index.js';
import { ofClass, rgbPng32 } from './helpers/app-images.js';
import { appPage, appSkipReason, nextClassification, openApp, useAppSession } from './helpers/app-page.js';
import {
  CLASSES,
  HELD_OUT,
  TRAIN,
  addClasses,
  classifyHeldOut,
  data,
  exportTar,
  heldOutFolder,
  trained,
} from './helpers/app-teach.js';
import { runAsync } from './helpers/run-async.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const PYTHON = '/usr/bin/python3';
const SCRIPT = join(root, 'scripts', 'teach_onnx_backbone.py');
const tmp = mkdtempSync(join(tmpdir(), 'vireo-app-teach-onnx-'));
const hasTorch = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
const vireo = (...args: string[]) => execFileSync(process.execPath, ['bin/vireo.js', ...args], { cwd: root, encoding: 'utf8' });

describe.skipIf(appSkipReason !== null || !hasTorch)('web app: Teach on an ONNX backbone', () => {
  const session = useAppSession({ viewport: { width: 1080, height: 1920 }, acceptDownloads: true }, tmp);

  it('trains a head on a PyTorch-exported .onnx; the export runs in vireo eval/predict and PyTorch with the same outputs', async () => {
    const onnxPath = join(tmp, 'small-backbone.onnx');
    await runAsync(PYTHON, [SCRIPT, 'make', onnxPath]);

    const page = await appPage(session.context, session.errors);
    await openApp(page, session.url, '?view=teach');
    // Not a model: a plain message; the view goes on as it was.
    const before = await page.locator('#teach-backbone-note').textContent();
    await page.setInputFiles('#teach-backbone-file', {
      name: 'holiday.onnx',
      mimeType: 'application/octet-stream',
      buffer: Buffer.from('these are not the bytes of a model'),
    });
    await expect
      .poll(() => page.locator('#notices [data-id="teach-backbone"]').textContent())
      .toMatch(/That backbone could not be used: holiday\.onnx is not an ONNX model vireo can read/);
    expect(await page.locator('#teach-backbone-note').textContent()).toBe(before);
    expect(await page.locator('#teach-size').isDisabled()).toBe(false);

    await page.setInputFiles('#teach-backbone-file', onnxPath);
    await expect
      .poll(() => page.locator('#teach-backbone-note').textContent())
      .toMatch(/small-backbone\.onnx \(ONNX\), 3×32×32 input.*stays frozen/);
    await addClasses(page);
    await page.fill('#teach-epochs', '3');
    await page.click('#teach-train');
    await trained(page);
    expect(await page.locator('#teach-status').textContent()).toMatch(/kept on this device/);
    const results = await classifyHeldOut(page);
    const accuracy = results.filter((r) => r.top === r.truth).length / results.length;
    console.log(`Teach on an ONNX backbone, 3 epochs: ${(100 * accuracy).toFixed(1)}% on ${results.length} held-out pictures`);

    const out = join(tmp, 'export', 'model');
    await exportTar(page, out, ['model.json', 'weights.safetensors', 'model.onnx']);
    expect(JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'))).toMatchObject({
      format: 'vireo-onnx',
      inputShape: [3, 32, 32],
      classes: CLASSES.map((c) => c.name),
    });
    // The frozen backbone comes back bit for bit; its old classifier is gone; the head is new.
    const exported = readSafetensors(new Uint8Array(readFileSync(join(out, 'weights.safetensors'))));
    const original = (await importOnnx(new Uint8Array(readFileSync(onnxPath)))).stateDict();
    const kept = Object.entries(original).filter(([name]) => !name.startsWith('fc.'));
    expect(kept.length).toBeGreaterThan(0);
    for (const [name, t] of kept)
      expect(Array.from(exported.get(name)?.dataSync() ?? []), name).toEqual(Array.from(t.dataSync()));
    expect([...exported.keys()].filter((k) => k.startsWith('fc.'))).toEqual([]);
    expect(exported.get('head.weight')?.shape).toEqual([3, 512]);

    // vireo eval scores the held-out folder as the app did; vireo predict names the classes the app named.
    const folder = join(tmp, 'held-out');
    await heldOutFolder(folder);
    const evaluated = JSON.parse(vireo('eval', '--model', out, '--data', folder, '--split', 'train', '--json'));
    expect(evaluated.images).toBe(results.length);
    expect(evaluated.accuracy).toBeCloseTo(accuracy, 10);
    const some = CLASSES.flatMap((c) => ofClass(data.labels, c.label, 3, TRAIN).map((i) => join(folder, c.name, `${i}.png`)));
    const predicted = vireo('predict', '--model', out, '--top', '1', '--json', ...some)
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line).top[0].label);
    expect(predicted).toEqual(CLASSES.flatMap((_, k) => results.slice(k * HELD_OUT, k * HELD_OUT + 3).map((r) => r.top)));

    // PyTorch's network (its own BN, not the export's folded conv) under the exported head: the app's logits.
    const checked = results.slice(0, 9);
    writeFileSync(join(tmp, 'inputs.json'), JSON.stringify(checked.map((r) => r.input)));
    const torchOut = JSON.parse(
      await runAsync(PYTHON, [SCRIPT, 'check', join(out, 'weights.safetensors'), join(tmp, 'inputs.json')]),
    ) as number[][];
    checked.forEach((r, k) => {
      for (let j = 0; j < 3; j++) expect(Math.abs(torchOut[k][j] - r.logits[j])).toBeLessThan(1e-4 * (1 + Math.abs(r.logits[j])));
    });

    // Classify imports the exported .tar and gives the same outputs.
    const first = {
      name: 'first.png',
      mimeType: 'image/png',
      buffer: await rgbPng32(data.at(ofClass(data.labels, CLASSES[0].label, 1, TRAIN)[0])),
    };
    await page.click('.tab[data-view="classify"]');
    await page.setInputFiles('#classify-import', join(out, '..', 'model.tar'));
    await expect.poll(() => page.locator('#classify-model').inputValue()).toBe('imported');
    const imported = await nextClassification(page, () => page.setInputFiles('#classify-file', first));
    expect(imported.model).toBe('imported');
    expect(imported.logits).toEqual(results[0].logits);

    // A reload restores the model from the device (its ONNX graph too): the same outputs.
    await page.reload();
    await page.waitForFunction(() => (window as unknown as { vireoApp: { ready?: boolean } }).vireoApp.ready === true);
    await page.click('.tab[data-view="classify"]');
    await page.selectOption('#classify-model', 'taught');
    const again = await nextClassification(page, () => page.setInputFiles('#classify-file', first));
    expect(again.logits).toEqual(results[0].logits);
    await page.close();
  });
});
