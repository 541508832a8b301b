// Where pictures come from, for Classify and for Teach's try-out: the camera (front/back switch, every frame
// while it runs), a file picker, drag-and-drop and paste. Hands each picture on as (source, width, height).
import { Camera } from './camera.js';
import { fileToBitmap, squarePixels } from './image.js';
import { fileButton, h, notify, plainError } from './ui.js';

/**
 * `onImage(source, width, height, origin)` for a still picture; `onFrame(video)` for each camera frame, awaited
 * before the next one is taken (so the rate is what the device sustains). `name` prefixes the control ids.
 */
export function inputPanel({ name, onImage, onFrame }) {
  const video = h('video', { muted: true, playsInline: true, 'aria-label': 'Camera preview' });
  const still = h('canvas', { width: 320, height: 320, 'aria-label': 'The picture being classified', hidden: true });
  const hint = h('p', { class: 'hint' }, 'Start the camera, pick a picture, drop one here or paste one.');
  const stage = h('div', { class: 'stage drop' }, video, still, hint);
  video.hidden = true;
  const camera = new Camera(video);
  const startBtn = h('button', { type: 'button', class: 'primary', id: `${name}-camera` }, 'Start camera');
  const switchBtn = h(
    'button',
    { type: 'button', id: `${name}-switch`, disabled: true, 'aria-label': 'Switch between front and back camera' },
    'Switch camera',
  );
  let loop = 0;

  async function runLoop(id) {
    while (loop === id && camera.running) {
      if (video.readyState >= 2) await onFrame(video);
      await new Promise((r) => requestAnimationFrame(r));
    }
  }

  async function start(facing) {
    try {
      await camera.start(facing);
    } catch (err) {
      notify(err.message, { kind: 'error', id: 'camera' });
      stopCamera();
      return;
    }
    if (!camera.running) return; // stopped while it was starting
    still.hidden = true;
    hint.hidden = true;
    video.hidden = false;
    startBtn.textContent = 'Stop camera';
    switchBtn.disabled = false;
    runLoop(++loop);
  }

  function stopCamera() {
    loop++;
    camera.stop();
    video.hidden = true;
    startBtn.textContent = 'Start camera';
    switchBtn.disabled = true;
  }

  startBtn.addEventListener('click', () => (camera.running ? stopCamera() : start()));
  switchBtn.addEventListener('click', () => start(camera.facing === 'environment' ? 'user' : 'environment'));

  async function takeFile(file, origin) {
    try {
      const bitmap = await fileToBitmap(file);
      await showStill(bitmap, bitmap.width, bitmap.height, origin);
    } catch (err) {
      notify(plainError(err), { kind: 'error', id: 'image' });
    }
  }

  async function showStill(source, width, height, origin) {
    stopCamera();
    const rgba = squarePixels(source, width, height, still.width, still.height);
    still.getContext('2d').putImageData(new ImageData(new Uint8ClampedArray(rgba), still.width, still.height), 0, 0);
    still.hidden = false;
    hint.hidden = true;
    await onImage(source, width, height, origin);
  }

  stage.addEventListener('dragover', (e) => {
    e.preventDefault();
    stage.classList.add('over');
  });
  stage.addEventListener('dragleave', () => stage.classList.remove('over'));
  stage.addEventListener('drop', (e) => {
    e.preventDefault();
    stage.classList.remove('over');
    const file = [...(e.dataTransfer?.files ?? [])][0];
    if (file) takeFile(file, 'drop');
  });

  const picker = fileButton('Pick a picture', {
    accept: 'image/*',
    id: `${name}-file`,
    onfiles: (files) => takeFile(files[0], 'file'),
  });
  const el = h('div', {}, stage, h('div', { class: 'row' }, startBtn, switchBtn, picker));
  return {
    el,
    camera,
    stopCamera,
    showStill,
    /** Paste: the first image on the clipboard. */
    paste(event) {
      const item = [...(event.clipboardData?.items ?? [])].find((i) => i.type.startsWith('image/'));
      if (item) takeFile(item.getAsFile(), 'paste');
    },
  };
}
