"""Differential sweep of the quantized kernels: random inputs and quantization parameters
(many of them landing on rounding ties) through torch and ember, counting the elements whose
integers differ and the largest difference, per op.

A probe for finding defects, not a test:
    python -m bench.quantized_sweep [trials] [op names...]
Prints one line per op (mismatching elements / elements, largest integer difference, and
the exception types of the first trial where either raised).
"""
import sys
import warnings

import numpy as np
import torch
import torch.ao.nn.quantized.functional as tqF

import ember
import ember.ao.nn.quantized.functional as eqF

warnings.filterwarnings("ignore")


def _weight(m, w, per_channel):
    if per_channel:
        o = w.shape[0]
        s = np.abs(w.reshape(o, -1)).max(1) / 60 + 1e-4
        return m.quantize_per_channel(m.tensor(w), m.tensor(s), m.tensor(np.zeros(o, np.int64)),
                                      0, m.qint8)
    return m.quantize_per_tensor(m.tensor(w), 0.005, 0, m.qint8)


def _linear(m, F, qF, q, rng):
    w = np.clip(rng.standard_normal((5, q.shape[-1])) * 0.3, -0.3, 0.3).astype(np.float32)
    return qF.linear(q, _weight(m, w, True), m.tensor(np.ones(5, np.float32)), 0.07, 90)


def _conv(m, F, qF, q, rng):
    w = np.clip(rng.standard_normal((4, q.shape[1], 3, 3)) * 0.3, -0.3, 0.3).astype(np.float32)
    return qF.conv2d(q, _weight(m, w, False), m.tensor(np.ones(4, np.float32)), padding=1,
                     scale=0.06, zero_point=80)


OPS = {
    "quantize": lambda m, F, qF, q, rng: q,
    "relu": lambda m, F, qF, q, rng: F.relu(q),
    "hardtanh": lambda m, F, qF, q, rng: F.hardtanh(q, -0.6, 0.9),
    "leaky_relu": lambda m, F, qF, q, rng: F.leaky_relu(q, 0.1),
    "hardsigmoid": lambda m, F, qF, q, rng: F.hardsigmoid(q),
    "sigmoid": lambda m, F, qF, q, rng: m.sigmoid(q),
    "tanh": lambda m, F, qF, q, rng: m.tanh(q),
    "gelu": lambda m, F, qF, q, rng: F.gelu(q),
    "hardswish": lambda m, F, qF, q, rng: qF.hardswish(q, 0.03, 50),
    "elu": lambda m, F, qF, q, rng: qF.elu(q, 0.03, 100, 0.7),
    "threshold": lambda m, F, qF, q, rng: qF.threshold(q, 0.1, 0.5),
    "mean": lambda m, F, qF, q, rng: q.mean((2, 3)),
    "max_pool2d": lambda m, F, qF, q, rng: F.max_pool2d(q, 3, 2, 1),
    "avg_pool2d": lambda m, F, qF, q, rng: F.avg_pool2d(q, 3, 2, 1),
    "adaptive_avg_pool2d": lambda m, F, qF, q, rng: F.adaptive_avg_pool2d(q, (3, 2)),
    "interpolate_nearest": lambda m, F, qF, q, rng: F.interpolate(q, scale_factor=2),
    "interpolate_bilinear": lambda m, F, qF, q, rng: F.interpolate(q, scale_factor=2,
                                                                   mode="bilinear"),
    "cat": lambda m, F, qF, q, rng: m.cat([q, F.relu(q)], 1),
    "linear": _linear,
    "conv2d": _conv,
}


def sweep(trials=20, names=None):
    rng = np.random.default_rng(0)
    rows = []
    for name, fn in OPS.items():
        if names and name not in names:
            continue
        bad = total = worst = 0
        disagree = None
        for _ in range(trials):
            shape = (2, 3, int(rng.integers(3, 9)), int(rng.integers(3, 9)))
            scale = float(rng.uniform(0.01, 0.1))
            x = (rng.standard_normal(shape) * 2).astype(np.float32)
            ties = rng.random(shape) < 0.3
            x[ties] = ((rng.integers(-60, 60, shape) + 0.5) * np.float32(scale))[ties]
            zp = int(rng.integers(0, 256))
            outs = []
            for m, F, qF in ((torch, torch.nn.functional, tqF), (ember, ember.nn.functional, eqF)):
                q = m.quantize_per_tensor(m.tensor(x), scale, zp, m.quint8)
                try:
                    outs.append(fn(m, F, qF, q, np.random.default_rng(1)).int_repr().numpy())
                except Exception as e:   # noqa: BLE001 (a probe records what each raises)
                    outs.append(type(e).__name__)
            if isinstance(outs[0], str) or isinstance(outs[1], str):
                if outs[0] != outs[1] or not disagree:   # (a raise both ways is reported too)
                    disagree = disagree or f"torch {outs[0]!r:.40} / ember {outs[1]!r:.40}"
                continue
            d = np.abs(outs[0].astype(np.int64) - outs[1].astype(np.int64))
            bad += int((d > 0).sum())
            total += d.size
            worst = max(worst, int(d.max(initial=0)))
        rows.append((name, bad, total, worst, disagree))
    return rows


def main(argv):
    trials = int(argv[0]) if argv and argv[0].isdigit() else 20
    names = [a for a in argv if not a.isdigit()]
    for name, bad, total, worst, disagree in sweep(trials, names):
        line = f"{name:22s} {bad:6d} / {total:7d} differ, largest {worst}"
        print(line + (f"   raised: {disagree}" if disagree else ""))


if __name__ == "__main__":
    main(sys.argv[1:])
