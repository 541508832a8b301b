// The Teach view: 2–10 named classes, pictures from the camera (press and hold records a burst) or from files,
// training in a Web Worker (progress, live loss and accuracy chart, time left, stop and resume), then live
// classification; the taught model is kept on the device and exports as a vireo model directory (.tar). A
// pretrained backbone (a model directory or an .onnx file) stays frozen under a new head.
import { parseModelMeta, writeTar } from '../vireo.browser.js';
import { lineChart } from './chart.js';
import { fileToBitmap, rgbCanvas, rgbOf, squarePixels, toInput } from './image.js';
import { inputPanel } from './input-panel.js';
import { classify, modelFilesFrom } from './models.js';
import { checkOnnxBackbone } from './teach-model.js';
import { hooks, models } from './state.js';
import { forgetTaught, keepSamples, keepTaught, restoreSamples } from './teach-store.js';
import { clearNotice, download, fileButton, h, notify, plainError, rank, renderTopK } from './ui.js';

const STORE = 64; // every sample is kept as 64×64 RGB; training crops and scales it to the input size
const MAX_CLASSES = 10;
const BURST_MS = 100;
/** Pictures are kept on the device this long after the last change (a burst adds ten a second). */
const KEEP_AFTER_MS = 400;

export async function teachView(root) {
  const classes = [];
  const t = hooks.teach;
  t.state = 'idle';
  let worker = null;
  let backbone = null;
  let chartData = { loss: [], accuracy: [] };

  // ---- classes and samples
  const list = h('div', { id: 'teach-classes' });
  const addBtn = h('button', { type: 'button', id: 'teach-add-class', onclick: () => addClass() }, '+ Add a class');

  function addClass(name = `Class ${classes.length + 1}`) {
    if (classes.length >= MAX_CLASSES) return;
    const i = classes.length;
    const entry = { samples: [] };
    const nameInput = h('input', {
      type: 'text',
      class: 'class-name',
      value: name,
      'aria-label': `Name of class ${i + 1}`,
      oninput: () => changed(),
    });
    const count = h('span', { class: 'count meta', 'aria-live': 'polite' }, '0 pictures');
    const thumbs = h('div', { class: 'samples', 'aria-hidden': 'true' });
    const hold = h(
      'button',
      { type: 'button', class: 'hold primary', 'aria-label': `Hold to record pictures of class ${i + 1} from the camera` },
      '● Hold to record',
    );
    entry.update = () => {
      count.textContent = `${entry.samples.length} picture${entry.samples.length === 1 ? '' : 's'}`;
      thumbs.replaceChildren(...entry.samples.slice(-24).map((s) => rgbCanvas(s, STORE, STORE)));
      t.samples = classes.map((c) => c.samples.length);
      changed();
    };
    entry.add = (rgb) => {
      entry.samples.push(rgb);
      entry.update();
    };
    bindHold(hold, entry);
    const files = fileButton('Add pictures', {
      accept: 'image/*',
      multiple: true,
      id: `teach-files-${i}`,
      onfiles: async (picked) => {
        for (const f of picked) {
          try {
            const bitmap = await fileToBitmap(f);
            entry.add(rgbOf(squarePixels(bitmap, bitmap.width, bitmap.height, STORE, STORE)));
          } catch (err) {
            notify(plainError(err), { kind: 'error', id: 'teach-file' });
          }
        }
      },
    });
    const clear = h(
      'button',
      {
        type: 'button',
        'aria-label': `Remove the pictures of class ${i + 1}`,
        onclick: () => {
          entry.samples = [];
          entry.update();
        },
      },
      'Clear',
    );
    const remove = h(
      'button',
      {
        type: 'button',
        'aria-label': `Delete class ${i + 1}`,
        onclick: () => {
          if (classes.length <= 2) return notify('Teach needs at least two classes.', { id: 'teach-classes' });
          classes.splice(classes.indexOf(entry), 1);
          entry.card.remove();
          addBtn.disabled = false;
          t.samples = classes.map((c) => c.samples.length);
          changed();
        },
      },
      'Delete',
    );
    entry.name = () => nameInput.value.trim();
    entry.card = h(
      'div',
      { class: 'class-card' },
      h('div', { class: 'row' }, nameInput, count),
      h('div', { class: 'row' }, hold, files, clear, remove),
      thumbs,
    );
    classes.push(entry);
    list.append(entry.card);
    addBtn.disabled = classes.length >= MAX_CLASSES;
    return entry;
  }

  // ---- the classes and pictures kept on the device (over a reload), saved a moment after each change
  let restoring = false;
  let keepTimer = 0;
  t.samplesChanged = 0;
  t.samplesKept = 0;
  function changed() {
    if (restoring) return;
    t.samplesChanged++;
    clearTimeout(keepTimer);
    keepTimer = setTimeout(keepNow, KEEP_AFTER_MS);
  }
  async function keepNow() {
    const n = t.samplesChanged;
    const kept = classes.map((c) => {
      const all = new Uint8Array(c.samples.length * STORE * STORE * 3);
      c.samples.forEach((s, k) => all.set(s, k * s.length));
      return { name: c.name(), samples: all };
    });
    try {
      await keepSamples(kept);
      t.samplesKept = n;
      clearNotice('teach-samples');
    } catch (err) {
      notify(`Your pictures are here until the page closes but could not be kept on this device: ${plainError(err)}`, {
        kind: 'error',
        id: 'teach-samples',
      });
    }
  }
  async function restoreClasses() {
    let saved = null;
    try {
      saved = await restoreSamples();
    } catch (err) {
      notify(`Your pictures could not be read back: ${plainError(err)}`, { kind: 'error', id: 'teach-samples' });
    }
    restoring = true;
    try {
      if (saved && saved.length >= 2)
        for (const c of saved.slice(0, MAX_CLASSES)) {
          const entry = addClass(c.name);
          const size = STORE * STORE * 3;
          for (let k = 0; k + size <= c.samples.length; k += size) entry.samples.push(c.samples.slice(k, k + size));
          entry.update();
        }
      else {
        addClass();
        addClass();
      }
    } finally {
      restoring = false;
    }
  }

  // Press and hold (touch, mouse, or Space/Enter held down): one picture every BURST_MS from the camera.
  function bindHold(button, entry) {
    let timer = 0;
    const grab = () => {
      const v = panel.camera.video;
      if (panel.camera.running && v.videoWidth) entry.add(rgbOf(squarePixels(v, v.videoWidth, v.videoHeight, STORE, STORE)));
    };
    const start = async () => {
      if (timer) return;
      if (!panel.camera.running) {
        notify('Start the camera first (the button under the preview), or add pictures from files.', { id: 'teach-camera' });
        return;
      }
      grab();
      timer = setInterval(grab, BURST_MS);
    };
    const stop = () => {
      clearInterval(timer);
      timer = 0;
    };
    button.addEventListener('pointerdown', (e) => {
      button.setPointerCapture?.(e.pointerId);
      start();
    });
    for (const ev of ['pointerup', 'pointercancel', 'lostpointercapture', 'blur']) button.addEventListener(ev, stop);
    button.addEventListener('keydown', (e) => {
      if ((e.key === ' ' || e.key === 'Enter') && !e.repeat) {
        e.preventDefault();
        start();
      }
    });
    button.addEventListener('keyup', stop);
  }

  // ---- settings
  const size = h(
    'select',
    { id: 'teach-size', 'aria-label': 'Input size' },
    h('option', { value: '64' }, '64×64'),
    h('option', { value: '32' }, '32×32 (faster)'),
  );
  const epochs = h('input', {
    type: 'number',
    id: 'teach-epochs',
    min: '1',
    max: '200',
    value: '20',
    'aria-label': 'Epochs',
    style: 'width:6rem',
  });
  const backboneNote = h(
    'p',
    { class: 'meta', id: 'teach-backbone-note' },
    'Training starts from scratch: a small CNN (24k parameters).',
  );
  const backboneBtn = fileButton('Use a pretrained backbone…', {
    accept: '.tar,.json,.safetensors,.onnx',
    multiple: true,
    id: 'teach-backbone-file',
    onfiles: async (files) => {
      try {
        const onnxFile = files.find((f) => /\.onnx$/i.test(f.name));
        if (onnxFile) {
          const onnx = new Uint8Array(await onnxFile.arrayBuffer());
          const { inputShape } = await checkOnnxBackbone(onnx, onnxFile.name);
          backbone = { onnx, name: onnxFile.name, inputShape };
          size.disabled = true;
          backboneNote.textContent = `Backbone: ${onnxFile.name} (ONNX), ${inputShape.join('×')} input, ImageNet normalization. Training fits a new last layer; the backbone stays frozen.`;
          return;
        }
        const { json, weights } = await modelFilesFrom(files);
        const meta = parseModelMeta(json, files[0].name);
        backbone = { json, weights, meta };
        size.disabled = true;
        backboneNote.textContent = `Backbone: ${meta.name ?? files[0].name}, ${meta.inputShape.join('×')} input. Training fits a new last layer; the backbone stays frozen.`;
      } catch (err) {
        notify(`That backbone could not be used: ${plainError(err)}`, { kind: 'error', id: 'teach-backbone' });
      }
    },
  });

  // ---- training
  const trainBtn = h('button', { type: 'button', class: 'primary', id: 'teach-train' }, 'Train');
  const stopBtn = h('button', { type: 'button', id: 'teach-stop', disabled: true }, 'Stop');
  const progress = h('progress', {
    id: 'teach-progress',
    class: 'progress',
    max: '1',
    value: '0',
    'aria-label': 'Training progress',
  });
  const status = h('p', { id: 'teach-status', 'aria-live': 'polite' }, 'Add pictures to at least two classes, then train.');
  const chart = h('canvas', {
    class: 'chart',
    id: 'teach-chart',
    'aria-label': 'Loss and accuracy during training',
    role: 'img',
  });

  function collect() {
    const names = classes.map((c) => c.name());
    if (names.some((n) => !n)) throw new Error('Every class needs a name.');
    if (new Set(names).size !== names.length) throw new Error('Two classes have the same name.');
    const few = classes.find((c) => c.samples.length < 2);
    if (few) throw new Error(`“${few.name()}” needs at least two pictures (ten or more work much better).`);
    const n = classes.reduce((a, c) => a + c.samples.length, 0);
    const images = new Uint8Array(n * STORE * STORE * 3);
    const labels = new Int32Array(n);
    let k = 0;
    classes.forEach((c, label) => {
      for (const s of c.samples) {
        images.set(s, k * s.length);
        labels[k++] = label;
      }
    });
    return { names, images, labels };
  }

  function train() {
    let job;
    try {
      job = collect();
    } catch (err) {
      notify(err.message, { id: 'teach-train' });
      return;
    }
    worker ??= makeWorker();
    chartData = { loss: [], accuracy: [] };
    t.state = 'training';
    t.history = [];
    stopBtn.disabled = false;
    stopBtn.textContent = 'Stop';
    trainBtn.disabled = true;
    status.textContent = 'Training started…';
    const message = {
      type: 'train',
      images: job.images,
      labels: job.labels,
      classes: job.names,
      size: Number(size.value),
      epochs: Number(epochs.value) || 20,
      backbone:
        backbone &&
        (backbone.onnx
          ? { onnx: backbone.onnx, name: backbone.name, inputShape: backbone.inputShape }
          : { json: backbone.json, weights: backbone.weights }),
    };
    worker.postMessage(message, [job.images.buffer]);
  }

  function makeWorker() {
    const w = new Worker(new URL('./teach-worker.js', import.meta.url), { type: 'module' });
    w.onmessage = ({ data }) => onWorker(data);
    w.onerror = (e) => {
      notify(`Training stopped with an error: ${e.message}`, { kind: 'error', id: 'teach-train' });
      finish('error');
    };
    return w;
  }

  async function onWorker(msg) {
    if (msg.type === 'progress') {
      const doneSteps = (msg.epoch - 1) * msg.steps + msg.step;
      progress.value = doneSteps / (msg.epochs * msg.steps);
      chartData.loss.push(msg.loss);
      chartData.accuracy.push(msg.accuracy);
      lineChart(chart, [
        { label: 'loss', color: '#a4161a', points: chartData.loss },
        { label: 'accuracy', color: '#1d4e89', points: chartData.accuracy, max: 1, format: (v) => `${Math.round(100 * v)}%` },
      ]);
      status.textContent = `Epoch ${msg.epoch} of ${msg.epochs} · loss ${msg.loss.toFixed(3)} · accuracy ${Math.round(100 * msg.accuracy)}% · about ${Math.ceil(msg.etaS)} s left`;
    } else if (msg.type === 'epoch') t.history.push({ epoch: msg.epoch, loss: msg.loss, accuracy: msg.accuracy });
    else if (msg.type === 'paused') {
      t.state = 'paused';
      status.textContent = `Stopped at epoch ${msg.epoch}, step ${msg.step}. Resume continues from here.`;
      stopBtn.textContent = 'Resume';
    } else if (msg.type === 'resumed') {
      t.state = 'training';
      stopBtn.textContent = 'Stop';
    } else if (msg.type === 'error') {
      notify(`Training failed: ${msg.message}`, { kind: 'error', id: 'teach-train' });
      finish('error');
    } else if (msg.type === 'done') {
      progress.value = 1;
      try {
        const { kept, why } = await keepTaught(msg.json, new Uint8Array(msg.weights), msg.onnx && new Uint8Array(msg.onnx));
        status.textContent = `Trained in ${msg.seconds.toFixed(1)} s${kept ? ' and kept on this device' : ''}. Try it with the camera or a picture below.`;
        if (!kept) notKept(why);
      } catch (err) {
        notify(`Training finished but the model could not be used: ${plainError(err)}`, { kind: 'error', id: 'teach-train' });
      }
      finish('done');
    }
  }

  function notKept(why) {
    notify(`Your model works now but could not be kept on this device: ${why} Export it to keep a copy.`, {
      kind: 'error',
      id: 'teach-keep',
    });
  }

  function finish(state) {
    t.state = state;
    trainBtn.disabled = false;
    stopBtn.disabled = true;
    stopBtn.textContent = 'Stop';
    refreshModelButtons();
  }

  trainBtn.addEventListener('click', train);
  stopBtn.addEventListener('click', () => worker?.postMessage({ type: t.state === 'paused' ? 'resume' : 'stop' }));

  // ---- the taught model: try, export, import, forget
  const results = h('ol', { class: 'results', id: 'teach-results', 'aria-label': 'Top classes of your model' });
  const timing = h('p', { class: 'meta', id: 'teach-timing' });
  // Announced to screen readers when the top class changes (not every camera frame).
  const spoken = h('p', { class: 'sr-only', 'aria-live': 'polite', id: 'teach-spoken' });
  let busy = false;
  async function tryIt(source, width, height, origin) {
    const entry = models.get('taught');
    if (!entry || busy) return;
    busy = true;
    try {
      const [, hh, ww] = entry.meta.inputShape;
      const input = toInput(squarePixels(source, width, height, ww, hh), entry.meta.inputShape, entry.meta.normalization);
      const r = await classify(entry, input);
      const ranked = rank(r.probs, entry.meta.classes);
      renderTopK(results, ranked, Math.min(5, ranked.length));
      timing.textContent = `${r.ms.toFixed(1)} ms per picture · ${r.backend}`;
      const top = `${ranked[0].label}, ${Math.round(100 * ranked[0].p)} percent`;
      if (spoken.textContent !== top) spoken.textContent = top;
      t.last = { origin, input: Array.from(input), logits: r.logits, top: ranked[0].label };
    } finally {
      busy = false;
    }
  }
  const panel = inputPanel({ name: 'teach', onImage: tryIt, onFrame: (v) => tryIt(v, v.videoWidth, v.videoHeight, 'camera') });

  const exportBtn = h(
    'button',
    {
      type: 'button',
      id: 'teach-export',
      onclick: () => {
        const entry = models.get('taught');
        const enc = new TextEncoder();
        download(
          writeTar([
            { name: 'model.json', data: enc.encode(entry.json) },
            { name: 'weights.safetensors', data: entry.weights },
            ...(entry.onnx ? [{ name: 'model.onnx', data: entry.onnx }] : []),
          ]),
          'vireo-taught-model.tar',
          'application/x-tar',
        );
      },
    },
    'Export model (.tar)',
  );
  const importBtn = fileButton('Import a model…', {
    accept: '.tar,.json,.safetensors',
    multiple: true,
    id: 'teach-import',
    onfiles: async (files) => {
      try {
        const { json, weights, onnx } = await modelFilesFrom(files);
        const { kept, why } = await keepTaught(json, weights, onnx);
        status.textContent = kept ? 'Imported and kept on this device.' : 'Imported.';
        if (!kept) notKept(why);
      } catch (err) {
        notify(`That model could not be imported: ${plainError(err)}`, { kind: 'error', id: 'teach-import' });
      }
      refreshModelButtons();
    },
  });
  const forgetBtn = h(
    'button',
    {
      type: 'button',
      id: 'teach-forget',
      onclick: async () => {
        await forgetTaught();
        refreshModelButtons();
      },
    },
    'Forget the model',
  );
  const modelNote = h('p', { class: 'meta', id: 'teach-model-note' });
  function refreshModelButtons() {
    const entry = models.get('taught');
    exportBtn.disabled = forgetBtn.disabled = !entry;
    modelNote.textContent = entry
      ? `Your model: ${entry.meta.classes.join(', ')} (${entry.meta.inputShape.slice(1).join('×')} input).`
      : 'No taught model on this device yet.';
  }
  models.onChange((key) => key === 'taught' && refreshModelButtons());

  await restoreClasses();
  refreshModelButtons(); // main.js restored a kept model at start-up

  root.append(
    h('h2', {}, '1. Classes and pictures'),
    h(
      'p',
      { class: 'meta' },
      'Two to ten classes. Ten or more varied pictures per class; hold the record button to take a burst from the camera.',
    ),
    list,
    addBtn,
    h('h2', {}, '2. Train on this device'),
    h(
      'div',
      { class: 'row' },
      h('label', { for: 'teach-size' }, 'Input'),
      size,
      h('label', { for: 'teach-epochs' }, 'Epochs'),
      epochs,
      backboneBtn,
    ),
    backboneNote,
    h('div', { class: 'row' }, trainBtn, stopBtn),
    progress,
    status,
    chart,
    h('h2', {}, '3. Try it, keep it'),
    modelNote,
    h('div', { class: 'row' }, exportBtn, importBtn, forgetBtn),
    h('div', { class: 'grid' }, panel.el, h('div', {}, results, timing, spoken)),
  );
  return { paste: panel.paste, leave: panel.stopCamera };
}
