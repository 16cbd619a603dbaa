"""GELU and ReLU of quantized tensors against PyTorch, bit for bit: F.gelu (approximate 'none'
and 'tanh') and nn.GELU run PyTorch's quantized gelu (requantized with the input's
parameters), F.relu / torch.relu / relu_ / nn.ReLU its exact integer relu; qint32 inputs go
through fbgemm's scalar requantization (zero point added before rounding), which the
8-bit activation kernels do not use."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")
import torch.ao.nn.quantized.functional as tqF  # noqa: E402
import ember.ao.nn.quantized.functional as eqF  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
TF = torch.nn.functional
EF = ember.nn.functional

ZERO_POINTS = {"quint8": (0, 255), "qint8": (-128, 127), "qint32": (-1000, 1000)}


def _pair(x, scale, zp, dt):
    t = torch.quantize_per_tensor(torch.from_numpy(x), scale, zp, getattr(torch, dt))
    e = ember.quantize_per_tensor(ember.tensor(x), scale, zp, getattr(ember, dt))
    return t, e


def _from_ints(ints, scale, zp, dt):
    """Quantized tensors holding exactly `ints` (as PyTorch's _make_per_tensor_quantized_tensor)."""
    int_dtype = {"quint8": "uint8", "qint8": "int8", "qint32": "int32"}[dt]
    ints = np.asarray(ints, dtype=int_dtype)
    t = torch._make_per_tensor_quantized_tensor(torch.from_numpy(ints), scale, zp)
    e = ember._make_per_tensor_quantized_tensor(ember.tensor(ints), scale, zp)
    return t, e


def _same(t, e):
    """Same shape, dtype, parameters and integers."""
    assert tuple(e.shape) == tuple(t.shape)
    assert str(e.dtype) == str(t.dtype).replace("torch.", "ember.")
    assert (e.q_scale(), e.q_zero_point()) == (t.q_scale(), t.q_zero_point())
    np.testing.assert_array_equal(e.int_repr().numpy(), t.int_repr().numpy())


GELUS = [
    ("F.gelu", lambda m, q: m.nn.functional.gelu(q)),
    ("F.gelu tanh", lambda m, q: m.nn.functional.gelu(q, approximate="tanh")),
    ("nn.GELU", lambda m, q: m.nn.GELU()(q)),
    ("nn.GELU tanh", lambda m, q: m.nn.GELU(approximate="tanh")(q)),
]
RELUS = [
    ("F.relu", lambda m, q: m.nn.functional.relu(q)),
    ("F.relu inplace", lambda m, q: m.nn.functional.relu(q, inplace=True)),
    ("torch.relu", lambda m, q: m.relu(q)),
    ("relu_", lambda m, q: q.relu_()),
    ("nn.ReLU", lambda m, q: m.nn.ReLU()(q)),
    ("nn.ReLU inplace", lambda m, q: m.nn.ReLU(inplace=True)(q)),
]
OPS = GELUS + RELUS


@pytest.mark.parametrize("dt", sorted(ZERO_POINTS))
@pytest.mark.parametrize("name,fn", OPS, ids=[o[0] for o in OPS])
def test_bit_for_bit(name, fn, dt):
    """Random inputs, sizes with and without a vector tail (64 lanes of 8-bit integers, 16
    of qint32), 0-dim and empty."""
    rng = np.random.default_rng(7)
    lo, hi = ZERO_POINTS[dt]
    for shape in ((2, 4, 8), (3, 7), (5, 13), (), (0, 3)):
        for _ in range(3):
            x = np.asarray(rng.standard_normal(shape) * rng.uniform(0.5, 5), dtype=np.float32)
            tq, eq = _pair(x, float(rng.uniform(0.005, 0.2)), int(rng.integers(lo, hi + 1)), dt)
            t = fn(torch, tq)
            e = fn(ember, eq)
            _same(t, e)
            if "inplace" in name or name == "relu_":
                assert e is eq
                _same(tq, eq)


@pytest.mark.parametrize("dt", ["quint8", "qint8"])
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_every_integer(dt, approximate):
    """Every integer of the type, a few scales: all the rounding the kernel can meet."""
    lo, hi = {"quint8": (0, 255), "qint8": (-128, 127)}[dt]
    ints = np.arange(lo, hi + 1)
    for scale, zp in ((0.01, lo + 128), (0.037234195, lo + 40), (0.1, lo + 200), (0.3, lo + 7)):
        for cut in (len(ints), len(ints) - 9):   # the last elements in the scalar tail
            tq, eq = _from_ints(ints[:cut], scale, zp, dt)
            _same(TF.gelu(tq, approximate=approximate), EF.gelu(eq, approximate=approximate))


def test_gelu_qint32_rounds_after_the_zero_point():
    """qint32: gelu(x) / scale lands just below a half (30.499977), and adding the zero point
    -795 in float32 rounds the sum to -764.5 exactly, which rounds to even: PyTorch gives
    -764 where rounding first would give -765. In the vectorized part and in the tail."""
    scale, zp = 0.03723419529868736, -795
    ints = np.full(20, -761)            # (x = 34 * scale = 1.2659626)
    ints[5] = -829                      # x = -1.2659626: -798.5000224 -> -798
    tq, eq = _from_ints(ints, scale, zp, "qint32")
    for approximate in ("tanh",):
        t = TF.gelu(tq, approximate=approximate)
        assert t.int_repr()[0].item() == -764          # the case is the one meant
        _same(t, EF.gelu(eq, approximate=approximate))


QINT32_OTHERS = [
    ("leaky_relu", lambda m, qF, q: m.nn.functional.leaky_relu(q, 0.1)),
    ("qF.elu", lambda m, qF, q: qF.elu(q, 0.03, 3, 0.5)),
    ("qF.hardswish", lambda m, qF, q: qF.hardswish(q, 0.02, 40)),
    ("F.threshold", lambda m, qF, q: m.nn.functional.threshold(q, 0.1, 0.5)),
]


@pytest.mark.parametrize("name,fn", QINT32_OTHERS, ids=[o[0] for o in QINT32_OTHERS])
def test_qint32_requantization_other_activations(name, fn):
    """The same qint32 requantization in the other dequantize-compute-requantize kernels
    (leaky_relu differed in about half of these draws before)."""
    rng = np.random.default_rng(11)
    for _ in range(30):
        n = int(rng.integers(1, 120))
        x = (rng.standard_normal(n) * rng.uniform(0.1, 6)).astype(np.float32)
        tq, eq = _pair(x, float(rng.uniform(0.005, 0.2)), int(rng.integers(-1000, 1000)),
                       "qint32")
        _same(fn(torch, tqF, tq), fn(ember, eqF, eq))


@pytest.mark.parametrize("name,fn", OPS, ids=[o[0] for o in OPS])
def test_per_channel_refuses(name, fn):
    """PyTorch's quantized gelu and relu take per-tensor quantized tensors only."""
    x = np.linspace(-2, 2, 12, dtype=np.float32).reshape(3, 4)
    tq = torch.quantize_per_channel(torch.from_numpy(x), torch.tensor([0.1, 0.05, 0.2]),
                                    torch.tensor([1, 2, 3]), 0, torch.quint8)
    eq = ember.quantize_per_channel(ember.tensor(x), ember.tensor([0.1, 0.05, 0.2]),
                                    ember.tensor([1, 2, 3]), 0, ember.quint8)
    with pytest.raises(RuntimeError):
        fn(torch, tq)
    with pytest.raises(RuntimeError, match="per-tensor"):
        fn(ember, eq)


def test_gelu_bad_approximate_and_identity():
    gelu_before = EF.gelu
    tq, eq = _pair(np.ones(3, dtype=np.float32), 0.1, 3, "quint8")
    with pytest.raises(RuntimeError, match="none or tanh"):
        TF.gelu(tq, approximate="erf")
    with pytest.raises(RuntimeError, match="none or tanh"):
        EF.gelu(eq, approximate="erf")
    # the quantized kernel is reached inside F.gelu: the function keeps its identity
    # (TransformerEncoderLayer compares its activation with F.gelu)
    assert EF.gelu is gelu_before
    layer = ember.nn.TransformerEncoderLayer(8, 2, 16, activation=EF.gelu)
    assert layer.activation_relu_or_gelu == 2


def test_float_gelu_unchanged_after_quantizing():
    """Dense gelu and its gradient still match PyTorch once quantized tensors exist."""
    _pair(np.ones(3, dtype=np.float32), 0.1, 3, "quint8")
    x = np.random.default_rng(2).standard_normal(10).astype(np.float32)
    for approximate in ("none", "tanh"):
        tx = torch.tensor(x, requires_grad=True)
        ex = ember.tensor(x, requires_grad=True)
        ty = TF.gelu(tx, approximate=approximate)
        ey = EF.gelu(ex, approximate=approximate)
        np.testing.assert_allclose(ey.detach().numpy(), ty.detach().numpy(), rtol=1e-6, atol=1e-6)
        ty.sum().backward()
        ey.sum().backward()
        np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-6, atol=1e-6)
    with pytest.raises(NotImplementedError, match="GeluKernelImpl"):
        EF.gelu(ember.tensor([1, 2]))
