// What the app keeps on the device: IndexedDB records (the taught model, Teach's pictures), so a kiosk reload
// or an offline start keeps them.
const DB = 'vireo-app';
const STORE = 'models';

function open() {
  return new Promise((resolve, reject) => {
    if (typeof indexedDB === 'undefined') return reject(new Error('This browser keeps no data for this page (no IndexedDB).'));
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function run(mode, fn) {
  return open().then(
    (db) =>
      new Promise((resolve, reject) => {
        const tx = db.transaction(STORE, mode);
        const req = fn(tx.objectStore(STORE));
        tx.oncomplete = () => resolve(req.result);
        tx.onerror = tx.onabort = () => reject(tx.error ?? req.error);
      }),
  );
}

/** Saves { json, weights, ... } under `key`; a full disk rejects with QuotaExceededError (see plainError). */
export const saveRecord = (key, value) => run('readwrite', (s) => s.put(value, key));
export const loadRecord = (key) => run('readonly', (s) => s.get(key));
export const deleteRecord = (key) => run('readwrite', (s) => s.delete(key));
