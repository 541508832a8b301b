// What Teach keeps on this device (IndexedDB): the taught model, saved after every training run or import and
// restored at start-up, and the classes with their pictures, saved as they change; a kiosk reload or an
// offline start keeps both.
import { decodeModel } from '../vireo.browser.js';
import { decodeImportDirectory } from './models.js';
import { models } from './state.js';
import { deleteRecord, loadRecord, saveRecord } from './store.js';
import { plainError } from './ui.js';

const KEY = 'taught';

/**
 * The classifier entry for a taught model's files: model.json and weights.safetensors, and model.onnx for a
 * model taught on an ONNX backbone (an import directory: format 'vireo-onnx').
 */
export async function taughtEntry(json, weights, onnx) {
  const { model, meta } = onnx ? await decodeImportDirectory(json, weights, onnx) : decodeModel(json, weights, 'taught model');
  await model.to('wasm');
  return { model, meta, json, weights, onnx, label: 'Your taught model', invert: false };
}

/**
 * Makes the files the taught model and keeps them on the device. A failure to keep them (storage full, storage
 * off) does not take the model away: { kept: false, why } says so and the model works until the page closes.
 */
export async function keepTaught(json, weights, onnx) {
  const entry = await taughtEntry(json, weights, onnx);
  models.set('taught', entry);
  try {
    await saveRecord(KEY, { json, weights, ...(onnx ? { onnx } : {}), saved: Date.now() });
    return { entry, kept: true };
  } catch (err) {
    return { entry, kept: false, why: plainError(err) };
  }
}

export async function restoreTaught() {
  const record = await loadRecord(KEY);
  if (record) models.set('taught', await taughtEntry(record.json, record.weights, record.onnx));
  return Boolean(record);
}

export async function forgetTaught() {
  models.set('taught', null);
  await deleteRecord(KEY);
}

const SAMPLES = 'samples';

/**
 * Keeps the classes and their pictures: [{ name, samples: Uint8Array }], the pictures of a class one after
 * the other (64×64 RGB each). Rejects (QuotaExceededError when storage is full) when they cannot be kept.
 */
export const keepSamples = (classes) => saveRecord(SAMPLES, { classes, saved: Date.now() });

/** The classes kept by keepSamples, or null. */
export async function restoreSamples() {
  const record = await loadRecord(SAMPLES);
  return Array.isArray(record?.classes) ? record.classes : null;
}
