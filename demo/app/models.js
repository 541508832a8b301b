// Models the app runs: the shipped Fashion-MNIST model, and models a user imports (a vireo model directory
// as a .tar or as its two files, or an ONNX file). Every failure is an Error with a message a user can read.
import { decodeModel, importOnnx, readSafetensors, readTar, tensor } from '../vireo.browser.js';
import { softmax } from './ui.js';

export const SHIPPED = './models/fashion-mnist/';

/** { model, meta, label, invert } for the model that ships with the app, on the wasm backend. */
export async function loadShipped() {
  const [json, weights] = await Promise.all([
    fetch(`${SHIPPED}model.json`).then((r) => (r.ok ? r.text() : Promise.reject(new Error(`model.json: HTTP ${r.status}`)))),
    fetch(`${SHIPPED}weights.safetensors`).then((r) =>
      r.ok ? r.arrayBuffer() : Promise.reject(new Error(`weights.safetensors: HTTP ${r.status}`)),
    ),
  ]);
  const { model, meta } = decodeModel(json, new Uint8Array(weights), 'models/fashion-mnist');
  await model.to('wasm');
  const accuracy = meta.training?.last?.valAccuracy;
  return { model, meta, json, weights: new Uint8Array(weights), label: 'Fashion-MNIST (shipped)', invert: 'auto', accuracy };
}

const readBytes = async (file) => new Uint8Array(await file.arrayBuffer());
const baseName = (name) => name.split('/').pop();

/**
 * The model directory's two files from what the user picked: a .tar (as the app exports), or model.json
 * and weights.safetensors picked together. Returns { json, weights, onnx? } or throws a plain message.
 */
export async function modelFilesFrom(files) {
  if (files.length === 1 && /\.tar$/i.test(files[0].name)) {
    let entries;
    try {
      entries = readTar(await readBytes(files[0]), files[0].name);
    } catch (err) {
      throw new Error(`${files[0].name} is not a model archive: ${err.message}`);
    }
    const json = entries.find((e) => baseName(e.name) === 'model.json');
    const weights = entries.find((e) => baseName(e.name) === 'weights.safetensors');
    if (!json || !weights) throw new Error(`${files[0].name} has no model.json and weights.safetensors inside.`);
    // A model taught on an ONNX backbone also holds its graph.
    const onnx = entries.find((e) => baseName(e.name) === 'model.onnx');
    return { json: new TextDecoder().decode(json.data), weights: weights.data, onnx: onnx?.data };
  }
  const json = files.find((f) => f.name === 'model.json');
  const weights = files.find((f) => /\.safetensors$/i.test(f.name));
  if (!json || !weights)
    throw new Error('Pick a model: a .tar the app exported, model.json together with weights.safetensors, or an .onnx file.');
  return { json: await json.text(), weights: await readBytes(weights) };
}

/**
 * An import directory's files (format 'vireo-onnx', as `vireo import` and Teach on an ONNX backbone write):
 * the ONNX graph at the model's input size with the directory's weights. Returns { model, meta } (eval mode).
 */
export async function decodeImportDirectory(json, weights, onnx) {
  const meta = JSON.parse(json);
  if (meta.format !== 'vireo-onnx' || !Array.isArray(meta.inputShape) || !Array.isArray(meta.classes) || !meta.inputs?.[0])
    throw new Error('model.json does not describe an image classifier on an ONNX model (format vireo-onnx).');
  const model = await importOnnx(onnx, { inputShapes: { [meta.inputs[0].name]: [1, ...meta.inputShape] } });
  model.loadStateDict(readSafetensors(weights, 'weights.safetensors'));
  model.eval();
  return { model, meta };
}

/** A classifier from the picked files, on the wasm backend: { model, meta, label, json?, weights? }. */
export async function importModel(files) {
  const onnxFile = files.find((f) => /\.onnx$/i.test(f.name));
  if (onnxFile) return importOnnxClassifier(onnxFile);
  const { json, weights, onnx } = await modelFilesFrom(files);
  let decoded;
  try {
    const source = files.length === 1 ? files[0].name : 'model';
    decoded = onnx ? await decodeImportDirectory(json, weights, onnx) : decodeModel(json, weights, source);
  } catch (err) {
    throw new Error(`That is not a vireo model: ${err.message}`);
  }
  await decoded.model.to('wasm');
  return { ...decoded, json, weights, label: decoded.meta.name ?? files[0].name, invert: false };
}

async function importOnnxClassifier(file) {
  let model;
  try {
    model = await importOnnx(await readBytes(file));
  } catch (err) {
    throw new Error(`${file.name} is not an ONNX model vireo can run: ${err.message}`);
  }
  const shape = model.declaredInputShapes[0];
  if (shape?.length !== 4 || ![1, 3].includes(shape[1]))
    throw new Error(`${file.name}: vireo classifies images, [N, 1 or 3, H, W]; this model takes [${shape?.join(', ')}].`);
  model.eval();
  await model.to('wasm');
  const inputShape = shape.slice(1);
  const out = await model.forward(tensor(new Float32Array(inputShape.reduce((a, b) => a * b, 1)), [1, ...inputShape]));
  const n = out.shape[1];
  const meta = { inputShape, classes: Array.from({ length: n }, (_, i) => `class ${i}`), normalization: null };
  return { model, meta, label: file.name, invert: false };
}

/**
 * Places a model on the backend the user picked ('wasm' or 'webgpu'). A browser that cannot give WebGPU
 * (no navigator.gpu, no adapter) leaves the model on wasm: the returned message says so (null when placed).
 */
export async function placeModel(entry, backend) {
  if ((entry.backend ?? 'wasm') === backend) return null;
  try {
    await entry.model.to(backend);
    entry.backend = backend;
    return null;
  } catch (err) {
    await entry.model.to('wasm');
    entry.backend = 'wasm';
    return `WebGPU is not available in this browser, so pictures are classified on wasm (${err.message})`;
  }
}

/** Runs one input: probabilities, milliseconds, and the backend (and wasm build) that ran it. */
export async function classify(entry, input) {
  const t0 = performance.now();
  const out = await entry.model.forward(tensor(input, [1, ...entry.meta.inputShape]));
  const values = await out.data();
  const ms = performance.now() - t0;
  const info = (await entry.model.currentBackend()).info();
  const logits = Array.from(values);
  // A model that ends with Softmax already gives probabilities.
  const sums = logits.reduce((a, b) => a + b, 0);
  const probs = logits.every((v) => v >= 0) && Math.abs(sums - 1) < 1e-3 ? logits : softmax(logits);
  return { logits, probs, ms, backend: info.build ? `${info.name} (${info.build} build)` : info.name };
}
