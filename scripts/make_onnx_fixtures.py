#!/usr/bin/python3
"""ONNX fixtures for vireo's import tests and bench/onnx.mjs (Debian's python3-torch 1.13 + python3-onnx 1.12).

Writes, into tests/fixtures/onnx/ (deterministic: fixed seeds, one thread):

  reference_cnn.onnx     the issue's reference CNN with the weights of tests/fixtures/reference_cnn.safetensors,
                         opset 9, dynamic batch; torch.flatten exported as Flatten (~20 MB, the one large file)
  resnet_mini.onnx       ResNet-style: conv-BN-ReLU stem, two residual blocks (identity and 1x1 stride-2
                         shortcut; Add), a BatchNorm after the last residual add (kept: not after a conv),
                         GlobalAveragePool, x.view(x.size(0), -1) (a Shape/Gather/Unsqueeze/Concat/Reshape
                         chain with a dynamic batch), Linear; opset 13
  mobilenet_mini.onnx    MobileNet-style: stride-2 stem with ReLU6 (Clip 0..6), inverted residual blocks
                         (1x1 expand, 3x3 depthwise, 1x1 linear projection, residual add), HardSwish,
                         adaptive average pool, Dropout (removed in eval export), Linear; opset 17
  <name>.io.safetensors  __input__ [2, 3, 32, 32] and PyTorch's eval-mode __output__ (BN with trained
                         running statistics), for checks without onnxruntime
"""
import os
import sys
from collections import OrderedDict

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(__file__))
from make_fixtures import load_safetensors, reference_cnn, save_safetensors  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), '..', 'tests', 'fixtures')
OUT = os.path.join(ROOT, 'onnx')


def conv_bn(cin, cout, k=3, stride=1, groups=1, act=nn.ReLU):
    layers = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    if act is not None:
        layers.append(act())
    return nn.Sequential(*layers)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = conv_bn(cin, cout, 3, stride)
        self.conv2 = conv_bn(cout, cout, 3, 1, act=None)
        self.shortcut = conv_bn(cin, cout, 1, stride, act=None) if stride != 1 or cin != cout else nn.Identity()
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.conv2(self.conv1(x)) + self.shortcut(x))


class ResNetMini(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.stem = conv_bn(3, 16)
        self.layer1 = BasicBlock(16, 16, 1)
        self.layer2 = BasicBlock(16, 32, 2)
        self.bn_out = nn.BatchNorm2d(32)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(32, classes)

    def forward(self, x):
        x = self.layer2(self.layer1(self.stem(x)))
        x = torch.relu(self.bn_out(x))
        x = self.pool(x)
        return self.fc(x.view(x.size(0), -1))


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand, act=nn.ReLU6):
        super().__init__()
        hidden = cin * expand
        self.block = nn.Sequential(
            conv_bn(cin, hidden, 1, act=act),
            conv_bn(hidden, hidden, 3, stride, groups=hidden, act=act),
            conv_bn(hidden, cout, 1, act=None),
        )
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.block(x)
        return x + y if self.residual else y


class MobileNetMini(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.features = nn.Sequential(
            conv_bn(3, 16, 3, 2, act=nn.ReLU6),
            InvertedResidual(16, 16, 1, 1),
            InvertedResidual(16, 24, 2, 4),
            InvertedResidual(24, 24, 1, 4),
            InvertedResidual(24, 32, 2, 4, act=nn.Hardswish),
            conv_bn(32, 64, 1, act=nn.Hardswish),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(0.2), nn.Linear(64, classes))

    def forward(self, x):
        return self.classifier(self.pool(self.features(x)))


def train_bn_stats(model, batches=4):
    """Gives BatchNorm layers non-trivial running statistics (and so non-trivial folded weights)."""
    model.train()
    with torch.no_grad():
        for _ in range(batches):
            model(torch.randn(8, 3, 32, 32) * 1.5 + 0.2)
    model.eval()


def export(name, model, opset):
    model.eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        y = model(x)
    path = os.path.join(OUT, f'{name}.onnx')
    torch.onnx.export(
        model, x, path, opset_version=opset, input_names=['input'], output_names=['logits'],
        dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}}, do_constant_folding=True,
    )
    save_safetensors(os.path.join(OUT, f'{name}.io.safetensors'), OrderedDict(__input__=x, __output__=y))
    import onnx
    m = onnx.load(path)
    onnx.checker.check_model(m)
    ops = sorted({n.op_type for n in m.graph.node})
    print(f'{name}: opset {opset}, {os.path.getsize(path)} bytes, ops {ops}')


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    cnn = reference_cnn()
    state, _ = load_safetensors(os.path.join(ROOT, 'reference_cnn.safetensors'))
    cnn.load_state_dict(state)
    export('reference_cnn', cnn, 9)
    torch.manual_seed(1)
    resnet = ResNetMini()
    train_bn_stats(resnet)
    export('resnet_mini', resnet, 13)
    torch.manual_seed(2)
    mobilenet = MobileNetMini()
    train_bn_stats(mobilenet)
    export('mobilenet_mini', mobilenet, 17)


if __name__ == '__main__':
    main()
