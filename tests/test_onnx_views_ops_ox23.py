"""torch.onnx.export: in-place ops on views write into their base (``y[:2].add_(1)``
changes y, as eager's shared memory does; the file used to leave y as it was), and the ops
a probe of common layers found missing: select, zero_, fill_, movedim, diagonal, argsort,
pixel_unshuffle, clamp with tensor bounds (Clip takes scalars only: onnxruntime refused
the file), scaled_dot_product_attention with is_causal (and a boolean mask's dtype),
grid_sample (every mode, padding mode and align_corners) and affine_grid. Each file passes
onnx's checker; onnxruntime's outputs equal ember's and PyTorch's eager outputs."""
import io
import warnings

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

TOL = dict(rtol=1e-5, atol=1e-5)


def _export(model, args, **kw):
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ember.onnx.export(model, args, buf, dynamo=False, **kw)
    data = buf.getvalue()
    onnx.checker.check_model(onnx.load_from_string(data), full_check=True)
    return data


def _run(data, arrays):
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    return sess.run(None, dict(zip(names, arrays)))


def _module(lib, fn):
    class M(lib.nn.Module):
        def forward(self, *xs):
            return fn(lib, *xs)
    return M().eval()


def _check(fn, arrays, others=(), **kw):
    """onnxruntime == ember eager == torch eager on `arrays` (and, with dynamic axes, on
    each list of arrays in `others`)."""
    data = _export(_module(ember, fn), tuple(ember.tensor(a) for a in arrays), **kw)
    for feed in [arrays] + list(others):
        got = _run(data, feed)
        with torch.no_grad():
            want_t = fn(torch, *(torch.tensor(a) for a in feed))
        want_e = fn(ember, *(ember.tensor(a) for a in feed))
        want_t = want_t if isinstance(want_t, tuple) else (want_t,)
        want_e = want_e if isinstance(want_e, tuple) else (want_e,)
        assert len(got) == len(want_e) == len(want_t)
        for g_, we, wt in zip(got, want_e, want_t):
            assert g_.shape == tuple(we.shape) == tuple(wt.shape)
            np.testing.assert_allclose(g_, we.numpy(), **TOL)
            np.testing.assert_allclose(g_, wt.numpy(), **TOL)
    return data


def _f(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _then(y, *_):
    return y


VIEW_WRITES = {
    "slice_add_": lambda L, x: _then(y := x.clone(), y[:2].add_(1.0)),
    "slice_of_slice_mul_": lambda L, x: _then(y := x.clone(), y[1:][:, 1].mul_(3.0)),
    "select_fill_": lambda L, x: _then(y := x.clone(), y.select(1, 2).fill_(7.0)),
    "narrow_relu_": lambda L, x: _then(y := x.clone(), y.narrow(0, 1, 2).relu_()),
    "t_then_index_add_": lambda L, x: _then(y := x.clone(), y.t()[0].add_(5.0)),
    "view_then_slice_zero_": lambda L, x: _then(y := x.clone(), y.view(12)[3:5].zero_()),
    "unsqueeze_permute_": lambda L, x: _then(y := x.clone(),
                                            y.unsqueeze(0).permute(2, 0, 1)[1].zero_()),
    "setitem_on_a_view": lambda L, x: _then(y := x.clone(), y[:2].__setitem__(0, 9.0)),
    "view_and_base_both_read": lambda L, x: (lambda y, v: (v.add_(1.0), v * 2, y)[1:])(
        *(lambda y: (y, y[1]))(x.clone())),
    "advanced_index_is_a_copy": lambda L, x: _then(y := x.clone(), y[[0, 2]].add_(1.0)),
}


@pytest.mark.parametrize("name", sorted(VIEW_WRITES))
def test_in_place_op_on_a_view_writes_its_base(name):
    _check(VIEW_WRITES[name], [_f(3, 4)])


def test_view_writes_under_dynamic_axes():
    fn = VIEW_WRITES["slice_add_"]
    _check(lambda L, x: _then(y := x.clone(), y[:, 1:3].mul_(-1.0)), [_f(3, 4)],
           others=[[_f(5, 4, seed=1)]], input_names=["x"], dynamic_axes={"x": {0: "n"}})
    assert fn   # (the static form is above)


def test_in_place_op_on_another_view_names_it():
    m = _module(ember, lambda L, x: _then(y := x.clone(), y.diagonal().fill_(0.0)))
    with pytest.raises(ember.onnx.errors.UnsupportedOperatorError,
                       match="in-place op writes into this view"):
        _export(m, (ember.tensor(_f(3, 3)),))


def test_shape_ops():
    def fn(L, x):
        return (x.select(0, -1), L.movedim(x, 0, -1), L.movedim(x, (0, 1), (2, 0)),
                x.diagonal(), x.diagonal(1, 1, 2), x.diagonal(-1, 0, 2), x.argsort(1),
                x.argsort(-1, descending=True), L.zeros_like(x).fill_(2.5))
    _check(fn, [_f(2, 3, 4)])


def test_pixel_unshuffle_under_dynamic_batch():
    fn = lambda L, x: L.nn.functional.pixel_unshuffle(x, 2)   # noqa: E731
    _check(fn, [_f(1, 3, 4, 6)], others=[[_f(3, 3, 4, 6, seed=1)]], input_names=["x"],
           dynamic_axes={"x": {0: "n"}})


def test_clamp_with_tensor_bounds():
    def fn(L, x, lo):
        return x.clamp(min=lo), x.clamp(max=lo[0]), L.clamp(x, lo, lo + 0.5)
    _check(fn, [_f(3, 4), _f(4, seed=1)])


@pytest.mark.parametrize("masked", [False, True])
def test_sdpa_causal_and_boolean_mask(masked):
    def fn(L, q, k, v, m):
        if masked:
            return L.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=m)
        return L.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
    mask = np.tril(np.ones((4, 6), bool), 1)
    _check(fn, [_f(2, 2, 4, 8), _f(2, 2, 6, 8, seed=1), _f(2, 2, 6, 8, seed=2), mask])


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
def test_grid_sample(mode, padding_mode, align_corners):
    def fn(L, x, grid):
        return L.nn.functional.grid_sample(x, grid, mode=mode, padding_mode=padding_mode,
                                           align_corners=align_corners)
    grid = np.random.default_rng(3).uniform(-1.2, 1.2, (2, 4, 3, 2)).astype(np.float32)
    _check(fn, [_f(2, 3, 5, 6), grid])


@pytest.mark.parametrize("align_corners", [False, True])
def test_affine_grid_feeds_grid_sample(align_corners):
    def fn(L, x, theta):
        F = L.nn.functional
        grid = F.affine_grid(theta, [x.shape[0], 3, 4, 5], align_corners=align_corners)
        return grid, F.grid_sample(x, grid, align_corners=align_corners)
    _check(fn, [_f(2, 3, 6, 7), _f(2, 2, 3, seed=1)])


def test_affine_grid_3d_and_grid_sample_opset_gate():
    fn = lambda L, theta: L.nn.functional.affine_grid(theta, [2, 1, 2, 3, 4],   # noqa: E731
                                                      align_corners=False)
    _check(fn, [_f(2, 3, 4)])
    m = _module(ember, lambda L, x, g: L.nn.functional.grid_sample(x, g, align_corners=False))
    args = (ember.tensor(_f(1, 1, 3, 3)), ember.tensor(_f(1, 2, 2, 2)))
    with pytest.raises(ember.onnx.errors.UnsupportedOperatorError, match="needs opset 16"):
        _export(m, args, opset_version=15)
