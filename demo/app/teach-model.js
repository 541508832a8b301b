// The networks Teach trains: a small CNN from scratch, or a head on a user's pretrained backbone (its layers
// frozen: requiresGrad = false, batch norm in eval mode), a vireo model directory or an ONNX file. Shared by
// the training worker and the page.
import { importOnnx, nn, onnxWithNewHead, tensor } from '../vireo.browser.js';

/** What an ONNX backbone expects: ImageNet's normalization, as torchvision's pretrained networks do. */
export const IMAGENET = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

/**
 * Checks that an .onnx file can be Teach's backbone: it imports, and takes one square colour image of a fixed
 * size ([N, 3, S, S]). Returns { inputShape: [3, S, S] }; throws an Error with a plain message otherwise.
 */
export async function checkOnnxBackbone(bytes, fileName) {
  let model;
  try {
    model = await importOnnx(bytes);
  } catch (err) {
    throw new Error(`${fileName} is not an ONNX model vireo can read (${err.message}).`);
  }
  const dims = model.proto.inputs[0]?.dims ?? [];
  const [, c, hh, ww] = dims;
  if (dims.length !== 4 || c !== 3 || typeof hh !== 'number' || hh !== ww || hh < 8)
    throw new Error(`${fileName} takes [${dims.join(', ')}]; Teach needs a fixed square colour input, [N, 3, S, S].`);
  model.releasePlans();
  return { inputShape: [3, hh, ww] };
}

/**
 * The ONNX backbone with a new head for these classes (library: onnxWithNewHead), imported, with every
 * parameter but the head's frozen. Returns { model, onnx } (onnx: the new model's bytes, exported with it).
 */
export async function headOnOnnx(bytes, classes) {
  const withHead = await onnxWithNewHead(bytes, { classes });
  const model = await importOnnx(withHead.bytes);
  for (const [name, p] of model.namedParameters()) p.requiresGrad = name === withHead.weight || name === withHead.bias;
  return { model, onnx: withHead.bytes, output: withHead.output };
}

/**
 * Three conv blocks (16/32/64 channels, batch norm, ReLU, 2×2 max-pool), a global average pool and one linear
 * layer: about 24k parameters at any input size, small enough to learn from tens of pictures per class.
 */
export function teachCnn(classes) {
  const layers = [];
  [
    [3, 16],
    [16, 32],
    [32, 64],
  ].forEach(([cin, cout], i) => {
    layers.push([`conv${i + 1}`, new nn.Conv2d(cin, cout, 3, { padding: 1, bias: false })]);
    layers.push([`bn${i + 1}`, new nn.BatchNorm2d(cout)]);
    layers.push([`relu${i + 1}`, new nn.ReLU()]);
    layers.push([`pool${i + 1}`, new nn.MaxPool2d(2)]);
  });
  layers.push(['avgpool', new nn.AdaptiveAvgPool2d(1)], ['flatten', new nn.Flatten()], ['fc', new nn.Linear(64, classes)]);
  return new nn.Sequential(new Map(layers));
}

/**
 * backbone (a Sequential without its last Linear layer, frozen) → head (a new Linear for these classes). The
 * backbone's output size is measured with one forward pass at `inputShape`.
 */
export async function headOnBackbone(pretrained, inputShape, classes) {
  const children = pretrained.namedChildren();
  if (!(pretrained instanceof nn.Sequential) || children.length < 2)
    throw new Error('A backbone must be a Sequential model (a vireo model directory) with at least two layers.');
  const keep = children.at(-1)[1] instanceof nn.Linear ? children.slice(0, -1) : children;
  const backbone = new nn.Sequential(new Map(keep));
  backbone.eval();
  const probe = await backbone.forward(tensor(new Float32Array(inputShape.reduce((a, b) => a * b, 1)), [1, ...inputShape]));
  const features = probe.shape.slice(1).reduce((a, b) => a * b, 1);
  const head = new nn.Sequential(
    new Map([...(probe.shape.length > 2 ? [['flatten', new nn.Flatten()]] : []), ['fc', new nn.Linear(features, classes)]]),
  );
  for (const p of backbone.parameters()) p.requiresGrad = false;
  return new nn.Sequential(
    new Map([
      ['backbone', backbone],
      ['head', head],
    ]),
  );
}

/** Training mode for what Teach trains: the frozen backbone stays in eval mode (its batch-norm statistics too). */
export function trainMode(model) {
  model.train();
  const backbone = model.namedChildren().find(([name]) => name === 'backbone')?.[1];
  backbone?.eval();
}
