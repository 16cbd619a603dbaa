"""torch.onnx.export of scatters and index-along-a-dim ops (ember/onnx/_ops/scatter.py):
scatter (src, value, reduce), scatter_add, scatter_reduce (every reduction, with and
without include_self), index_select, index_add, index_copy, index_fill, masked_select and
nn.EmbeddingBag / F.embedding_bag (sum, mean, max; offsets, 2-d input,
per_sample_weights, padding_idx, include_last_offset, empty bags). Each file passes onnx's
checker; onnxruntime's outputs equal the eager model's, ember's and PyTorch's (same
inputs and weights), on the traced inputs and, under dynamic axes, on others."""
import io
import warnings

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

TOL = dict(rtol=1e-5, atol=1e-6)
_IDX = np.array([[0, 0], [2, 2], [4, 0]])


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


def _as(lib, a):
    return lib.tensor(a)


def _check(fn, arrays, module=None, **kw):
    """fn(lib, *tensors) in a module; onnxruntime == ember eager == torch eager."""
    def make(lib):
        class M(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.sub = module(lib) if module is not None else None

            def forward(self, *xs):
                return fn(lib, self, *xs)
        return M().eval()
    e, t = make(ember), make(torch)
    if module is not None:
        e.load_state_dict({k: ember.tensor(v.detach().numpy())
                           for k, v in t.state_dict().items()})
    data = _export(e, tuple(_as(ember, a) for a in arrays), **kw)
    got = _run(data, arrays)
    with torch.no_grad():
        want_t = t(*(_as(torch, a) for a in arrays))
    want_e = e(*(_as(ember, a) for a in arrays))
    want_t = want_t if isinstance(want_t, tuple) else (want_t,)
    want_e = want_e if isinstance(want_e, tuple) else (want_e,)
    assert len(got) == len(want_t) == len(want_e)
    for g_, we, wt in zip(got, want_e, want_t):
        assert g_.shape == tuple(we.shape) == tuple(wt.shape)
        assert g_.dtype == we.detach().numpy().dtype
        np.testing.assert_allclose(g_, we.detach().numpy(), **TOL)
        np.testing.assert_allclose(g_, wt.detach().numpy(), **TOL)
    return data


def _f(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("form", ["src", "value", "add", "multiply", "method_"])
def test_scatter(form):
    def fn(lib, m, x, i, v):
        if form == "src":
            return lib.scatter(x, 1, i, v)
        if form == "value":
            return x.scatter(1, i, 2.5)
        if form == "method_":
            y = x.clone()
            y[:2].scatter_(1, i[:2], v[:2])
            return y
        return x.scatter(1, i, v, reduce=form)
    _check(fn, [_f(3, 5), np.array([[0, 1], [2, 3], [4, 0]]), _f(3, 2, seed=1)])


def test_scatter_add_and_src_larger_than_index():
    _check(lambda lib, m, x, i, v: x.scatter_add(1, i, v), [_f(3, 5), _IDX, _f(3, 4, seed=1)])


@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("reduce", ["sum", "prod", "amax", "amin", "mean"])
def test_scatter_reduce(reduce, include_self):
    # (PyTorch's TorchScript exporter refuses include_self=False and "mean")
    _check(lambda lib, m, x, i, v: x.scatter_reduce(1, i, v, reduce, include_self=include_self),
           [_f(3, 5), _IDX, _f(3, 2, seed=1)])


@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_mean_of_integers_rounds_down(include_self):
    x = np.array([[5, -3, 7, 1]], np.int64)
    v = np.array([[2, -4, 9]], np.int64)
    _check(lambda lib, m, x, i, v: x.scatter_reduce(1, i, v, "mean", include_self=include_self),
           [x, np.array([[0, 0, 1]]), v])


def test_index_select_add_copy_fill():
    def fn(lib, m, x, i, v):
        return (x.index_select(1, i[:2]), x.index_add(0, i, v, alpha=2.0),
                x.index_copy(0, lib.tensor([3, 1, 0]), v), x.index_fill(1, i[:2], -1.5),
                lib.index_select(x, 0, i[0]))
    # (index_add with a repeated index: PyTorch's TorchScript exporter's file keeps one)
    _check(fn, [_f(4, 3), np.array([0, 2, 0]), _f(3, 3, seed=1)])


def test_index_ops_under_dynamic_axes():
    def fn(lib, m, x, i, v):
        return x.index_add(1, i, v), x.index_fill(1, i, 0.5), x.scatter_add(1, i[None].expand(
            x.shape[0], -1), v)
    arrays = [_f(2, 5), np.array([1, 1, 3]), _f(2, 3, seed=1)]
    data = _check(fn, arrays, input_names=["x", "i", "v"],
                  dynamic_axes={"x": {0: "n"}, "v": {0: "n"}})
    x, v = _f(4, 5, seed=2), _f(4, 3, seed=3)
    got = _run(data, [x, arrays[1], v])
    t = torch.tensor
    want = (t(x).index_add(1, t(arrays[1]), t(v)), t(x).index_fill(1, t(arrays[1]), 0.5),
            t(x).scatter_add(1, t(arrays[1])[None].expand(4, -1), t(v)))
    for g_, w in zip(got, want):
        np.testing.assert_allclose(g_, w.numpy(), **TOL)


def test_masked_select_broadcasts_and_its_count_is_unknown():
    data = _check(lambda lib, m, x, mask: x.masked_select(mask),
                  [_f(3, 4), np.array([True, False, True, True])])
    out = onnx.load_from_string(data).graph.output[0]
    assert not out.type.tensor_type.shape.dim[0].HasField("dim_value")


def _bag(**kw):
    return lambda lib: lib.nn.EmbeddingBag(10, 4, **kw)


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_offsets(mode):
    # bags [0, 2), [2, 2) (empty: zeros), [2, 5), [5, 7)
    _check(lambda lib, m, x, off: m.sub(x, off), [np.array([1, 4, 2, 9, 2, 0, 7]),
                                                  np.array([0, 2, 2, 5])],
           module=_bag(mode=mode))


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_2d_input_and_padding_idx(mode):
    _check(lambda lib, m, x: m.sub(x), [np.array([[1, 4, 2], [0, 0, 0], [3, 0, 3]])],
           module=_bag(mode=mode, padding_idx=0))


def test_embedding_bag_weights_last_offset_and_dynamic_length():
    def fn(lib, m, x, off, w):
        return (m.sub(x, off, per_sample_weights=w),
                lib.nn.functional.embedding_bag(x, m.sub.weight, off, mode="mean",
                                                include_last_offset=True, padding_idx=3))
    arrays = [np.array([1, 4, 3, 9, 3, 0, 7]), np.array([0, 3, 3, 7]), _f(7)]
    data = _check(fn, arrays, module=_bag(mode="sum"), input_names=["x", "off", "w"],
                  dynamic_axes={"x": {0: "n"}, "off": {0: "b"}, "w": {0: "n"}})
    x, off, w = np.array([2, 3, 5, 5, 1]), np.array([0, 1, 1, 4, 5]), _f(5, seed=4)
    got = _run(data, [x, off, w])
    e = ember.nn.EmbeddingBag(10, 4, mode="sum")
    e.load_state_dict({"weight": ember.tensor(
        onnx.numpy_helper.to_array(onnx.load_from_string(data).graph.initializer[0]))})
    want = fn(ember, type("M", (), {"sub": e})(), ember.tensor(x), ember.tensor(off),
              ember.tensor(w))
    for g_, w_ in zip(got, want):
        assert g_.shape == tuple(w_.shape)
        np.testing.assert_allclose(g_, w_.detach().numpy(), **TOL)


def test_reducing_scatters_name_the_opset_they_need():
    class M(ember.nn.Module):
        def forward(self, x, i, v):
            return x.scatter_reduce(1, i, v, "amax")
    args = (ember.tensor(_f(3, 5)), ember.tensor(_IDX), ember.tensor(_f(3, 2)))
    with pytest.raises(ember.onnx.errors.UnsupportedOperatorError, match="needs opset 18"):
        _export(M(), args, opset_version=17)
    _export(M(), args, opset_version=18)
