#!/usr/bin/python3
"""PyTorch parity fixtures for vireo's tests (run with Debian's python3-torch: `npm run fixtures`).

Writes, into tests/fixtures/ (deterministic: torch.manual_seed is fixed, one thread):

  reference_cnn.safetensors     state dict of the issue's reference CNN (conv1 .. fc3), float32
  reference_cnn.io.safetensors  __input__ [4, 3, 32, 32] and PyTorch's eval-mode __output__ [4, 10]
  small_net.safetensors         state dict of a small net: BatchNorm2d with trained running stats,
                                stride-2 and depthwise convolutions, ReLU6, pooling with ceil mode /
                                count_include_pad=False, residual blocks (vireo's nn.Residual
                                naming: block.main.0.weight, block.shortcut.0.weight), AdaptiveAvgPool2d,
                                Flatten, Dropout, Linear; includes the I64 num_batches_tracked buffers
  small_net.io.safetensors      __input__ [2, 3, 33, 33] and __output__ [2, 10]
  edge_net.safetensors          'same' padding with an even kernel, dilation, groups=2, non-square
                                kernels/strides, LeakyReLU, Tanh, Sigmoid, ceil-mode AvgPool2d counting
                                padding, dilated MaxPool2d, Linear without bias, Softmax
  edge_net.io.safetensors       __input__ [2, 3, 15, 17] and __output__ [2, 5]
  dtypes.safetensors            one small tensor per dtype (F16, BF16, I64, F64, I32, I16, I8, U8,
                                BOOL) with its exact float32 value beside it as '<name>.f32',
                                plus metadata and names whose order is not alphabetical

The python `safetensors` package is not installed here, so the format is written and read by hand,
following https://github.com/huggingface/safetensors (format section): an unsigned little-endian
64-bit header length N, N bytes of UTF-8 JSON {name: {dtype, shape, data_offsets: [begin, end]}}
with an optional "__metadata__" map of string -> string, padded with spaces to 8-byte alignment,
then the tensor bytes (little-endian, row-major), offsets relative to the end of the header.
`load_safetensors` checks what the Rust library checks (contiguous offsets from 0 that cover the
whole data section, sizes matching dtype x shape, string-only metadata), so a file it accepts is one
safetensors.torch.load_file accepts. tests/safetensors.test.ts imports this module to read the files
vireo writes.
"""

import json
import os
import struct
import sys
import warnings
from collections import OrderedDict

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, '..', 'tests', 'fixtures')

# dtype name -> (torch dtype, numpy little-endian dtype used for the bytes)
DTYPES = OrderedDict(
    F64=(torch.float64, '<f8'),
    F32=(torch.float32, '<f4'),
    F16=(torch.float16, '<f2'),
    BF16=(torch.bfloat16, '<i2'),  # numpy has no bfloat16: move the raw 16-bit patterns
    I64=(torch.int64, '<i8'),
    I32=(torch.int32, '<i4'),
    I16=(torch.int16, '<i2'),
    I8=(torch.int8, 'i1'),
    U8=(torch.uint8, 'u1'),
    BOOL=(torch.bool, '?'),
)
DTYPE_OF_TORCH = {v[0]: k for k, v in DTYPES.items()}
MAX_HEADER = 100_000_000


class SafetensorsError(ValueError):
    pass


def tensor_bytes(t):
    t = t.detach().cpu().contiguous()
    name = DTYPE_OF_TORCH.get(t.dtype)
    if name is None:
        raise SafetensorsError(f'dtype {t.dtype} has no safetensors name')
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().astype('<i2').tobytes()
    return t.numpy().astype(DTYPES[name][1]).tobytes()


