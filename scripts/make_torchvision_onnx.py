#!/usr/bin/python3
"""Exports torchvision classification models to ONNX for tests/onnx-torchvision.test.ts (Debian's
python3-torch 1.13 + python3-torchvision 0.14).

Usage: make_torchvision_onnx.py [--size S] OUT_DIR [NAME ...]   (S: input size, default 64; 224 for benchmarks)
       make_torchvision_onnx.py --grads OUT_DIR [NAME ...]

Writes, for each model (deterministic: fixed seeds, one thread), into OUT_DIR:

  <name>.onnx            eval-mode export with a dynamic batch (opset in the name: _o13 / _o17)
  <name>.b<N>.in.bin     a float32 input [N, 3, S, S] (little-endian, row-major), N = 1 and 2
  <name>.b<N>.out.bin    PyTorch's float32 output [N, classes] for it
  manifest.json          name -> {size, classes, opset}

With --grads, for the training-step comparison: each model with its batch norms folded into the
convolutions before them (torch.nn.utils.fusion.fuse_conv_bn_eval, so the ONNX parameters are torch's
own and training mode means the same function on both sides), exported as <name>.grad.onnx, and
<name>.grads.safetensors: __input__ [2, 3, S, S], __target__ (class indices as float32), and per
parameter `param:NAME` and `grad:NAME`: dL/dparam of the mean cross-entropy of the eval-mode model.

Weights are torchvision's random initialisation with the batch-norm affine parameters randomised, the
running statistics measured on random inputs (random statistics make deep random networks forget their input:
every image gives the same logits), and ConvNeXt's layer scale raised to O(1), so every block contributes;
the classifier is scaled so the logits vary across images with a standard deviation near 1 (a comparison of
tiny numbers, or of a bias that ignores the input, proves nothing). Widths are
reduced where torchvision's constructors allow it, so the suite fits CI time.
"""
import json
import os
import sys
from collections import OrderedDict

import torch
import torch.nn as nn
import torchvision.models as tvm
from torchvision.models.convnext import CNBlockConfig, ConvNeXt
from torchvision.models.shufflenetv2 import ShuffleNetV2

CLASSES = 10


def convnext_mini():
    setting = [CNBlockConfig(16, 32, 1), CNBlockConfig(32, 48, 1), CNBlockConfig(48, 64, 2), CNBlockConfig(64, None, 1)]
    return ConvNeXt(setting, num_classes=CLASSES)


# name -> (constructor, input size, opset)
MODELS = {
    'mobilenet_v3_small_o13': (lambda: tvm.mobilenet_v3_small(num_classes=CLASSES), 64, 13),
    'mobilenet_v3_small_o17': (lambda: tvm.mobilenet_v3_small(num_classes=CLASSES), 64, 17),
    'mobilenet_v3_large_o13': (lambda: tvm.mobilenet_v3_large(num_classes=CLASSES, width_mult=0.5), 64, 13),
    'mnasnet0_5_o13': (lambda: tvm.mnasnet0_5(num_classes=CLASSES), 64, 13),
    'shufflenet_v2_x0_5_o13': (lambda: ShuffleNetV2([2, 2, 2], [12, 24, 48, 96, 256], num_classes=CLASSES), 64, 13),
    'shufflenet_v2_x0_5_o17': (lambda: tvm.shufflenet_v2_x0_5(num_classes=CLASSES), 64, 17),
    'convnext_mini_o17': (convnext_mini, 64, 17),
    'convnext_mini_o13': (convnext_mini, 64, 13),
    'mobilenet_v2_o13': (lambda: tvm.mobilenet_v2(num_classes=CLASSES, width_mult=0.5), 64, 13),
    'efficientnet_b0_o13': (lambda: tvm.efficientnet_b0(num_classes=CLASSES), 64, 13),
    'squeezenet1_1_o13': (lambda: tvm.squeezenet1_1(num_classes=CLASSES), 64, 13),
    'resnet18_o13': (lambda: tvm.resnet18(num_classes=CLASSES), 64, 13),
    'regnet_x_400mf_o13': (lambda: tvm.regnet_x_400mf(num_classes=CLASSES), 64, 13),
    'googlenet_o13': (lambda: tvm.googlenet(num_classes=CLASSES, aux_logits=False, init_weights=True), 64, 13),
    'densenet121_o13': (lambda: tvm.densenet121(num_classes=CLASSES), 64, 13),
}


