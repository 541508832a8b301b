#!/usr/bin/python3
"""PyTorch fixtures for the training pieces (losses, optimizers, clipping, LR schedules).

Run with Debian's torch: /usr/bin/python3 scripts/make_train_fixtures.py
Writes tests/fixtures/train/*.json (small: a few tensors of a few values each).
"""
import json
import math
import os

import torch

torch.manual_seed(0)
OUT = os.path.join(os.path.dirname(__file__), '..', 'tests', 'fixtures', 'train')
os.makedirs(OUT, exist_ok=True)


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def dump(name, obj):
    with open(os.path.join(OUT, name), 'w') as f:
        json.dump(obj, f, indent=1)
        f.write('\n')


# ---------------------------------------------------------------- losses
def losses():
    n, c = 6, 4
    logits = torch.randn(n, c) * 2
    labels = torch.tensor([0, 3, 1, 1, 2, 3])
    weight = torch.tensor([0.5, 2.0, 1.0, 0.25])
    cases = []
    for ls in (0.0, 0.1, 0.3):
        for w in (None, weight):
            for red in ('mean', 'sum'):
                x = logits.clone().requires_grad_(True)
                loss = torch.nn.CrossEntropyLoss(weight=w, label_smoothing=ls, reduction=red)(x, labels)
                loss.backward()
                cases.append({
                    'labelSmoothing': ls,
                    'weight': None if w is None else flat(w),
                    'reduction': red,
                    'loss': float(loss),
                    'grad': flat(x.grad),
                })
    ignore_labels = torch.tensor([0, -100, 1, 3, -100, 2])
    ignore_cases = []
    for ls in (0.0, 0.2):
        for w in (None, weight):
            for red in ('mean', 'sum'):
                x = logits.clone().requires_grad_(True)
                loss = torch.nn.CrossEntropyLoss(weight=w, label_smoothing=ls, reduction=red)(x, ignore_labels)
                loss.backward()
                ignore_cases.append({'labelSmoothing': ls, 'weight': None if w is None else flat(w), 'reduction': red,
                                     'loss': float(loss), 'grad': flat(x.grad)})
    pred = torch.randn(3, 5)
    target = torch.randn(3, 5)
    mse = []
    for red in ('mean', 'sum'):
        x = pred.clone().requires_grad_(True)
        loss = torch.nn.MSELoss(reduction=red)(x, target)
        loss.backward()
        mse.append({'reduction': red, 'loss': float(loss), 'grad': flat(x.grad)})
    dump('losses.json', {
        'crossEntropy': {'n': n, 'c': c, 'logits': flat(logits), 'labels': flat(labels.float()), 'cases': cases},
        'crossEntropyIgnore': {'labels': flat(ignore_labels.float()), 'cases': ignore_cases},
        'mse': {'shape': [3, 5], 'input': flat(pred), 'target': flat(target), 'cases': mse},
    })


# ---------------------------------------------------------------- optimizers
SHAPES = [[3, 2], [5]]
STEPS = 4


def trajectory(make, params0, grads):
    params = [p.clone().requires_grad_(True) for p in params0]
    opt = make(params)
    out = []
    for s in range(STEPS):
        for p, g in zip(params, grads[s]):
            p.grad = g.clone()
        opt.step()
        out.append([flat(p) for p in params])
    return out


def optimizers():
    params0 = [torch.randn(*s) for s in SHAPES]
    grads = [[torch.randn(*s) for s in SHAPES] for _ in range(STEPS)]
    sgd_cfgs = [
        {'lr': 0.1},
        {'lr': 0.1, 'momentum': 0.9},
        {'lr': 0.05, 'momentum': 0.9, 'dampening': 0.5},
        {'lr': 0.05, 'momentum': 0.8, 'nesterov': True},
        {'lr': 0.1, 'weightDecay': 0.01},
        {'lr': 0.02, 'momentum': 0.9, 'weightDecay': 5e-4, 'nesterov': True},
        {'lr': 0.03, 'momentum': 0.7, 'dampening': 0.3, 'weightDecay': 0.1},
    ]
    adam_cfgs = [
        {'lr': 0.01},
        {'lr': 0.05, 'betas': [0.8, 0.99], 'eps': 1e-6},
        {'lr': 0.01, 'weightDecay': 0.1},
        {'lr': 0.01, 'amsgrad': True},
        {'lr': 0.02, 'weightDecay': 0.05, 'amsgrad': True, 'betas': [0.85, 0.9]},
    ]

    def sgd(cfg):
        return lambda ps: torch.optim.SGD(ps, lr=cfg['lr'], momentum=cfg.get('momentum', 0),
                                          dampening=cfg.get('dampening', 0), nesterov=cfg.get('nesterov', False),
                                          weight_decay=cfg.get('weightDecay', 0))

    def adam(cls, cfg, wd_default):
        return lambda ps: cls(ps, lr=cfg['lr'], betas=tuple(cfg.get('betas', [0.9, 0.999])), eps=cfg.get('eps', 1e-8),
                              weight_decay=cfg.get('weightDecay', wd_default), amsgrad=cfg.get('amsgrad', False))

    cases = []
    for cfg in sgd_cfgs:
        cases.append({'optimizer': 'SGD', 'options': cfg, 'trajectory': trajectory(sgd(cfg), params0, grads)})
    for cfg in adam_cfgs:
        cases.append({'optimizer': 'Adam', 'options': cfg, 'trajectory': trajectory(adam(torch.optim.Adam, cfg, 0), params0, grads)})
    for cfg in adam_cfgs + [{'lr': 0.01, 'weightDecay': 0.0}]:
        cases.append({'optimizer': 'AdamW', 'options': cfg, 'trajectory': trajectory(adam(torch.optim.AdamW, cfg, 1e-2), params0, grads)})
    dump('optimizers.json', {
        'shapes': SHAPES,
        'params': [flat(p) for p in params0],
        'grads': [[flat(g) for g in step] for step in grads],
        'cases': cases,
    })


