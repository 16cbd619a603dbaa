"""Differential probe of result and gradient layouts: channels-last (3d) inputs through
the ops PyTorch keeps channels-last (convolutions, poolings, pads, interpolation,
shuffles, norms, activations), and the column-major results of linear algebra. Each case
runs in torch and in ember on the same values; compared: the result's shape and strides,
and the strides of the input gradients three ways ('grad': a leaf's .grad after
backward of the sum, 'autograd': autograd.grad given a row-major output gradient,
'like': given one laid out as the result).

A probe for finding defects, not a test (tests/test_layout_regressions.py holds the
regression cases):
    PYTHONPATH=. python -m bench.layout_sweep
"""
import sys
import warnings

import numpy as np
import torch

import ember

warnings.filterwarnings("ignore")
R = np.random.RandomState(0)
X4, X5 = R.randn(2, 3, 5, 6), R.randn(2, 3, 4, 5, 6)
W4, W5, WT = R.randn(4, 3, 3, 3), R.randn(4, 3, 3, 3, 3), R.randn(3, 4, 3, 3)
X8, X44 = R.randn(2, 8, 3, 4), R.randn(2, 4, 4, 4)


def _t(m, a, fmt=None, grad=True):
    t = m.tensor(a.tolist(), dtype=m.float32)
    if fmt:
        t = t.contiguous(memory_format=getattr(m, fmt))
    return t.requires_grad_(grad)


def _cl(a):
    return (a, "channels_last" if a.ndim == 4 else "channels_last_3d")


F = lambda m: m.nn.functional   # noqa: E731

# name -> (op(m, *leaves), leaf specs (array, memory format or None))
CHANNELS_LAST = {
    "conv2d": (lambda m, x, w: F(m).conv2d(x, w, padding=1), [_cl(X4), (W4, None)]),
    "conv2d weight channels-last": (lambda m, x, w: F(m).conv2d(x, w),
                                    [(X4, None), (W4, "channels_last")]),
    "conv3d": (lambda m, x, w: F(m).conv3d(x, w), [_cl(X5), (W5, None)]),
    "conv_transpose2d": (lambda m, x, w: F(m).conv_transpose2d(x, w, stride=2),
                         [_cl(X4), (WT, None)]),
    "max_pool2d": (lambda m, x: F(m).max_pool2d(x, 3, 2, 1), [_cl(X4)]),
    "max_pool3d": (lambda m, x: F(m).max_pool3d(x, 2), [_cl(X5)]),
    "avg_pool2d": (lambda m, x: F(m).avg_pool2d(x, 3, 2, 1), [_cl(X4)]),
    "avg_pool3d": (lambda m, x: F(m).avg_pool3d(x, 2), [_cl(X5)]),
    "adaptive_avg_pool2d": (lambda m, x: F(m).adaptive_avg_pool2d(x, (5, 3)), [_cl(X4)]),
    "adaptive_avg_pool2d uneven": (lambda m, x: F(m).adaptive_avg_pool2d(x, (2, 3)), [_cl(X4)]),
    "adaptive_avg_pool2d global": (lambda m, x: F(m).adaptive_avg_pool2d(x, 1), [_cl(X4)]),
    "adaptive_max_pool2d uneven": (lambda m, x: F(m).adaptive_max_pool2d(x, (2, 3)), [_cl(X4)]),
    "adaptive_max_pool3d": (lambda m, x: F(m).adaptive_max_pool3d(x, 2), [_cl(X5)]),
    "batch_norm": (lambda m, x: F(m).batch_norm(x, None, None, training=True), [_cl(X4)]),
    "batch_norm eval": (lambda m, x: F(m).batch_norm(x, m.zeros(3), m.ones(3)), [_cl(X4)]),
    "group_norm": (lambda m, x: F(m).group_norm(x, 3), [_cl(X4)]),
    "instance_norm": (lambda m, x: F(m).instance_norm(x), [_cl(X4)]),
    "layer_norm": (lambda m, x: F(m).layer_norm(x, (6,)), [_cl(X4)]),
    "pad constant": (lambda m, x: F(m).pad(x, (1, 1, 2, 0)), [_cl(X4)]),
    "pad reflect": (lambda m, x: F(m).pad(x, (1, 1, 2, 0), mode="reflect"), [_cl(X4)]),
    "pad replicate 3d": (lambda m, x: F(m).pad(x, (1, 1, 2, 0, 1, 1), mode="replicate"),
                         [_cl(X5)]),
    "pad circular": (lambda m, x: F(m).pad(x, (1, 1, 2, 0), mode="circular"), [_cl(X4)]),
    "interpolate nearest": (lambda m, x: F(m).interpolate(x, scale_factor=2), [_cl(X4)]),
    "interpolate bilinear": (lambda m, x: F(m).interpolate(x, scale_factor=2, mode="bilinear"),
                             [_cl(X4)]),
    "interpolate bicubic": (lambda m, x: F(m).interpolate(x, scale_factor=2, mode="bicubic"),
                            [_cl(X4)]),
    "interpolate trilinear": (lambda m, x: F(m).interpolate(x, scale_factor=2,
                                                             mode="trilinear"), [_cl(X5)]),
    "interpolate nearest 3d": (lambda m, x: F(m).interpolate(x, scale_factor=2), [_cl(X5)]),
    "pixel_shuffle": (lambda m, x: F(m).pixel_shuffle(x, 2), [_cl(X8)]),
    "pixel_unshuffle": (lambda m, x: F(m).pixel_unshuffle(x, 2), [_cl(X44)]),
    "channel_shuffle": (lambda m, x: F(m).channel_shuffle(x, 2), [_cl(X44)]),
    "add bias": (lambda m, x, b: x + b, [_cl(X4), (R.randn(3, 1, 1), None)]),
    "mean over H, W": (lambda m, x: x.mean((2, 3), keepdim=True), [_cl(X4)]),
    "cat": (lambda m, x, y: m.cat([x, y], 1), [_cl(X4), _cl(X4)]),
}
for _name in ("relu", "gelu", "silu", "sigmoid", "tanh", "leaky_relu", "hardswish", "mish",
              "elu", "selu", "celu", "hardsigmoid", "softplus", "hardtanh", "relu6",
              "hardshrink", "softshrink", "logsigmoid", "softsign", "tanhshrink"):
    CHANNELS_LAST[_name] = (lambda m, x, _name=_name: getattr(F(m), _name)(x), [_cl(X4)])


