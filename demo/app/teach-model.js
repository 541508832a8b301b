// The networks Teach trains: a small CNN from scratch, or a head on a user's pretrained backbone (its layers
// frozen: requiresGrad = false, batch norm in eval mode). Shared by the training worker and its tests.
import { nn, tensor } from '../vireo.browser.js';

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