# ---------------------------------------------------------------- clipping
def clipping():
    grads = [torch.randn(*s) * 3 for s in SHAPES]
    cases = []
    for norm_type in (2.0, math.inf):
        for max_norm in (0.5, 1000.0):
            ps = [torch.zeros(*s, requires_grad=True) for s in SHAPES]
            for p, g in zip(ps, grads):
                p.grad = g.clone()
            total = torch.nn.utils.clip_grad_norm_(ps, max_norm, norm_type=norm_type)
            cases.append({'kind': 'norm', 'normType': 'inf' if norm_type == math.inf else norm_type, 'maxNorm': max_norm,
                          'total': float(total), 'grads': [flat(p.grad) for p in ps]})
    ps = [torch.zeros(*s, requires_grad=True) for s in SHAPES]
    for p, g in zip(ps, grads):
        p.grad = g.clone()
    torch.nn.utils.clip_grad_value_(ps, 1.5)
    cases.append({'kind': 'value', 'value': 1.5, 'grads': [flat(p.grad) for p in ps]})
    dump('clipping.json', {'shapes': SHAPES, 'grads': [flat(g) for g in grads], 'cases': cases})


# ---------------------------------------------------------------- LR schedules
def schedules():
    def run(make_opt, make_sched, steps):
        p = torch.zeros(1, requires_grad=True)
        opt = make_opt([p])
        sched = make_sched(opt)
        lrs, moms = [], []
        for _ in range(steps):
            g = opt.param_groups[0]
            lrs.append(sched.get_last_lr()[0])
            moms.append(g['betas'][0] if 'betas' in g else g.get('momentum'))
            p.grad = torch.zeros(1)
            opt.step()
            sched.step()
        return lrs, moms

    sgd = lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9)
    adam = lambda ps: torch.optim.Adam(ps, lr=0.1)
    S = torch.optim.lr_scheduler
    cases = [
        ('StepLR', {'stepSize': 3, 'gamma': 0.5}, sgd, lambda o: S.StepLR(o, step_size=3, gamma=0.5), 12),
        ('CosineAnnealingLR', {'tMax': 5, 'etaMin': 0.01}, sgd, lambda o: S.CosineAnnealingLR(o, T_max=5, eta_min=0.01), 14),
        ('CosineAnnealingLR', {'tMax': 7}, sgd, lambda o: S.CosineAnnealingLR(o, T_max=7), 9),
        ('LinearLR', {'startFactor': 0.25, 'totalIters': 4}, sgd, lambda o: S.LinearLR(o, start_factor=0.25, total_iters=4), 8),
        ('LinearLR', {'startFactor': 0.1, 'endFactor': 0.5, 'totalIters': 3}, sgd,
         lambda o: S.LinearLR(o, start_factor=0.1, end_factor=0.5, total_iters=3), 6),
        ('OneCycleLR', {'maxLr': 0.5, 'totalSteps': 20}, sgd, lambda o: S.OneCycleLR(o, max_lr=0.5, total_steps=20), 20),
        ('OneCycleLR', {'maxLr': 0.5, 'totalSteps': 20}, adam, lambda o: S.OneCycleLR(o, max_lr=0.5, total_steps=20), 20),
        ('OneCycleLR', {'maxLr': 1.0, 'epochs': 3, 'stepsPerEpoch': 5, 'threePhase': True, 'anneal': 'linear', 'pctStart': 0.4},
         sgd, lambda o: S.OneCycleLR(o, max_lr=1.0, epochs=3, steps_per_epoch=5, three_phase=True,
                                     anneal_strategy='linear', pct_start=0.4), 15),
        ('OneCycleLR', {'maxLr': 0.3, 'totalSteps': 10, 'cycleMomentum': False, 'divFactor': 10, 'finalDivFactor': 100},
         sgd, lambda o: S.OneCycleLR(o, max_lr=0.3, total_steps=10, cycle_momentum=False, div_factor=10,
                                     final_div_factor=100), 10),
        ('SequentialLR', {'schedulers': [['LinearLR', {'startFactor': 0.1, 'totalIters': 3}], ['CosineAnnealingLR', {'tMax': 6, 'etaMin': 0.001}]],
                          'milestones': [3]}, sgd,
         lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.1, total_iters=3), S.CosineAnnealingLR(o, T_max=6, eta_min=0.001)],
                                  milestones=[3]), 12),
        ('SequentialLR', {'schedulers': [['CosineAnnealingLR', {'tMax': 4}], ['StepLR', {'stepSize': 2, 'gamma': 0.5}], ['LinearLR', {'startFactor': 0.5, 'totalIters': 2}]],
                          'milestones': [4, 7]}, sgd,
         lambda o: S.SequentialLR(o, [S.CosineAnnealingLR(o, T_max=4), S.StepLR(o, step_size=2, gamma=0.5), S.LinearLR(o, start_factor=0.5, total_iters=2)],
                                  milestones=[4, 7]), 12),
    ]
    out = []
    for name, opts, make_opt, make_sched, steps in cases:
        lrs, moms = run(make_opt, make_sched, steps)
        out.append({'schedule': name, 'optimizer': 'Adam' if make_opt is adam else 'SGD', 'options': opts,
                    'lrs': lrs, 'momentum': moms})
    dump('schedules.json', {'baseLr': 0.1, 'sgdMomentum': 0.9, 'cases': out})


