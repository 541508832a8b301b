#!/usr/bin/python3
"""PyTorch oracle for the ONNX tensor ops (tests/tensor-ops-torch.test.ts).

The wasm backend runs constant, concat, transpose, pad, matmul, unaryGrad and the broadcasts that are
neither equal shapes nor a per-channel/per-row/scalar operand with the reference backend's code, so
comparing wasm with the reference there only shows it does not crash. This script computes each case
with PyTorch instead; the test runs it on every backend, the reference included.

Writes tests/fixtures/tensor_ops.safetensors: <case>.in<i> (inputs; for `constant`, the parameter) and
<case>.out (PyTorch's result), all float32, and in the metadata 'cases': a JSON list of
{name, op, attrs, inputs} in vireo's IR terms (attrs as vireo's ops take them; null stands for an
infinite clip bound). Deterministic (fixed seed, one thread). Run: /usr/bin/python3 scripts/make_op_fixtures.py
"""
import json
import os
import sys
from collections import OrderedDict

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import FIXTURES, save_safetensors  # noqa: E402


def binary(kind, a, b, note=''):
    return {'name': f'binary {kind} [{",".join(map(str, a))}] by [{",".join(map(str, b))}]{note}', 'op': 'binary',
            'attrs': {'kind': kind}, 'inputs': [a, b]}


# The same cases as tests/cases/tensor-ops.ts (odd sizes, every broadcast the importer produces), plus
# the backward nodes autodiff emits for them (unaryGrad; pad with negative pads crops concat's gradient).
CASES = [
    binary('add', [2, 5, 7, 9], [2, 5, 7, 9], ' (residual)'),
    binary('mul', [3, 37], [3, 37]),
    binary('add', [2, 6, 5, 7], [6, 1, 1], ' (per channel)'),
    binary('mul', [1, 13, 3, 3], [1, 13, 1, 1], ' (per channel)'),
    binary('sub', [2, 3, 5, 5], [1], ' (scalar)'),
    binary('div', [2, 3, 4, 5], [5]),
    binary('sub', [3, 1], [1, 4], ' (outer)'),
    binary('sub', [1], [2, 3, 5, 5], ' (scalar on the left)'),
    binary('div', [2, 5, 1, 1], [2, 5, 6, 7], ' (per channel on the left)'),
    binary('sub', [3, 11, 13], [3, 11, 13]),
    binary('div', [2, 9, 5], [9, 1], ' (per row)'),
    binary('div', [7], [2, 3, 7], ' (left broadcast)'),
    binary('add', [2, 6, 1, 5], [6, 3, 1], ' (both broadcast)'),
    binary('mul', [4, 1, 3], [1, 5, 1], ' (both broadcast)'),
    {'name': 'constant [3, 4]', 'op': 'constant', 'attrs': {'shape': [3, 4]}, 'inputs': []},
    {'name': 'concat channels', 'op': 'concat', 'attrs': {'axis': 1}, 'inputs': [[2, 3, 4, 5], [2, 5, 4, 5], [2, 1, 4, 5]]},
    {'name': 'concat last axis', 'op': 'concat', 'attrs': {'axis': -1}, 'inputs': [[3, 2], [3, 7]]},
    {'name': 'concat axis 0', 'op': 'concat', 'attrs': {'axis': 0}, 'inputs': [[1, 3, 2], [4, 3, 2]]},
    {'name': 'transpose NCHW to NHWC', 'op': 'transpose', 'attrs': {'perm': [0, 2, 3, 1]}, 'inputs': [[2, 3, 5, 7]]},
    {'name': 'transpose NHWC to NCHW', 'op': 'transpose', 'attrs': {'perm': [0, 3, 1, 2]}, 'inputs': [[2, 5, 7, 3]]},
    {'name': 'transpose 2d', 'op': 'transpose', 'attrs': {'perm': [1, 0]}, 'inputs': [[9, 13]]},
    {'name': 'pad spatial asymmetric', 'op': 'pad', 'attrs': {'pads': [0, 0, 1, 2, 0, 0, 3, 0], 'value': 0.5},
     'inputs': [[2, 3, 4, 5]]},
    {'name': 'pad crop (negative)', 'op': 'pad', 'attrs': {'pads': [0, -1, 1, 0, 0, 1, -2, 2], 'value': 0},
     'inputs': [[1, 4, 6, 3]]},
    {'name': 'pad crop channels (concat gradient)', 'op': 'pad', 'attrs': {'pads': [0, -3, 0, 0, 0, -2, 0, 0], 'value': 0},
     'inputs': [[2, 9, 4, 5]]},
    {'name': 'clip -0.5..1.5', 'op': 'unary', 'attrs': {'kind': 'clip', 'min': -0.5, 'max': 1.5}, 'inputs': [[3, 5, 7]]},
    {'name': 'clip min only', 'op': 'unary', 'attrs': {'kind': 'clip', 'min': 0.25, 'max': None}, 'inputs': [[37]]},
    {'name': 'hardSwish', 'op': 'unary', 'attrs': {'kind': 'hardSwish', 'min': 0, 'max': 0}, 'inputs': [[2, 3, 9, 9]]},
    {'name': 'clip gradient', 'op': 'unaryGrad', 'attrs': {'kind': 'clip', 'min': -0.5, 'max': 0.8}, 'inputs': [[2, 3, 5], [2, 3, 5]]},
    {'name': 'hardSwish gradient', 'op': 'unaryGrad', 'attrs': {'kind': 'hardSwish', 'min': 0, 'max': 0},
     'inputs': [[3, 4, 5], [3, 4, 5]]},
    {'name': 'matmul 2d', 'op': 'matmul', 'attrs': {}, 'inputs': [[5, 7], [7, 3]]},
    {'name': 'matmul batched broadcast', 'op': 'matmul', 'attrs': {}, 'inputs': [[2, 3, 4, 6], [3, 6, 5]]},
    {'name': 'matmul vector-shaped', 'op': 'matmul', 'attrs': {}, 'inputs': [[1, 17], [17, 1]]},
]

