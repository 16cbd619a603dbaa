"""Defects found by the fifth round of public programs run on ember with bench/script_probe.py
(pytorch/examples and pytorch/tutorials programs adapted to synthetic data); each case is
the defect's core, a few lines run on both libraries and compared: values, dtypes and
shapes, gradients, or the exception type and message."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


# ---------------------------------------------------------------------------- grid_sample

def _grid_sample_grads(L, x, theta, mode, padding_mode, align_corners):
    xt = L.tensor(x, requires_grad=True)
    tt = L.tensor(theta, requires_grad=True)
    grid = L.nn.functional.affine_grid(tt, xt.size(), align_corners=align_corners)
    grid.retain_grad()
    y = L.nn.functional.grid_sample(xt, grid, mode=mode, padding_mode=padding_mode,
                                    align_corners=align_corners)
    weights = L.arange(float(y.numel())).reshape(y.shape)
    (y * weights).sum().backward()
    return grid.detach().numpy(), y.detach().numpy(), grid.grad.numpy(), tt.grad.numpy()


@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
def test_grid_sample_grid_gradient_on_pixel_centres(mode, padding_mode, align_corners):
    """The spatial transformer tutorial starts from the identity transform: every sample
    lies on a pixel centre. PyTorch's grid puts them there exactly (linspace rounded in
    float32, then * (n - 1) / n) and its kernels count the borders as outside for the
    gradient of border/reflection padding; ember's grid was one rounding off (the
    gradient took the other pixel pair) and its clamp passed the gradient at the borders,
    so fc_loc's gradient differed from torch's and training diverged."""
    x = (np.arange(20, dtype=np.float32).reshape(1, 1, 4, 5) ** 1.5) / 10
    theta = np.array([[[1, 0, 0], [0, 1, 0]]], np.float32)
    e = _grid_sample_grads(ember, x, theta, mode, padding_mode, align_corners)
    t = _grid_sample_grads(torch, x, theta, mode, padding_mode, align_corners)
    assert np.array_equal(e[0], t[0])   # the grid, bit for bit
    for a, b in zip(e[1:], t[1:]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("size", [(1, 1, 7, 28), (2, 3, 5, 9)])
@pytest.mark.parametrize("align_corners", [False, True])
def test_affine_grid_identity_is_torchs_bit_for_bit(size, align_corners):
    theta = np.tile(np.array([[[1, 0, 0], [0, 1, 0]]], np.float32), (size[0], 1, 1))
    e = ember.nn.functional.affine_grid(ember.tensor(theta), size, align_corners=align_corners)
    t = torch.nn.functional.affine_grid(torch.tensor(theta), size, align_corners=align_corners)
    assert np.array_equal(e.numpy(), t.numpy())