# ---------------------------------------------------------------- whole training steps
def training_steps():
    """The issue's parity test: from the committed model fixtures (weights and inputs), three steps of
    SGD (momentum 0.9, weight decay 5e-4) with clip_grad_norm_(1.0), then one Adam step (lr 1e-3,
    eps 1e-3: a first Adam step moves each weight by lr·g/(|g| + eps), so with eps = 1e-8 the sign of
    gradients that are zero up to rounding, such as a conv bias feeding a BatchNorm, would decide ±lr
    and no two float32 engines would agree; eps 1e-3 keeps every term of the update and the comparison
    well-posed); train mode, Dropout switched off (its mask is seeded differently in vireo). Records each loss and
    the final state dict, sampled at a stride so no tensor keeps more than 256 values, plus each sum.
    Runs in float64: torch 1.13's float32 CPU backward of this reference CNN's conv1/conv2 weights is
    off from its own float64 result by up to ~10% of the largest gradient (measured: 4.3e-4 absolute on
    conv2.weight, max |g| 5.0e-3), while vireo's float32 gradients are within 1e-8; float64 is the oracle."""
    import sys
    sys.path.insert(0, os.path.dirname(__file__))
    import make_fixtures as mf
    torch.set_num_threads(1)
    fixtures = os.path.join(os.path.dirname(__file__), '..', 'tests', 'fixtures')
    for name, build in (('small_net', mf.small_net), ('reference_cnn', mf.reference_cnn)):
        net = build()
        state, _ = mf.load_safetensors(os.path.join(fixtures, f'{name}.safetensors'))
        net.load_state_dict(state)
        net.double()
        io, _ = mf.load_safetensors(os.path.join(fixtures, f'{name}.io.safetensors'))
        x = io['__input__'].double()
        labels = torch.tensor([3, 7, 0, 9][: x.shape[0]])
        net.train()
        for m in net.modules():
            if isinstance(m, torch.nn.Dropout):
                m.eval()
        crit = torch.nn.CrossEntropyLoss()
        sgd = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
        adam = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-3)
        losses, norms = [], []
        for step in range(4):
            opt = sgd if step < 3 else adam
            opt.zero_grad()
            loss = crit(net(x), labels)
            loss.backward()
            if step < 3:
                norms.append(float(torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)))
            opt.step()
            losses.append(float(loss))
        tensors = {}
        for k, v in net.state_dict().items():
            v64 = v.detach().double().reshape(-1)
            v = v.detach().float().reshape(-1)
            stride = max(1, -(-v.numel() // 256))
            entry = {'stride': stride, 'values': flat(v[::stride]), 'sum': float(v.double().sum())}
            if k in state and state[k].is_floating_point():
                # The change over the four steps, in float64 (fc1/fc2 move by < 1e-6, far below any
                # tolerance on the values themselves): sampled at a finer stride, with its sum and L1 norm
                # over every element so a parameter that never moved cannot pass.
                delta = v64 - state[k].double().reshape(-1)
                # An odd stride walks across columns too: an even one kept hitting the same dead fc1 input.
                dstride = max(1, -(-delta.numel() // 512)) | 1
                entry['delta'] = {'stride': dstride, 'values': [float(d) for d in delta[::dstride].tolist()],
                                  'sum': float(delta.sum()), 'absSum': float(delta.abs().sum())}
            tensors[k] = entry
        dump(f'steps_{name}.json', {'labels': flat(labels.float()), 'losses': losses, 'gradNorms': norms, 'state': tensors})


losses()
optimizers()
clipping()
schedules()
training_steps()
print('wrote', sorted(os.listdir(OUT)))
