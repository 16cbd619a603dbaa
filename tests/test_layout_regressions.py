"""Memory layouts of results and gradients, compared live with PyTorch: channels-last
inputs to convolutions, poolings, paddings, interpolations, shuffles and norms; the
gradient layout contract of a leaf's .grad; column-major linalg results. Each case runs
the same program on ember and torch and compares shapes, strides, is_contiguous() in each
memory format, values and dtypes."""
import warnings

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


class _Values:
    """A tensor's values, equal to another's within float32 rounding (the libraries'
    exp and friends may differ by an ulp)."""

    def __init__(self, t):
        self.a = np.asarray(t.detach().double().tolist(), dtype=np.float64)

    def __eq__(self, other):
        return self.a.shape == other.a.shape and np.allclose(self.a, other.a, rtol=1e-5,
                                                             atol=1e-6, equal_nan=True)

    def __repr__(self):
        return f"values{self.a.ravel()[:6].tolist()}"


def _summary(t):
    """A tensor's layout and values: shape, strides, is_contiguous() row-major /
    channels_last / channels_last_3d, dtype name, values."""
    if t is None:
        return None
    m = torch if isinstance(t, torch.Tensor) else ember
    cl = t.is_contiguous(memory_format=m.channels_last) if t.dim() == 4 else None
    cl3 = t.is_contiguous(memory_format=m.channels_last_3d) if t.dim() == 5 else None
    return (tuple(t.shape), t.stride(), t.is_contiguous(), cl, cl3, str(t.dtype).split(".")[1],
            _Values(t))


def _run(program, m):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return program(m)
    except Exception as e:  # noqa: BLE001 - the type is compared
        return ("raised", type(e).__name__, str(e)[:200])


def _same(program):
    a, b = _run(program, torch), _run(program, ember)
    if a and a[0] == "raised":
        assert b and b[0] == "raised" and a[1] == b[1], (a, b)
    else:
        assert a == b, (a, b)
    return a


def _data(m, *shape, seed=0, dtype="float32", fmt=None, grad=True):
    """A tensor of normal values (the same in both libraries) in memory format `fmt`."""
    t = m.tensor(np.random.RandomState(seed).randn(*shape).tolist(), dtype=getattr(m, dtype))
    if fmt is not None:
        t = t.contiguous(memory_format=getattr(m, fmt))
    return t.requires_grad_(grad)


# ---------------------------------------------------------------------------- .grad's layout

def _leaf_grads(build, loss):
    """program: leaves from build(m), loss(m, *leaves).backward(); the leaves' .grad."""
    def program(m):
        leaves = build(m)
        loss(m, *leaves).backward()
        return [_summary(x.grad) for x in leaves]
    return program


LEAVES = {
    "transposed": lambda m: [m.arange(12.0).reshape(3, 4).t().detach().requires_grad_()],
    "channels_last": lambda m: [_data(m, 2, 3, 4, 5, fmt="channels_last")],
    "channels_last_3d": lambda m: [_data(m, 2, 3, 2, 3, 4, fmt="channels_last_3d")],
    "channels_last C=1": lambda m: [_data(m, 2, 1, 4, 5, fmt="channels_last")],
    "strided (not dense)": lambda m: [m.arange(24.0).reshape(4, 6)[:, ::2].detach()
                                      .requires_grad_()],
    "permuted 3-d": lambda m: [m.arange(24.0).reshape(2, 3, 4).permute(2, 0, 1).detach()
                               .requires_grad_()],
}

LOSSES = {
    "sum": lambda m, x: x.sum(),
    "square": lambda m, x: (x * x).sum(),
    "exp times row-major": lambda m, x: (x.exp() * m.ones(x.shape)).sum(),
    "reshape": lambda m, x: x.reshape(-1)[: x.numel() // 2].sum(),
}


@pytest.mark.parametrize("loss", sorted(LOSSES))
@pytest.mark.parametrize("leaf", sorted(LEAVES))
def test_leaf_grad_follows_the_leaf_layout(leaf, loss):
    _same(_leaf_grads(LEAVES[leaf], LOSSES[loss]))


def test_leaf_grad_layout_with_create_graph_and_accumulation():
    def program(m):
        x = _data(m, 2, 3, 2, 2, fmt="channels_last")
        (x ** 2).sum().backward(create_graph=True)
        first = _summary(x.grad)
        (x * 3).sum().backward()
        return first, _summary(x.grad)
    _same(program)