def randomise(model, gen, size=64):
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm2d, nn.LayerNorm)):
                if m.weight is not None:
                    m.weight.copy_(torch.rand(m.weight.shape, generator=gen) + 0.5)
                    m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.1)
            if isinstance(m, nn.BatchNorm2d):
                m.reset_running_stats()
                m.momentum = None  # a cumulative average over the calibration batches
            if hasattr(m, 'layer_scale') and isinstance(m.layer_scale, nn.Parameter):
                m.layer_scale.copy_(torch.rand(m.layer_scale.shape, generator=gen) * 0.5 + 0.5)
        model.train()
        for _ in range(4):
            model(torch.rand(8, 3, size, size, generator=gen) * 2 - 1)
        model.eval()


def fold_batch_norms(module):
    """Replaces each Conv2d directly followed by a BatchNorm2d (in a container) with the folded conv."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    children = list(module.named_children())
    for (name, child), (next_name, nxt) in zip(children, children[1:]):
        if isinstance(child, nn.Conv2d) and isinstance(nxt, nn.BatchNorm2d):
            setattr(module, name, fuse_conv_bn_eval(child, nxt))
            setattr(module, next_name, nn.Identity())
    for _, child in module.named_children():
        fold_batch_norms(child)


def grads(out, names):
    sys.path.insert(0, os.path.dirname(__file__))
    from make_fixtures import save_safetensors

    for name in names:
        make, size, opset = MODELS[name]
        torch.manual_seed(0)
        model = make().eval()
        gen = torch.Generator().manual_seed(1)
        randomise(model, gen, size)
        fold_batch_norms(model)
        assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules()), f'{name}: a batch norm was not folded'
        # Distinct values in every tensor (torchvision zeroes its biases), so the test can match parameters by value.
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn(p.shape, generator=gen) * 0.01)
        x = torch.rand(2, 3, size, size, generator=gen) * 2 - 1
        target = torch.tensor([1, 3])
        torch.onnx.export(
            model, x, os.path.join(out, f'{name}.grad.onnx'), opset_version=opset, input_names=['input'], output_names=['logits']
        )
        loss = nn.functional.cross_entropy(model(x), target)
        loss.backward()
        tensors = OrderedDict([('__input__', x), ('__target__', target.float())])
        for pname, p in model.named_parameters():
            tensors[f'param:{pname}'] = p.detach()
            tensors[f'grad:{pname}'] = p.grad.detach()
        save_safetensors(os.path.join(out, f'{name}.grads.safetensors'), tensors)


def main():
    if sys.argv[1] == '--grads':
        torch.set_num_threads(1)
        os.makedirs(sys.argv[2], exist_ok=True)
        grads(sys.argv[2], sys.argv[3:])
        return
    args = sys.argv[1:]
    size_override = None
    if args[0] == '--size':
        size_override = int(args[1])
        args = args[2:]
    out = args[0]
    names = args[1:] or list(MODELS)
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    manifest = {}
    for name in names:
        make, size, opset = MODELS[name]
        size = size_override or size
        torch.manual_seed(0)
        model = make().eval()
        gen = torch.Generator().manual_seed(1)
        randomise(model, gen, size)
        x = {n: torch.rand(n, 3, size, size, generator=gen) * 2 - 1 for n in (1, 2)}
        with torch.no_grad():
            y = model(torch.rand(8, 3, size, size, generator=gen) * 2 - 1)
            # Scale the last linear layer so the logits vary across images by O(1).
            last = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))][-1]
            s = float(y.std(dim=0).mean())
            if s > 0:
                last.weight.mul_(1 / s)
                if last.bias is not None:
                    last.bias.mul_(1 / s)
        path = os.path.join(out, f'{name}.onnx')
        torch.onnx.export(
            model,
            x[1],
            path,
            opset_version=opset,
            input_names=['input'],
            output_names=['logits'],
            dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}},
        )
        with torch.no_grad():
            for n, xn in x.items():
                xn.numpy().astype('<f4').tofile(os.path.join(out, f'{name}.b{n}.in.bin'))
                model(xn).numpy().astype('<f4').tofile(os.path.join(out, f'{name}.b{n}.out.bin'))
        manifest[name] = {'size': size, 'classes': CLASSES, 'opset': opset}
    with open(os.path.join(out, 'manifest.json'), 'w') as f:
        json.dump(manifest, f, indent=1)


if __name__ == '__main__':
    main()
