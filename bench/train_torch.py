# PyTorch side of bench/train.mjs: one training step of the reference CNN (forward, CrossEntropyLoss,
# backward, SGD momentum update) on the CPU with one thread, timed the same way (warm-up, then the median of
# timed steps). Reads the weights, input and labels vireo used (raw float32 files written by bench/train.mjs),
# so the first step's loss can be compared across engines. Prints one JSON object on stdout.
# Usage: /usr/bin/python3 bench/train_torch.py DIR WARMUP STEPS   (STEPS 0: interleaved, steps on request via stdin)
import json
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn


def main():
    folder, warmup, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(1)
    with open(os.path.join(folder, 'manifest.json')) as f:
        manifest = json.load(f)

    def read(name, shape):
        a = np.fromfile(os.path.join(folder, name), dtype=np.float32)
        return torch.from_numpy(a.copy()).reshape(shape)

    net = nn.Sequential()
    net.add_module('conv1', nn.Conv2d(3, 64, 3, padding=1))
    net.add_module('relu1', nn.ReLU())
    net.add_module('pool1', nn.MaxPool2d(2))
    net.add_module('conv2', nn.Conv2d(64, 128, 3, padding=1))
    net.add_module('relu2', nn.ReLU())
    net.add_module('pool2', nn.MaxPool2d(2))
    net.add_module('conv3', nn.Conv2d(128, 256, 3, padding=1))
    net.add_module('relu3', nn.ReLU())
    net.add_module('pool3', nn.MaxPool2d(2))
    net.add_module('flatten', nn.Flatten())
    net.add_module('fc1', nn.Linear(4096, 1024))
    net.add_module('relu4', nn.ReLU())
    net.add_module('fc2', nn.Linear(1024, 512))
    net.add_module('relu5', nn.ReLU())
    net.add_module('fc3', nn.Linear(512, 10))
    state = {t['name']: read(t['file'], t['shape']) for t in manifest['tensors']}
    net.load_state_dict(state)
    net.train()
    x = read(manifest['input']['file'], manifest['input']['shape'])
    y = read(manifest['labels']['file'], manifest['labels']['shape']).long()
    criterion = nn.CrossEntropyLoss()
    opt = torch.optim.SGD(net.parameters(), lr=manifest['lr'], momentum=manifest['momentum'])

    def step():
        opt.zero_grad()
        loss = criterion(net(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    first_loss = step()
    for _ in range(warmup):
        step()
    if steps == 0:
        # Interleaved mode: bench/train.mjs sends 'step' lines (one timed step each, answered with its ms)
        # so PyTorch's steps alternate with vireo's and machine load hits both alike; 'quit' ends.
        print(json.dumps({'engine': 'pytorch', 'version': torch.__version__, 'threads': torch.get_num_threads(),
                          'batch': int(x.shape[0]), 'firstLoss': first_loss}), flush=True)
        for line in sys.stdin:
            if line.strip() != 'step':
                break
            t0 = time.perf_counter()
            step()
            print(json.dumps({'ms': (time.perf_counter() - t0) * 1000}), flush=True)
        return
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000)
    ms = statistics.median(times)
    print(
        json.dumps(
            {
                'engine': 'pytorch',
                'version': torch.__version__,
                'threads': torch.get_num_threads(),
                'batch': int(x.shape[0]),
                'firstLoss': first_loss,
                'ms': ms,
                'minMs': min(times),
                'runs': len(times),
            }
        )
    )

if __name__ == '__main__':
    main()
