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


# ---------------------------------------------------------------------------- EmbeddingBag

def _bag_sparse_grad(L, kw, inp, offsets, psw):
    L.manual_seed(1)
    bag = L.nn.EmbeddingBag(10, 3, sparse=True, **kw)
    out = bag(L.tensor(inp), None if offsets is None else L.tensor(offsets),
              per_sample_weights=None if psw is None else L.tensor(psw))
    (out * L.arange(float(out.numel())).reshape(out.shape)).sum().backward()
    g = bag.weight.grad
    return (out.detach().numpy(), str(g.layout).split(".")[-1], g._indices().numpy(),
            g._values().numpy())


@pytest.mark.parametrize("kw, inp, offsets, psw", [
    (dict(mode="mean"), [1, 2, 0, 4, 1], [0, 2], None),
    (dict(mode="sum"), [1, 2, 0, 4, 1], [0, 2, 2], [1., 2, 3, 4, 5]),
    (dict(mode="sum", padding_idx=0), [1, 2, 0, 4, 1], [0, 3], None),
    (dict(mode="mean", include_last_offset=True), [1, 2, 0, 4, 1], [0, 2, 5], None),
    (dict(mode="mean"), [[1, 2], [0, 4]], None, None),
])
def test_embedding_bag_sparse_gradient(kw, inp, offsets, psw):
    """The text classification tutorial's nn.EmbeddingBag(..., sparse=True) (with
    SparseAdam/SGD): ember's weight gradient was dense (SparseAdam then refused it);
    PyTorch's is a sparse COO tensor with one row per input index (padding rows left out)."""
    e = _bag_sparse_grad(ember, kw, inp, offsets, psw)
    t = _bag_sparse_grad(torch, kw, inp, offsets, psw)
    assert e[1] == t[1] == "sparse_coo"
    assert np.array_equal(e[2], t[2])
    np.testing.assert_allclose(e[0], t[0], rtol=1e-6)
    np.testing.assert_allclose(e[3], t[3], rtol=1e-6)


@pytest.mark.parametrize("kw", [dict(sparse=True), dict(scale_grad_by_freq=True)])
def test_embedding_bag_max_mode_refusals(kw):
    def run(L):
        return L.nn.EmbeddingBag(10, 3, mode="max", **kw)(L.tensor([1, 2]), L.tensor([0]))
    outs = []
    for L in (ember, torch):
        with pytest.raises(ValueError) as info:
            run(L)
        outs.append(str(info.value))
    assert outs[0] == outs[1]


# ---------------------------------------------------------------------------- einsum

def test_einsum_complex_gradient_conjugates_the_other_operands():
    """The Fourier neural operator (zongyi-li/fourier_neural_operator fourier_2d.py)
    multiplies its complex spectral weights with einsum("bixy,ioxy->boxy"): PyTorch's
    gradient of each operand is the output gradient contracted with the conjugates of
    the others (as for a * b); ember's used the others as they are, so the weights'
    gradients differed and training diverged."""
    rs = np.random.RandomState(0)
    a = (rs.rand(2, 3, 4) + 1j * rs.rand(2, 3, 4)).astype(np.complex64)
    b = (rs.rand(3, 5, 4) + 1j * rs.rand(3, 5, 4)).astype(np.complex64)
    grads = []
    for L in (ember, torch):
        x, w = L.tensor(a, requires_grad=True), L.tensor(b, requires_grad=True)
        y = L.view_as_real(L.einsum("bix,iox->box", x, w))
        (y * L.arange(float(y.numel())).reshape(y.shape)).sum().backward()
        grads.append((x.grad.resolve_conj().numpy(), w.grad.resolve_conj().numpy()))
    for e, t in zip(*grads):
        np.testing.assert_allclose(e, t, rtol=1e-5, atol=1e-4)


def test_linear_complex_gradient_conjugates():
    """Found beside the einsum case by a sweep of complex gradients over the ops the FNO
    and complex-valued networks use (nn.Linear(dtype=torch.cfloat)): every other op of
    the sweep (matmul, bmm, mv, dot, vdot, tensordot, kron, conv1d, addmm, linalg.solve,
    det, inv, norms, prod, cumprod, pointwise functions) matches PyTorch."""
    rs = np.random.RandomState(0)
    x, w, b = [(rs.rand(*s) - 0.5 + 1j * (rs.rand(*s) - 0.5)).astype(np.complex64)
               for s in ((3, 4), (2, 4), (2,))]
    grads = []
    for L in (ember, torch):
        ts = [L.tensor(a, requires_grad=True) for a in (x, w, b)]
        y = L.view_as_real(L.nn.functional.linear(*ts))
        (y * L.arange(float(y.numel())).reshape(y.shape)).sum().backward()
        grads.append([t.grad.resolve_conj().numpy() for t in ts])
    for e, t in zip(*grads):
        np.testing.assert_allclose(e, t, rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------------- checkpoints

@pytest.mark.parametrize("fmt", [None, "torch"])
def test_checkpoint_of_channels_last_optimizer_state(tmp_path, fmt):
    """A training script with model.to(memory_format=torch.channels_last) and AdamW saved
    {"model": ..., "opt": opt.state_dict()}: the moments (zeros_like of a channels_last
    weight, owning their memory with channels_last strides) were written as a row-major
    copy but with the original strides and an 'offset' measured between the two buffers,
    so torch.load refused the checkpoint as corrupted. Both formats now store such an
    array over its own memory with its strides (PyTorch's layout); torch reads ember's
    torch-format file back the same."""
    m = ember.nn.Conv2d(3, 8, 3).to(memory_format=ember.channels_last)
    opt = ember.optim.AdamW(m.parameters())
    m(ember.randn(1, 3, 5, 5)).sum().backward()
    opt.step()
    state = opt.state_dict()["state"][0]
    permuted = ember.arange(24.).reshape(2, 3, 4).permute(2, 0, 1) * 1.0
    path = tmp_path / "ckpt.pt"
    kw = {} if fmt is None else {"format": fmt}
    ember.save({"opt": opt.state_dict(), "x": permuted}, path, **kw)
    back = ember.load(path)
    for key in ("exp_avg", "exp_avg_sq"):
        got = back["opt"]["state"][0][key]
        assert got.stride() == (27, 1, 9, 3) and ember.equal(got, state[key])
    assert back["x"].stride() == (1, 12, 4) and ember.equal(back["x"], permuted)
    if fmt == "torch":
        theirs = torch.load(path)
        assert theirs["opt"]["state"][0]["exp_avg"].stride() == (27, 1, 9, 3)
        np.testing.assert_array_equal(theirs["opt"]["state"][0]["exp_avg"].numpy(),
                                      state["exp_avg"].numpy())
        np.testing.assert_array_equal(theirs["x"].numpy(), permuted.numpy())
