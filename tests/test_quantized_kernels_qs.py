"""The quantized kernels made faster in session 19 (ember/_quantized.py quantize_array /
dequantize_array_fma, QFunctional.mul's 8-bit float32 path, add's direct integer reads)
against PyTorch, bit for bit: random parameters, rounding ties, NaN and infinities."""
import warnings

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _qpair(x, scale, zp, dt):
    return (torch.quantize_per_tensor(torch.tensor(x), scale, zp, getattr(torch, dt)),
            ember.quantize_per_tensor(ember.tensor(x), scale, zp, getattr(ember, dt)))


@pytest.mark.parametrize("dt", ["quint8", "qint8", "qint32"])
def test_quantize_per_tensor_ties_nan_inf(dt):
    rng = np.random.default_rng(5)
    lo, hi = {"quint8": (0, 255), "qint8": (-128, 127), "qint32": (-1000, 1000)}[dt]
    for trial in range(30):
        scale = float(rng.uniform(1e-3, 2))
        zp = int(rng.integers(lo, hi + 1))
        x = (rng.standard_normal(67) * rng.uniform(0.1, 400)).astype(np.float32)
        k = rng.integers(-300, 300, 67)
        ties = rng.random(67) < 0.4
        x[ties] = ((k[ties] + 0.5) * np.float32(scale)).astype(np.float32)
        x[:3] = [np.nan, np.inf, -np.inf]
        t, e = _qpair(x, scale, zp, dt)
        np.testing.assert_array_equal(e.int_repr().numpy(), t.int_repr().numpy())
        np.testing.assert_array_equal(e.dequantize().numpy(), t.dequantize().numpy())
    t, e = _qpair(np.float32(2.5), 1.0, 3, dt)   # 0-d
    assert e.int_repr().item() == t.int_repr().item() and e.shape == t.shape


@pytest.mark.parametrize("dt", ["quint8", "qint8"])
def test_qfunctional_mul_add_bit_exact(dt):
    rng = np.random.default_rng(6)
    lo, hi = (0, 255) if dt == "quint8" else (-128, 127)
    for trial in range(20):
        shape = [(7,), (3, 40), (2, 3, 33), (4, 1)][trial % 4]
        xs, ys = float(rng.uniform(1e-3, 0.5)), float(rng.uniform(1e-3, 0.5))
        s = float(rng.choice([rng.uniform(1e-3, 0.5), 1e-6]))   # (tiny: saturating)
        xz, yz, z = (int(rng.integers(lo, hi + 1)) for _ in range(3))
        x = (rng.standard_normal(shape) * 5).astype(np.float32)
        y = (rng.standard_normal(shape) * 5).astype(np.float32)
        outs = []
        for i, lib in enumerate((torch, ember)):
            qf = lib.ao.nn.quantized.QFunctional()
            qf.scale, qf.zero_point = s, z
            qx = _qpair(x, xs, xz, dt)[i]
            qy = _qpair(y, ys, yz, dt)[i]
            outs.append([qf.mul(qx, qy), qf.add(qx, qy), qf.add_relu(qx, qy)])
        for t, e in zip(*outs):
            assert str(e.dtype) == str(t.dtype).replace("torch", "ember")
            assert (e.q_scale(), e.q_zero_point()) == (t.q_scale(), t.q_zero_point())
            np.testing.assert_array_equal(e.int_repr().numpy(), t.int_repr().numpy())


@pytest.mark.parametrize("k", [16, 258, 259, 300])
def test_quantized_linear_sums_exact_in_float32_or_float64(k):
    """linear sums the centred integers in float32 while every partial sum stays below
    2**24, else in float64: equal to torch on 7-bit activations (where fbgemm's int16 pair
    sums cannot saturate), and to exact int64 sums at the extremes of the ranges."""
    import ember.ao.nn.quantized.functional as eqF
    rng = np.random.default_rng(k)
    xi = rng.integers(0, 128, (3, k)).astype(np.uint8)
    wi = rng.integers(-128, 128, (5, k)).astype(np.int8)
    b = rng.standard_normal(5).astype(np.float32)
    tx = torch._make_per_tensor_quantized_tensor(torch.tensor(xi), 0.02, 3)
    tw = torch._make_per_tensor_quantized_tensor(torch.tensor(wi), 0.01, 0)
    ex = ember._make_per_tensor_quantized_tensor(ember.tensor(xi), 0.02, 3)
    ew = ember._make_per_tensor_quantized_tensor(ember.tensor(wi), 0.01, 0)
    t = torch.ao.nn.quantized.functional.linear(tx, tw, torch.tensor(b), 0.05, 10)
    e = eqF.linear(ex, ew, ember.tensor(b), 0.05, 10)
    np.testing.assert_array_equal(e.int_repr().numpy(), t.int_repr().numpy())
    # extremes: x - z_x = 255 and w - z_w = -255 everywhere
    ex = ember._make_per_tensor_quantized_tensor(ember.full((2, k), 255, dtype=ember.uint8),
                                                 1.0, 0)
    ew = ember._make_per_tensor_quantized_tensor(ember.full((3, k), -128, dtype=ember.int8),
                                                 1.0, 127)
    scale = float(k * 255 * 255) / 100.0
    e = eqF.linear(ex, ew, None, scale, 200)   # -k * 255 * 255 * 100 / (k * 255 * 255) + 200
    np.testing.assert_array_equal(e.int_repr().numpy(), np.full((2, 3), 100, np.uint8))
