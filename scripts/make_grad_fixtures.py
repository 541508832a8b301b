#!/usr/bin/python3
"""Gradient parity fixtures (Debian's python3-torch): PyTorch autograd on the small_net, edge_net and
reference_cnn fixtures in training mode, for tests/grad-parity.test.ts.

For each model, loads tests/fixtures/<name>.safetensors, switches to train() (Dropout modules kept in
eval: its random mask is not PyTorch's by design), runs the fixture's __input__ and backpropagates
L = sum(r * y) for a fixed random r. Writes tests/fixtures/<name>.grad.safetensors with:
  __input__, __r__, __output__ (training-mode output), grad.<param> for every parameter, and
  after.<buffer> for every buffer after the step (running statistics, num_batches_tracked).
The reference CNN runs in float64 (torch 1.13's float32 CPU backward of its conv1/conv2 weights is off
by up to ~10% of the largest gradient, see make_train_fixtures.py) and, to keep the file small, stores a
gradient of more than 65,536 values as grad.<param>.sampled (every stride-th value, the stride odd so it
crosses columns, in the metadata as stride.<param>) plus grad.<param>.stats = [sum, sum of |g|] over all.
Deterministic (fixed seed, one thread). Run: /usr/bin/python3 scripts/make_grad_fixtures.py
"""
import os
import sys
import warnings
from collections import OrderedDict

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import FIXTURES, edge_net, load_safetensors, reference_cnn, save_safetensors, small_net  # noqa: E402


SAMPLE_ABOVE = 65536


def write(name, model, float64=False):
    state, _ = load_safetensors(os.path.join(FIXTURES, f'{name}.safetensors'))
    model.load_state_dict(state)
    io, _ = load_safetensors(os.path.join(FIXTURES, f'{name}.io.safetensors'))
    x = io['__input__']
    if float64:
        model.double()
        x = x.double()
    model.train()
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.eval()
    y = model(x)
    r = torch.randn(y.shape, dtype=y.dtype)
    (y * r).sum().backward()
    f32 = lambda t: t.detach().float().clone()  # noqa: E731
    out = OrderedDict(__input__=f32(x), __r__=f32(r), __output__=f32(y))
    meta = OrderedDict(producer='scripts/make_grad_fixtures.py', torch=torch.__version__, model=name)
    for k, p in model.named_parameters():
        g = p.grad.detach().reshape(-1)
        if float64 and g.numel() > SAMPLE_ABOVE:
            stride = (-(-g.numel() // 16384)) | 1
            out[f'grad.{k}.sampled'] = f32(g[::stride])
            out[f'grad.{k}.stats'] = torch.tensor([float(g.sum()), float(g.abs().sum())], dtype=torch.float64)
            meta[f'stride.{k}'] = str(stride)
        else:
            out[f'grad.{k}'] = f32(p.grad)
    for k, b in model.named_buffers():
        out[f'after.{k}'] = b.detach().clone() if b.dtype == torch.int64 else f32(b)
    save_safetensors(os.path.join(FIXTURES, f'{name}.grad.safetensors'), out, meta)
    print(name, 'output', tuple(y.shape), 'max |grad|', max(float(p.grad.abs().max()) for p in model.parameters()))


def main():
    warnings.filterwarnings('ignore', message="Using padding='same' with even kernel")  # edge_net does that on purpose
    torch.manual_seed(20240612)
    torch.set_num_threads(1)
    write('small_net', small_net())
    write('edge_net', edge_net())
    write('reference_cnn', reference_cnn(), float64=True)


if __name__ == '__main__':
    main()
