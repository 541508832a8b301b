// The Classify view: a model (the shipped one, the taught one or an imported one), pictures from the camera,
// files, drops or paste, and the top classes with bars, the time per inference and the backend that ran it.
import { inputPanel } from './input-panel.js';
import { lightBorder, squarePixels, toInput } from './image.js';
import { classify, importModel, placeModel } from './models.js';
import { hooks, models } from './state.js';
import { fileButton, h, notify, plainError, rank, renderTopK } from './ui.js';

const EXAMPLES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

export function classifyView(root) {
  const select = h('select', { id: 'classify-model', 'aria-label': 'Model' });
  // Where the model runs: wasm everywhere; WebGPU where the browser gives an adapter (else wasm, and a notice).
  const backendSelect = h(
    'select',
    { id: 'classify-backend', 'aria-label': 'Backend' },
    h('option', { value: 'wasm' }, 'wasm (CPU)'),
    h('option', { value: 'webgpu' }, 'WebGPU (GPU)'),
  );
  const about = h('p', { class: 'meta', id: 'classify-about' });
  const list = h('ol', { class: 'results', id: 'classify-results', 'aria-label': 'Top classes' });
  const timing = h('p', { class: 'meta', id: 'classify-timing' });
  // Announced to screen readers when the top class changes (not every camera frame).
  const spoken = h('p', { class: 'sr-only', 'aria-live': 'polite', id: 'classify-spoken' });
  let lastSpoken = '';
  let busy = false;

  const current = () => models.get(select.value);

  async function run(source, width, height, origin) {
    const entry = current();
    if (!entry || busy) return;
    busy = true;
    try {
      const [, hh, ww] = entry.meta.inputShape;
      const rgba = squarePixels(source, width, height, ww, hh);
      const invert = entry.invert === 'auto' ? lightBorder(rgba, ww, hh) : false;
      const input = toInput(rgba, entry.meta.inputShape, entry.meta.normalization, invert);
      const fallback = await placeModel(entry, backendSelect.value);
      if (fallback) {
        backendSelect.value = 'wasm';
        notify(fallback, { kind: 'error', id: 'backend' });
      }
      const result = await classify(entry, input);
      const ranked = rank(result.probs, entry.meta.classes);
      renderTopK(list, ranked, Math.min(5, ranked.length));
      timing.textContent = `${result.ms.toFixed(1)} ms per picture · ${result.backend}`;
      const top = `${ranked[0].label}, ${Math.round(100 * ranked[0].p)} percent`;
      if (top !== lastSpoken) spoken.textContent = lastSpoken = top;
      hooks.classify.last = {
        origin,
        model: select.value,
        input: Array.from(input),
        logits: result.logits,
        top: ranked[0].label,
        invert,
        backend: result.backend,
      };
      hooks.classify.count = (hooks.classify.count ?? 0) + 1;
    } catch (err) {
      notify(plainError(err), { kind: 'error', id: 'classify' });
    } finally {
      busy = false;
    }
  }

  const panel = inputPanel({
    name: 'classify',
    onImage: run,
    onFrame: (video) => run(video, video.videoWidth, video.videoHeight, 'camera'),
  });

  const examples = h(
    'div',
    { class: 'examples', role: 'group', 'aria-label': 'Example pictures from the Fashion-MNIST test set' },
    EXAMPLES.map((label, i) =>
      h(
        'button',
        {
          type: 'button',
          'aria-label': `Example: ${label}`,
          onclick: async (e) => {
            const img = e.currentTarget.querySelector('img');
            await img.decode();
            panel.showStill(img, img.naturalWidth, img.naturalHeight, 'example');
          },
        },
        h('img', { src: `./examples/${i}.png`, alt: '' }),
      ),
    ),
  );

  const importer = fileButton('Import a model…', {
    accept: '.tar,.json,.safetensors,.onnx',
    multiple: true,
    id: 'classify-import',
    onfiles: async (files) => {
      try {
        models.set('imported', await importModel(files));
        select.value = 'imported';
        describe();
        notify(`Imported ${models.get('imported').label}.`, { id: 'import' });
      } catch (err) {
        notify(plainError(err), { kind: 'error', id: 'import' });
      }
    },
  });

  function describe() {
    const entry = current();
    if (!entry) return;
    const acc = entry.accuracy ? `; ${(100 * entry.accuracy).toFixed(1)}% correct on its 10,000 test pictures` : '';
    const [c, hh, ww] = entry.meta.inputShape;
    about.textContent = `${entry.label}: ${entry.meta.classes.length} classes, ${ww}×${hh} ${c === 1 ? 'grey' : 'colour'} input${acc}.`;
    examples.hidden = select.value !== 'shipped';
    list.replaceChildren();
    timing.textContent = 'No picture classified yet.';
  }

  const names = { shipped: 'Fashion-MNIST (shipped)', taught: 'Your taught model', imported: 'Imported model' };
  function listModels() {
    const keep = select.value;
    select.replaceChildren(...models.keys().map((k) => h('option', { value: k }, names[k] ?? k)));
    if (models.get(keep)) select.value = keep;
    describe();
  }
  models.onChange(listModels);
  listModels(); // the models loaded before this view opened
  select.addEventListener('change', describe);

  root.append(
    h(
      'div',
      { class: 'row' },
      h('label', { for: 'classify-model' }, 'Model'),
      select,
      importer,
      h('label', { for: 'classify-backend' }, 'Run on'),
      backendSelect,
    ),
    about,
    h(
      'div',
      { class: 'grid' },
      panel.el,
      h('div', {}, h('h2', {}, 'Top classes'), list, timing, spoken, h('h2', {}, 'Try an example'), examples),
    ),
  );
  return { paste: panel.paste, leave: panel.stopCamera };
}