# The activations and selections of ONNX breadth II (tests/cases/onnx-select.ts), their gradients and the
# value-dependent backward ops (binaryGrad before the sum to a broadcast operand's shape, reduceMaxGrad).
SELU = {'alpha': 1.6732632423543772, 'beta': 1.0507009873554805}


def u(kind, shape, note='', **extra):
    return {'name': f'unary {kind}{note} [{",".join(map(str, shape))}]', 'op': 'unary',
            'attrs': {'kind': kind, 'min': 0, 'max': 0, **extra}, 'inputs': [shape]}


def ug(kind, shape, note='', **extra):
    return {'name': f'unaryGrad {kind}{note} [{",".join(map(str, shape))}]', 'op': 'unaryGrad',
            'attrs': {'kind': kind, 'min': 0, 'max': 0, **extra}, 'inputs': [shape, shape]}


def bg(kind, operand, a, b):
    out = list(torch.broadcast_shapes(tuple(a), tuple(b)))
    return {'name': f'binaryGrad {kind} d{"ab"[operand]} [{",".join(map(str, a))}] by [{",".join(map(str, b))}]',
            'op': 'binaryGrad', 'attrs': {'kind': kind, 'operand': operand}, 'inputs': [out, a, b]}


CASES += [
    u('elu', [3, 5, 7], alpha=1),
    u('elu', [37], ' alpha 0.3', alpha=0.3),
    u('selu', [3, 11], **SELU),
    u('softplus', [2, 3, 13]),
    u('softplus', [45], ' wide', scale=15),
    u('mish', [3, 17]),
    u('mish', [45], ' wide', scale=15),
    ug('elu', [2, 3, 7], alpha=0.5),
    ug('selu', [3, 7], **SELU),
    ug('softplus', [2, 9]),
    ug('mish', [23], scale=4),
    binary('prelu', [2, 6, 5, 3], [6, 1, 1], ' (per channel)'),
    binary('prelu', [3, 13], [1], ' (one slope)'),
    bg('prelu', 0, [2, 4, 3, 3], [4, 1, 1]),
    bg('prelu', 1, [2, 4, 3, 3], [4, 1, 1]),
    bg('max', 0, [2, 3, 5], [3, 1]),
    bg('max', 1, [2, 3, 5], [3, 1]),
    bg('min', 0, [4, 5], [4, 5]),
    bg('pow', 0, [3, 5], [5]),
    bg('pow', 1, [3, 5], [5]),
    {'name': 'where broadcast', 'op': 'where', 'attrs': {}, 'inputs': [[3, 1], [2, 3, 7], [7]]},
    {'name': 'gather axis 1 2-D indices', 'op': 'gather', 'attrs': {'axis': 1, 'indices': [5, 1, 0, 2], 'indicesShape': [2, 2]},
     'inputs': [[2, 6, 5]]},
    {'name': 'gather axis 0 repeated', 'op': 'gather', 'attrs': {'axis': 0, 'indices': [4, 0, 4], 'indicesShape': [3]},
     'inputs': [[5, 7, 3]]},
    {'name': 'reduceMaxGrad axes [1, 3]', 'op': 'reduceMaxGrad', 'attrs': {'kind': 'max', 'axes': [1, 3], 'keepdims': True},
     'inputs': [[2, 1, 4, 1], [2, 3, 4, 5], [2, 1, 4, 1]]},
]


