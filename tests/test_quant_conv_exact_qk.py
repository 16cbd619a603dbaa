"""Quantized conv2d's integer sums: in float32 while every partial sum of the centred
products is below 2**24 in magnitude, in float64 past it. At the boundary (taps * 255 *
(128 + |weight zero point|) just below and just above 2**24), with inputs and weights at
their extremes (the largest partial sums), the integers equal PyTorch's."""
import numpy as np
import pytest

import ember
import ember.ao.nn.quantized.functional as eqF

torch = pytest.importorskip("torch")
tqF = pytest.importorskip("torch.ao.nn.quantized.functional")

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.mark.parametrize("channels", [31, 33])   # 279 and 297 taps: float32, then float64
@pytest.mark.parametrize("extreme", [False, True])
def test_conv2d_sums_at_the_float32_boundary(channels, extreme):
    rng = np.random.default_rng(channels)
    # 128 + 100 = 228: 279 * 255 * 228 < 2**24 < 297 * 255 * 228; the extreme sums
    # (297 * 255 * 227) pass 2**24 with odd terms
    w_zp = -100
    if extreme:   # every product at its largest magnitude, all of one sign
        x_ints = np.full((1, channels, 5, 5), 255, np.uint8)
        w_ints = np.full((3, channels, 3, 3), 127, np.int8)
    else:
        x_ints = rng.integers(0, 256, (1, channels, 5, 5)).astype(np.uint8)
        w_ints = rng.integers(-128, 128, (3, channels, 3, 3)).astype(np.int8)
    bias = rng.standard_normal(3).astype(np.float32)
    outs = []
    for m, F in ((torch, tqF), (ember, eqF)):
        x = m._make_per_tensor_quantized_tensor(m.tensor(x_ints), 0.02, 0)
        w = m._make_per_tensor_quantized_tensor(m.tensor(w_ints), 0.001, w_zp)
        outs.append(F.conv2d(x, w, m.tensor(bias), padding=1, scale=40.0, zero_point=3))
    assert (outs[1].q_scale(), outs[1].q_zero_point()) == (outs[0].q_scale(),
                                                           outs[0].q_zero_point())
    np.testing.assert_array_equal(outs[1].int_repr().numpy(), outs[0].int_repr().numpy())
    assert len(np.unique(outs[0].int_repr().numpy())) > 1   # not all saturated