def save_safetensors(path, tensors, metadata=None):
    """Writes an ordered name -> tensor mapping; tensors are stored in the given order."""
    header = OrderedDict()
    if metadata:
        header['__metadata__'] = OrderedDict((str(k), str(v)) for k, v in metadata.items())
    blobs = []
    offset = 0
    for name, t in tensors.items():
        b = tensor_bytes(t)
        header[name] = OrderedDict(dtype=DTYPE_OF_TORCH[t.dtype], shape=list(t.shape), data_offsets=[offset, offset + len(b)])
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(',', ':'), ensure_ascii=False).encode('utf-8')
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def load_safetensors(path):
    """Reads a safetensors file strictly; returns (OrderedDict name -> tensor in header order, metadata)."""
    with open(path, 'rb') as f:
        data = f.read()
    if len(data) < 8:
        raise SafetensorsError(f'{path}: {len(data)} bytes is too short')
    (n,) = struct.unpack('<Q', data[:8])
    if n > MAX_HEADER or 8 + n > len(data):
        raise SafetensorsError(f'{path}: header length {n} runs past the end of the file')
    raw = data[8:8 + n]
    if not raw.startswith(b'{'):
        raise SafetensorsError(f'{path}: header does not start with {{')
    header = json.loads(raw.decode('utf-8'), object_pairs_hook=OrderedDict)
    metadata = header.pop('__metadata__', OrderedDict())
    if not isinstance(metadata, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise SafetensorsError(f'{path}: __metadata__ must map strings to strings')
    buf = data[8 + n:]
    end = 0
    for name, info in sorted(header.items(), key=lambda kv: tuple(kv[1]['data_offsets'])):
        if set(info) != {'dtype', 'shape', 'data_offsets'}:
            raise SafetensorsError(f'{path}: {name}: entry keys {sorted(info)}')
        if info['dtype'] not in DTYPES:
            raise SafetensorsError(f'{path}: {name}: unknown dtype {info["dtype"]}')
        begin, stop = info['data_offsets']
        if begin != end or stop < begin:
            raise SafetensorsError(f'{path}: {name}: data_offsets {info["data_offsets"]} are not contiguous (expected begin {end})')
        count = int(np.prod(info['shape'], dtype=np.int64))
        if stop - begin != count * np.dtype(DTYPES[info['dtype']][1]).itemsize:
            raise SafetensorsError(f'{path}: {name}: {stop - begin} bytes for {info["dtype"]} {info["shape"]}')
        end = stop
    if end != len(buf):
        raise SafetensorsError(f'{path}: tensors cover {end} of {len(buf)} data bytes')
    out = OrderedDict()
    for name, info in header.items():
        torch_dtype, np_dtype = DTYPES[info['dtype']]
        begin, stop = info['data_offsets']
        arr = np.frombuffer(buf[begin:stop], dtype=np_dtype).copy().reshape(info['shape'])
        t = torch.from_numpy(arr.astype(arr.dtype.newbyteorder('=')))
        out[name] = t.view(torch.bfloat16) if info['dtype'] == 'BF16' else t.to(torch_dtype)
    return out, metadata


# ---- models -------------------------------------------------------------------------------------

def reference_cnn():
    """The issue's reference CNN (CIFAR-10 classic), with the same child names."""
    return nn.Sequential(OrderedDict([
        ('conv1', nn.Conv2d(3, 64, 3, padding=1)), ('relu1', nn.ReLU()), ('pool1', nn.MaxPool2d(2)),
        ('conv2', nn.Conv2d(64, 128, 3, padding=1)), ('relu2', nn.ReLU()), ('pool2', nn.MaxPool2d(2)),
        ('conv3', nn.Conv2d(128, 256, 3, padding=1)), ('relu3', nn.ReLU()), ('pool3', nn.MaxPool2d(2)),
        ('flatten', nn.Flatten()),
        ('fc1', nn.Linear(4096, 1024)), ('relu4', nn.ReLU()),
        ('fc2', nn.Linear(1024, 512)), ('relu5', nn.ReLU()),
        ('fc3', nn.Linear(512, 10)),
    ]))


class Residual(nn.Module):
    """vireo's nn.Residual(main, shortcut?): main(x) + shortcut(x), identity when no shortcut."""

    def __init__(self, main, shortcut=None):
        super().__init__()
        self.main = main
        if shortcut is not None:
            self.shortcut = shortcut

    def forward(self, x):
        return self.main(x) + (self.shortcut(x) if hasattr(self, 'shortcut') else x)


def small_net():
    """BatchNorm, stride-2 and depthwise convs, ReLU6, residuals; channel counts not multiples of 4.
    tests/parity.test.ts builds the same model with vireo's nn API."""
    return nn.Sequential(OrderedDict([
        ('stem', nn.Conv2d(3, 10, 3, stride=2, padding=1, bias=False)),
        ('bn0', nn.BatchNorm2d(10)),
        ('act0', nn.ReLU6()),
        ('pool', nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)),
        ('block1', Residual(nn.Sequential(
            nn.Conv2d(10, 10, 3, padding=1, groups=10, bias=False),
            nn.BatchNorm2d(10),
            nn.ReLU6(),
            nn.Conv2d(10, 10, 1, bias=False),
            nn.BatchNorm2d(10),
        ))),
        ('smooth', nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)),
        ('block2', Residual(
            nn.Sequential(
                nn.Conv2d(10, 10, 3, stride=2, padding=1, groups=10, bias=False),
                nn.BatchNorm2d(10),
                nn.ReLU6(),
                nn.Conv2d(10, 18, 1),
                nn.BatchNorm2d(18),
            ),
            nn.Sequential(nn.Conv2d(10, 18, 1, stride=2, bias=False), nn.BatchNorm2d(18)),
        )),
        ('act1', nn.ReLU6()),
        ('gap', nn.AdaptiveAvgPool2d(1)),
        ('flatten', nn.Flatten()),
        ('drop', nn.Dropout(0.2)),
        ('fc', nn.Linear(18, 10)),
    ]))


