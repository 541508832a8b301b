// The taught model kept on this device (IndexedDB): saved after every training run or import, restored at
// start-up, so a kiosk reload or an offline start keeps it.
import { decodeModel } from '../vireo.browser.js';
import { models } from './state.js';
import { deleteRecord, loadRecord, saveRecord } from './store.js';
import { plainError } from './ui.js';

const KEY = 'taught';

/** The classifier entry for a taught model's files. */
export async function taughtEntry(json, weights) {
  const { model, meta } = decodeModel(json, weights, 'taught model');
  await model.to('wasm');
  return { model, meta, json, weights, label: 'Your taught model', invert: false };
}

/**
 * Makes the files the taught model and keeps them on the device. A failure to keep them (storage full, storage
 * off) does not take the model away: { kept: false, why } says so and the model works until the page closes.
 */
export async function keepTaught(json, weights) {
  const entry = await taughtEntry(json, weights);
  models.set('taught', entry);
  try {
    await saveRecord(KEY, { json, weights, saved: Date.now() });
    return { entry, kept: true };
  } catch (err) {
    return { entry, kept: false, why: plainError(err) };
  }
}

export async function restoreTaught() {
  const record = await loadRecord(KEY);
  if (record) models.set('taught', await taughtEntry(record.json, record.weights));
  return Boolean(record);
}

export async function forgetTaught() {
  models.set('taught', null);
  await deleteRecord(KEY);
}
