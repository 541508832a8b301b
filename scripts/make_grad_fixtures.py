#!/usr/bin/python3
"""Gradient parity fixtures (Debian's python3-torch): PyTorch autograd on the small_net and edge_net
fixtures in training mode, for tests/grad-parity.test.ts.

For each model, loads tests/fixtures/<name>.safetensors, switches to train() (Dropout modules kept in
eval: its random mask is not PyTorch's by design), runs the fixture's __input__ and backpropagates
L = sum(r * y) for a fixed random r. Writes tests/fixtures/<name>.grad.safetensors with:
  __input__, __r__, __output__ (training-mode output), grad.<param> for every parameter, and
  after.<buffer> for every buffer after the step (running statistics, num_batches_tracked).
Deterministic (fixed seed, one thread). Run: /usr/bin/python3 scripts/make_grad_fixtures.py
"""
import os
import sys
import warnings
from collections import OrderedDict

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import FIXTURES, edge_net, load_safetensors, save_safetensors, small_net  # noqa: E402


def write(name, model):
    state, _ = load_safetensors(os.path.join(FIXTURES, f'{name}.safetensors'))
    model.load_state_dict(state)
    io, _ = load_safetensors(os.path.join(FIXTURES, f'{name}.io.safetensors'))
    x = io['__input__']
    model.train()
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.eval()
    y = model(x)
    r = torch.randn(y.shape)
    (y * r).sum().backward()
    out = OrderedDict(__input__=x, __r__=r, __output__=y.detach())
    for k, p in model.named_parameters():
        out[f'grad.{k}'] = p.grad.detach().clone()
    for k, b in model.named_buffers():
        out[f'after.{k}'] = b.detach().clone()
    meta = OrderedDict(producer='scripts/make_grad_fixtures.py', torch=torch.__version__, model=name)
    save_safetensors(os.path.join(FIXTURES, f'{name}.grad.safetensors'), out, meta)
    print(name, 'output', tuple(y.shape), 'max |grad|', max(float(p.grad.abs().max()) for p in model.parameters()))


def main():
    warnings.filterwarnings('ignore', message="Using padding='same' with even kernel")  # edge_net does that on purpose
    torch.manual_seed(20240612)
    torch.set_num_threads(1)
    write('small_net', small_net())
    write('edge_net', edge_net())


if __name__ == '__main__':
    main()