def _lin(m, a):
    return m.tensor(a.tolist(), dtype=m.float64)


A, B, M = R.randn(4, 4), R.randn(4, 3), R.randn(5, 3)
S = A @ A.T + 4 * np.eye(4)
U = np.triu(A) + 4 * np.eye(4)
LINALG = {
    "inv": lambda m: m.linalg.inv(_lin(m, A)),
    "solve": lambda m: m.linalg.solve(_lin(m, A), _lin(m, B)),
    "solve batched vector": lambda m: m.linalg.solve(_lin(m, np.stack([A, A])),
                                                     _lin(m, B[:, :2].T)),
    "qr Q": lambda m: m.linalg.qr(_lin(m, M)).Q,
    "qr R": lambda m: m.linalg.qr(_lin(m, M)).R,
    "svd U": lambda m: m.linalg.svd(_lin(m, M)).U,
    "svd Vh": lambda m: m.linalg.svd(_lin(m, M)).Vh,
    "eigh vectors": lambda m: m.linalg.eigh(_lin(m, S)).eigenvectors,
    "eig vectors": lambda m: m.linalg.eig(_lin(m, A)).eigenvectors,
    "cholesky": lambda m: m.linalg.cholesky(_lin(m, S)),
    "cholesky upper": lambda m: m.linalg.cholesky(_lin(m, S), upper=True),
    "cholesky_solve": lambda m: m.cholesky_solve(_lin(m, B), m.linalg.cholesky(_lin(m, S))),
    "cholesky_inverse": lambda m: m.cholesky_inverse(m.linalg.cholesky(_lin(m, S))),
    "lu_factor": lambda m: m.linalg.lu_factor(_lin(m, A)).LU,
    "lu_solve": lambda m: m.linalg.lu_solve(*m.linalg.lu_factor(_lin(m, A)), _lin(m, B)),
    "lstsq": lambda m: m.linalg.lstsq(_lin(m, M), _lin(m, R.randn(5, 2))).solution,
    "pinv": lambda m: m.linalg.pinv(_lin(m, M)),
    "matrix_exp": lambda m: m.linalg.matrix_exp(_lin(m, A)),
    "solve_triangular": lambda m: m.linalg.solve_triangular(_lin(m, U), _lin(m, B), upper=True),
    "householder_product": lambda m: m.linalg.householder_product(_lin(m, M),
                                                                  _lin(m, R.randn(3))),
    "geqrf": lambda m: m.geqrf(_lin(m, M))[0],
    "ldl_factor": lambda m: m.linalg.ldl_factor(_lin(m, S)).LD,
}


def _layouts(m, op, specs, how):
    leaves = [_t(m, a, fmt) for a, fmt in specs]
    out = op(m, *leaves)
    found = [(tuple(out.shape), out.stride())]
    if how == "grad":
        out.sum().backward()
        return found + [x.grad.stride() for x in leaves]
    g = m.tensor(np.random.RandomState(5).randn(*out.shape).tolist(), dtype=out.dtype)
    if how == "like":
        g = m.empty_like(out).copy_(g)
    return found + [d.stride() for d in m.autograd.grad(out, leaves, g)]


def _call(fn, *args):
    try:
        return fn(*args)
    except Exception as e:  # noqa: BLE001 - compared
        return ("raised", type(e).__name__)


def run():
    """{case: [mismatch, ...]} and the number of comparisons."""
    report, n = {}, 0
    for name, (op, specs) in CHANNELS_LAST.items():
        for how in ("grad", "autograd", "like"):
            n += 1
            a, b = _call(_layouts, torch, op, specs, how), _call(_layouts, ember, op, specs, how)
            if a != b:
                report.setdefault(name, []).append(f"{how}: torch {a} ember {b}")
    for name, fn in LINALG.items():
        n += 1
        a, b = _call(lambda m: (tuple(fn(m).shape), fn(m).stride()), torch), \
            _call(lambda m: (tuple(fn(m).shape), fn(m).stride()), ember)
        if a != b:
            report.setdefault("linalg " + name, []).append(f"torch {a} ember {b}")
    return report, n


if __name__ == "__main__":
    rep, count = run()
    for name, problems in rep.items():
        for p in problems:
            print(f"{name}: {p}")
    print(f"{count} comparisons, {sum(len(p) for p in rep.values())} mismatches in "
          f"{len(rep)} cases")
    sys.exit(0)
