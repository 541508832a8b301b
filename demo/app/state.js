// What the views share: the models the app can classify with (the shipped one, the taught one, an imported
// one), and a hook object the tests and curious developers read (window.vireoApp).
const entries = new Map();
const listeners = new Set();

export const models = {
  get(key) {
    return entries.get(key);
  },
  keys() {
    return [...entries.keys()];
  },
  set(key, entry) {
    if (entry) entries.set(key, entry);
    else entries.delete(key);
    for (const fn of listeners) fn(key);
  },
  onChange(fn) {
    listeners.add(fn);
  },
};

/** What each view last did, for tests: inputs, outputs, states. */
export const hooks = { classify: {}, teach: {}, bench: {} };
globalThis.vireoApp = hooks;
