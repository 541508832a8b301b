#!/usr/bin/python3
"""The ONNX backbone of the web app's test tests/app-teach-onnx.test.ts, made by PyTorch 1.13 (no onnx package).

  make OUT.onnx                 exports a small classifier (conv-BN-ReLU-pool-flatten, Linear to 10; seed 0,
                                batch-norm statistics a trained network would have) in eval mode, opset 13,
                                input 'image' [N, 3, 32, 32] with a dynamic batch
  check WEIGHTS INPUTS.json     rebuilds that network, runs its features (everything but the Linear) on the
                                inputs ([3, 32, 32] each) and the head in WEIGHTS (head.weight, head.bias of
                                the app's exported weights.safetensors); prints the logits as JSON
"""
import json
import os
import sys
from collections import OrderedDict

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(__file__))
from make_fixtures import load_safetensors  # noqa: E402


def network():
    torch.manual_seed(0)
    m = nn.Sequential(OrderedDict(
        conv1=nn.Conv2d(3, 8, 3, padding=1), bn1=nn.BatchNorm2d(8), relu1=nn.ReLU(), pool1=nn.MaxPool2d(4),
        flatten=nn.Flatten(), fc=nn.Linear(512, 10)))
    with torch.no_grad():
        m.bn1.running_mean.uniform_(-0.5, 0.5)
        m.bn1.running_var.uniform_(0.5, 2.0)
    return m.eval()


def main():
    torch.set_num_threads(1)
    if sys.argv[1] == 'make':
        torch.onnx.export(network(), torch.zeros(1, 3, 32, 32), sys.argv[2], input_names=['image'],
                          output_names=['logits'], dynamic_axes={'image': {0: 'N'}, 'logits': {0: 'N'}},
                          opset_version=13)
    elif sys.argv[1] == 'check':
        features = nn.Sequential(*list(network().children())[:-1])
        weights, _ = load_safetensors(sys.argv[2])
        with open(sys.argv[3]) as f:
            x = torch.tensor(json.load(f), dtype=torch.float32).reshape(-1, 3, 32, 32)
        with torch.no_grad():
            logits = features(x) @ weights['head.weight'].T + weights['head.bias']
        print(json.dumps(logits.tolist()))
    else:
        raise SystemExit(__doc__)


if __name__ == '__main__':
    main()