def edge_net():
    """The remaining op semantics, checked against PyTorch rather than only against vireo's reference:
    'same' padding with an even kernel (PyTorch pads the extra cell at the end), dilation, groups that
    are neither 1 nor depthwise, non-square kernels and strides, LeakyReLU, Tanh, Sigmoid, AvgPool2d in
    ceil mode counting padded cells, dilated MaxPool2d, Linear without bias, Softmax."""
    return nn.Sequential(OrderedDict([
        ('c1', nn.Conv2d(3, 6, 4, padding='same')),
        ('a1', nn.LeakyReLU(0.1)),
        ('c2', nn.Conv2d(6, 6, 3, padding=2, dilation=2, groups=2)),
        ('a2', nn.Tanh()),
        ('p1', nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True)),
        ('c3', nn.Conv2d(6, 8, (3, 1), stride=(2, 1), padding=(1, 0), bias=False)),
        ('a3', nn.Sigmoid()),
        ('p2', nn.MaxPool2d(2, stride=1, dilation=2)),
        ('gap', nn.AdaptiveAvgPool2d(1)),
        ('flatten', nn.Flatten()),
        ('fc', nn.Linear(8, 5, bias=False)),
        ('softmax', nn.Softmax(dim=1)),
    ]))


def give_batchnorm_state(model, batches=5, input_shape=(8, 3, 33, 33)):
    """Non-trivial BatchNorm: random affine parameters, then a few train-mode forwards so the running
    statistics (and num_batches_tracked) move away from their initial values."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.3, 0.3)
        model.train()
        for _ in range(batches):
            model(torch.randn(*input_shape) * 1.5 + 0.2)
    model.eval()


# ---- fixtures -----------------------------------------------------------------------------------

def write_model_fixture(name, model, x, description):
    model.eval()
    with torch.no_grad():
        y = model(x)
    meta = OrderedDict(format='pt', producer='scripts/make_fixtures.py', torch=torch.__version__, model=name, description=description)
    save_safetensors(os.path.join(FIXTURES, f'{name}.safetensors'), model.state_dict(), meta)
    save_safetensors(os.path.join(FIXTURES, f'{name}.io.safetensors'), OrderedDict(__input__=x, __output__=y), meta)
    # Check our own writer against our own reader before anything depends on the files.
    back, _ = load_safetensors(os.path.join(FIXTURES, f'{name}.safetensors'))
    for k, v in model.state_dict().items():
        assert back[k].dtype == v.dtype and torch.equal(back[k], v), k
    assert list(back) == list(model.state_dict())
    return y


def write_dtypes_fixture():
    specials16 = [0.0, -0.0, 1.0, -2.5, 0.333251953125, 65504.0, 6.103515625e-05, 5.960464477539063e-08, float('inf'), float('-inf'), float('nan')]
    tensors = OrderedDict()

    def add(name, t):
        tensors[name] = t
        tensors[name + '.f32'] = t.to(torch.float32)

    # Names deliberately out of alphabetical order: readers must keep the file's order.
    add('zeta.f16', torch.tensor(specials16, dtype=torch.float16).reshape(11, 1))
    add('alpha.bf16', torch.tensor([0.0, -0.0, 1.0, -2.5, 3.140625, 1e30, -1e-30, 9.18354961579912e-41, float('inf'), float('nan')], dtype=torch.bfloat16).reshape(2, 5))
    add('mid.i64', torch.tensor([0, -1, 42, 2 ** 40, -(2 ** 53), 123456789], dtype=torch.int64).reshape(2, 3))
    add('num_batches_tracked', torch.tensor(7, dtype=torch.int64))  # rank 0, like BatchNorm's buffer
    add('beta.f64', torch.tensor([1.0 / 3.0, -1e-300, 1e300, 2.5], dtype=torch.float64))
    add('b.i32', torch.tensor([-2 ** 31, 2 ** 31 - 1, 5, -7], dtype=torch.int32))
    add('a.i16', torch.tensor([-32768, 32767, -3], dtype=torch.int16))
    add('c.i8', torch.tensor([-128, 127, 0, -1], dtype=torch.int8))
    add('d.u8', torch.tensor([0, 255, 17], dtype=torch.uint8))
    add('e.bool', torch.tensor([True, False, True], dtype=torch.bool))
    add('empty', torch.zeros(0, 3, dtype=torch.float32))
    meta = OrderedDict(format='pt', producer='scripts/make_fixtures.py', note='each tensor X has its float32 value as X.f32', unicode='naïve ✓')
    path = os.path.join(FIXTURES, 'dtypes.safetensors')
    save_safetensors(path, tensors, meta)
    back, meta_back = load_safetensors(path)
    assert list(back) == list(tensors) and meta_back == meta
    for k, v in tensors.items():
        assert back[k].dtype == v.dtype and torch.equal(back[k].nan_to_num(), v.nan_to_num()), k


def main():
    warnings.filterwarnings('ignore', message="Using padding='same' with even kernel")  # that is the point
    torch.manual_seed(20240611)
    torch.set_num_threads(1)
    os.makedirs(FIXTURES, exist_ok=True)

    cnn = reference_cnn()
    x = torch.randn(4, 3, 32, 32)
    y = write_model_fixture('reference_cnn', cnn, x, 'issue 2 reference CNN (CIFAR-10 classic), default PyTorch init')
    print('reference_cnn: output', tuple(y.shape), 'max |y|', float(y.abs().max()))

    small = small_net()
    give_batchnorm_state(small)
    x = torch.randn(2, 3, 33, 33)
    y = write_model_fixture('small_net', small, x, 'BatchNorm2d, stride-2 and depthwise convs, ReLU6, residuals')
    print('small_net: output', tuple(y.shape), 'max |y|', float(y.abs().max()))

    edge = edge_net()
    with torch.no_grad():
        edge.fc.weight.mul_(8)  # spread the logits so the softmax output is not flat
    x = torch.randn(2, 3, 15, 17)
    y = write_model_fixture('edge_net', edge, x, 'same/dilated/grouped convs, LeakyReLU, Tanh, Sigmoid, ceil-mode pools, Softmax')
    print('edge_net: output', tuple(y.shape), 'min', float(y.min()), 'max', float(y.max()))

    write_dtypes_fixture()
    for f in sorted(os.listdir(FIXTURES)):
        print(f'{f}: {os.path.getsize(os.path.join(FIXTURES, f))} bytes')


if __name__ == '__main__':
    main()
