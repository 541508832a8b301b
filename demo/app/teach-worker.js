// Teach's training, in a Web Worker so the page never freezes: vireo's data pipeline with augmentation
// (random resized crop, flip, rotation, brightness/contrast), AdamW, cross-entropy; progress after every step;
// stop pauses after the current step and resume continues from there.
import {
  CrossEntropyLoss,
  DataLoader,
  datasets,
  decodeModel,
  encodeModel,
  manualSeed,
  optim,
  transforms as T,
  writeSafetensors,
} from '../vireo.browser.js';
import { IMAGENET, headOnBackbone, headOnOnnx, teachCnn, trainMode } from './teach-model.js';

const STORE = 64; // samples arrive as 64×64 RGB
const MIN_EPOCH = 96;
const NORM = { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] };
let job = null;

const post = (msg, transfer) => self.postMessage(msg, transfer ?? []);
/** A macrotask break, so 'stop' messages are handled between steps. */
const breathe = () => new Promise((r) => setTimeout(r, 0));

self.onmessage = async ({ data }) => {
  if (data.type === 'train') {
    job?.cancel();
    job = makeJob(data);
    job.run().catch((err) => post({ type: 'error', message: err?.message ?? String(err) }));
  } else if (data.type === 'stop') job?.pause();
  else if (data.type === 'resume') job?.resume();
};

function makeJob({ images, labels, classes, size, epochs, seed = 1, backbone }) {
  let paused = null;
  let cancelled = false;
  return {
    cancel: () => {
      cancelled = true;
      paused?.resolve();
    },
    pause: () => {
      if (!paused) {
        let resolve;
        const promise = new Promise((r) => (resolve = r));
        paused = { promise, resolve };
      }
    },
    resume: () => {
      const p = paused;
      paused = null;
      p?.resolve();
    },
    async run() {
      manualSeed(seed);
      let model;
      let meta;
      let normalization = NORM;
      let inputSize = size;
      let onnx = null;
      if (backbone?.onnx) {
        ({ model, onnx } = await headOnOnnx(backbone.onnx, classes.length));
        inputSize = backbone.inputShape[1];
        normalization = IMAGENET;
        meta = { backbone: backbone.name };
      } else if (backbone) {
        const pre = decodeModel(backbone.json, backbone.weights, 'backbone');
        const [c, hh, ww] = pre.meta.inputShape;
        if (c !== 3 || hh !== ww)
          throw new Error(`The backbone takes ${c}×${hh}×${ww} input; Teach needs square colour input (3×N×N).`);
        inputSize = hh;
        normalization = pre.meta.normalization;
        model = await headOnBackbone(pre.model, [3, hh, ww], classes.length);
        meta = { backbone: pre.meta.name ?? 'imported' };
      } else {
        model = teachCnn(classes.length);
        meta = {};
      }
      await model.to('wasm');
      const transform = new T.Compose([
        new T.RandomResizedCrop(inputSize, { scale: [0.6, 1] }),
        new T.RandomHorizontalFlip(),
        new T.RandomRotation(12),
        new T.ColorJitter({ brightness: 0.3, contrast: 0.3 }),
        new T.ToTensor(),
        new T.Normalize(normalization.mean, normalization.std),
      ]);
      const n = labels.length;
      const data = new datasets.ArrayDataset(images, labels, { shape: [n, STORE, STORE, 3], classes, transform });
      const loader = new DataLoader(data, { batchSize: Math.min(16, n), shuffle: true, seed });
      const trainable = model.parameters().filter((p) => p.requiresGrad);
      const optimizer = new optim.AdamW(trainable, { lr: 3e-3, weightDecay: 1e-4 });
      const lossFn = new CrossEntropyLoss();
      // An epoch is at least MIN_EPOCH augmented pictures (the samples passed over several times, each pass
      // with fresh crops and flips): with ten pictures a class, epochs of one or two steps learnt too little.
      const passes = Math.ceil(MIN_EPOCH / n);
      const steps = passes * Math.ceil(n / Math.min(16, n));
      const t0 = performance.now();
      let pausedMs = 0;
      let done = 0;
      trainMode(model);
      for (let epoch = 1; epoch <= epochs; epoch++) {
        let lossSum = 0;
        let correct = 0;
        let seen = 0;
        let step = 0;
        for (let pass = 0; pass < passes; pass++)
          for await (const batch of loader) {
            optimizer.zeroGrad();
            const out = await model.forward(batch.x);
            const loss = lossFn.forward(out, batch.y);
            const value = (await loss.data())[0];
            await loss.backward();
            optimizer.step();
            const logits = await out.data();
            const y = await batch.y.data();
            const k = classes.length;
            for (let i = 0; i < y.length; i++) {
              let best = 0;
              for (let j = 1; j < k; j++) if (logits[i * k + j] > logits[i * k + best]) best = j;
              if (best === y[i]) correct++;
            }
            seen += y.length;
            lossSum += value * y.length;
            batch.release();
            step++;
            done++;
            const elapsed = performance.now() - t0 - pausedMs;
            const left = (elapsed / done) * (epochs * steps - done);
            post({ type: 'progress', epoch, epochs, step, steps, loss: value, accuracy: correct / seen, etaS: left / 1000 });
            await breathe();
            if (cancelled) return;
            if (paused) {
              const p0 = performance.now();
              post({ type: 'paused', epoch, step });
              await paused.promise;
              pausedMs += performance.now() - p0;
              if (cancelled) return;
              post({ type: 'resumed' });
            }
          }
        post({ type: 'epoch', epoch, epochs, loss: lossSum / seen, accuracy: correct / seen });
      }
      model.eval();
      const training = {
        by: 'vireo app, Teach',
        samples: n,
        epochs,
        augmentation: 'RandomResizedCrop(0.6-1), flip, rotation 12°, brightness/contrast 0.3',
        ...meta,
      };
      const seconds = () => (performance.now() - t0 - pausedMs) / 1000;
      if (onnx) {
        const files = onnxModelFiles(model, onnx, { inputSize, classes, normalization, training });
        post({ type: 'done', ...files, seconds: seconds() }, [files.weights.buffer, files.onnx.buffer]);
        return;
      }
      const files = encodeModel(model, {
        name: backbone ? 'teach-head' : 'teach-cnn',
        inputShape: [3, inputSize, inputSize],
        classes,
        normalization,
        training,
      });
      post({ type: 'done', json: files.json, weights: files.weights, seconds: seconds() }, [files.weights.buffer]);
    },
  };
}

/**
 * An import directory (what `vireo import` writes, format 'vireo-onnx') for a model trained from an ONNX
 * backbone: model.json, the state dict under the ONNX initializer names, and the ONNX file with the new head.
 */
function onnxModelFiles(model, onnx, { inputSize, classes, normalization, training }) {
  const input = model.proto.inputs[0];
  const meta = {
    format: 'vireo-onnx',
    version: 1,
    source: 'model.onnx',
    opset: model.proto.opset,
    producer: 'vireo app, Teach',
    inputs: [{ name: input.name, shape: input.dims }],
    outputs: model.proto.outputs.map((o) => ({ name: o.name, shape: o.dims })),
    weights: 'weights.safetensors',
    onnx: 'model.onnx',
    inputShape: [3, inputSize, inputSize],
    classes,
    normalization,
    training,
  };
  const weights = writeSafetensors(model.stateDict(), { format: 'pt', producer: 'vireo app' });
  return { json: `${JSON.stringify(meta, null, 2)}\n`, weights, onnx: onnx.slice() };
}