def onnx_pad(x, pads, value):
    """ONNX pads [b_0 .. b_{r-1}, e_0 .. e_{r-1}] (negative crops) as F.pad's last-dimension-first pairs."""
    r = x.dim()
    pairs = []
    for d in reversed(range(r)):
        pairs += [pads[d], pads[r + d]]
    return F.pad(x, pairs, mode='constant', value=value)


def unary(kind, lo, hi, x, a=None):
    if kind == 'hardSwish':
        return F.hardswish(x)
    if kind == 'elu':
        return F.elu(x, alpha=a['alpha'])
    if kind == 'selu':
        return F.selu(x)
    if kind == 'softplus':
        return F.softplus(x)
    if kind == 'mish':
        return F.mish(x)
    return torch.clamp(x, min=lo, max=hi)


def binary_fn(kind, a, b):
    if kind == 'prelu':
        return F.prelu(a, b.flatten()) if b.dim() > 1 else F.prelu(a, b)
    return {'add': torch.add, 'sub': torch.sub, 'mul': torch.mul, 'div': torch.div, 'max': torch.maximum,
            'min': torch.minimum, 'pow': torch.pow}[kind](a, b)


def compute(c, xs):
    op, a = c['op'], c['attrs']
    if op == 'binary':
        return binary_fn(a['kind'], xs[0], xs[1])
    if op == 'binaryGrad':
        # The derivative at the output's shape: each operand expanded to it first, so nothing is summed.
        dy, p, q = xs
        pe = p.expand(dy.shape).clone().requires_grad_(True)
        qe = q.expand(dy.shape).clone().requires_grad_(True)
        if a['kind'] == 'prelu':
            # F.prelu takes one slope per channel; at the output's shape the slope is per element.
            y = torch.where(pe > 0, pe, pe * qe)
        else:
            y = binary_fn(a['kind'], pe, qe)
        y.backward(dy)
        return (pe, qe)[a['operand']].grad
    if op == 'where':
        return torch.where(xs[0] != 0, xs[1], xs[2])
    if op == 'gather':
        idx = torch.tensor(a['indices'])
        x = xs[0]
        g = x.index_select(a['axis'], idx)
        return g.reshape(*x.shape[:a['axis']], *a['indicesShape'], *x.shape[a['axis'] + 1:])
    if op == 'reduceMaxGrad':
        dy, x, _ = xs
        x = x.clone().requires_grad_(True)
        torch.amax(x, dim=a['axes'], keepdim=True).backward(dy)
        return x.grad
    if op == 'constant':
        return xs[0].clone()
    if op == 'concat':
        return torch.cat(xs, dim=a['axis'])
    if op == 'transpose':
        return xs[0].permute(*a['perm']).contiguous()
    if op == 'pad':
        return onnx_pad(xs[0], a['pads'], a['value'])
    if op == 'unary':
        return unary(a['kind'], a['min'], a['max'], xs[0], a)
    if op == 'unaryGrad':
        dy, x = xs
        x = x.clone().requires_grad_(True)
        unary(a['kind'], a['min'], a['max'], x, a).backward(dy)
        return x.grad
    if op == 'matmul':
        return torch.matmul(xs[0], xs[1])
    raise ValueError(op)


def main():
    torch.manual_seed(20260607)
    torch.set_num_threads(1)
    out = OrderedDict()
    for c in CASES:
        shapes = [c['attrs']['shape']] if c['op'] == 'constant' else c['inputs']
        xs = [torch.randn(*s) * c.get('scale', 2) for s in shapes]
        if c['op'] == 'binary' and c['attrs']['kind'] == 'div':
            xs[1] = xs[1].sign() * (xs[1].abs() + 0.5)  # keep divisors away from 0
        if c['op'] == 'binaryGrad' and c['attrs']['kind'] == 'pow':
            xs[1] = xs[1].abs() + 0.25  # a positive base
        if c['op'] == 'where':
            xs[0] = (xs[0] > 0).float()  # a 0/1 condition
        if c['op'] == 'reduceMaxGrad':
            xs[2] = torch.amax(xs[1], dim=c['attrs']['axes'], keepdim=True)  # Y is the forward's maximum
        grad = c['op'] in ('unaryGrad', 'binaryGrad', 'reduceMaxGrad')
        with torch.no_grad() if not grad else torch.enable_grad():
            y = compute(c, xs)
        for i, x in enumerate(xs):
            out[f"{c['name']}.in{i}"] = x
        out[f"{c['name']}.out"] = y.detach()
    meta = OrderedDict(producer='scripts/make_op_fixtures.py', torch=torch.__version__, cases=json.dumps(CASES))
    save_safetensors(os.path.join(FIXTURES, 'tensor_ops.safetensors'), out, meta)
    print('wrote', len(CASES), 'cases')


if __name__ == '__main__':
    main()
