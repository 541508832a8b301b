#!/usr/bin/python3
"""Fits the rational erf approximation of assembly/unary_math.ts: erf(x) = x·P(x²)/Q(x²) on |x| ≤ 4, P and Q of
degree 5 with Q(0) = 1, near-minimax in the relative error of erf(x)/x (linearised least squares, Loeb's
P − f·Q = f, weighted by 1/(f·Q) of the previous iterate, with Lawson's reweighting towards equal ripples).

Usage: fit_erf_rational.py   (prints the coefficients to 9 significant digits and the float32 error of the
formula evaluated as the kernel does: clamp, Horner in float32, one division)
"""
import math

import numpy as np

XMAX = 4.0
DEG_P, DEG_Q = 5, 5


def fit(iters=300):
    t = np.cos(np.linspace(0, np.pi, 8000))
    x = (1 - t) / 2 * XMAX + 1e-6  # points crowd at both ends of the range, as a minimax error does
    z = x * x
    f = np.array([math.erf(v) / v for v in x])
    zp = np.vstack([z**k for k in range(DEG_P + 1)]).T
    zq = np.vstack([z**k for k in range(1, DEG_Q + 1)]).T
    lawson = np.ones_like(x) / len(x)
    q_prev = np.ones_like(x)
    best = (math.inf, None, None)
    for _ in range(iters):
        w = np.sqrt(lawson) / (f * q_prev)
        a = np.hstack([zp, -(f[:, None] * zq)])
        c, *_ = np.linalg.lstsq(a * w[:, None], f * w, rcond=None)
        p, q = c[: DEG_P + 1], np.concatenate([[1.0], c[DEG_P + 1 :]])
        q_prev = np.hstack([np.ones((len(x), 1)), zq]) @ q
        err = (zp @ p) / q_prev / f - 1
        m = np.abs(err).max()
        if m < best[0] and q_prev.min() > 0:
            best = (m, p, q)
        lawson = lawson * np.abs(err) ** 0.3
        lawson /= lawson.sum()
    return best


def float32_error(p, q):
    xs = np.linspace(-6, 6, 240001).astype(np.float32)
    c = np.clip(xs, np.float32(-XMAX), np.float32(XMAX))
    z = c * c
    horner = lambda cs: __import__('functools').reduce(lambda acc, k: acc * z + np.float32(k), cs[-2::-1], np.full_like(z, np.float32(cs[-1])))
    r = (c * horner(p)) / horner(q)
    ref = np.array([math.erf(float(v)) for v in xs])
    return np.abs(r.astype(np.float64) - ref).max()


def main():
    m, p, q = fit()
    p = [float(f'{v:.9g}') for v in p]
    q = [float(f'{v:.9g}') for v in q]
    print(f'relative error of erf(x)/x in float64: {m:.2e}')
    print('P', p)
    print('Q', q)
    print(f'max |erf - formula| in float32 on [-6, 6]: {float32_error(p, q):.2e}')


if __name__ == '__main__':
    main()
