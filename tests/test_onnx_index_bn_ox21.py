"""torch.onnx.export of advanced indexing (several index tensors, boolean masks, writes
``x[key] = v`` under dynamic axes) and of batch norm in training mode: each written file
passes onnx's checker and onnxruntime's outputs equal ember's and PyTorch's on the same
inputs, at the traced sizes and (dynamic axes) at others."""
import io
import warnings

import numpy as np
import pytest

import ember
import ember.nn as nn

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

RTOL, ATOL = 1e-5, 1e-5
_rng = np.random.default_rng(21)


def _export(model, args, **kw):
    buf = io.BytesIO()
    ember.onnx.export(model, args, buf, **kw)
    data = buf.getvalue()
    onnx.checker.check_model(onnx.load_from_string(data), full_check=True)
    return data


def _run(data, *arrays):
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    return sess.run(None, {i.name: a for i, a in zip(sess.get_inputs(), arrays)})


class _Fn(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn
        self.eval()

    def forward(self, *args):
        return self.fn(*args)


def _inputs(n=4):
    x = _rng.standard_normal((n, 4, 4)).astype(np.float32)
    i = np.array([0, 2, 2, -1])
    j = np.array([1, -1, 3, 0])
    return x, i, j, x > 0.2


READS = {
    "two_tensors": lambda x, i, j, m: x[i, j],
    "mask_all_dims": lambda x, i, j, m: x[m],
    "mask_leading_dims": lambda x, i, j, m: x[m[..., 0]],
    "mask_after_slice": lambda x, i, j, m: x[:, m[0]],
    "mask_and_tensor": lambda x, i, j, m: x[m[:, 0, 0], 1:3, 0],
    "int_selects_first": lambda x, i, j, m: x[0, :, i],           # (4, n): not numpy's
    "tensor_int_tensor": lambda x, i, j, m: x[i, 0, j],
    "split_by_slice": lambda x, i, j, m: x[i, :, j],              # index dims first
    "adjacent_after_slice": lambda x, i, j, m: x[:, i, j],        # index dims in place
    "broadcast_2d": lambda x, i, j, m: x[:, i[:2].reshape(2, 1), j[:3]],
    "ellipsis": lambda x, i, j, m: x[..., i, j],
    "python_lists": lambda x, i, j, m: x[[0, 2], :, [1, 1]],
    "mask_then_ops": lambda x, i, j, m: (x[m] * 2).exp(),
}


def _put(fn):
    def write(x, i, j, m):
        y = x.clone()
        fn(y, i, j, m)
        return y
    return write


def _ones(like, *shape):
    return (ember.ones if isinstance(like, ember.Tensor) else torch.ones)(*shape)


WRITES = {
    "mask_scalar": _put(lambda y, i, j, m: y.__setitem__(m, 0.0)),
    "mask_tensor": _put(lambda y, i, j, m: y.__setitem__(m, y[m] * 2)),
    "slices": _put(lambda y, i, j, m: y.__setitem__((slice(None), slice(1, 3)), 5.0)),
    "int_row": _put(lambda y, i, j, m: y.__setitem__(1, y[0] + 1)),
    "negative_int_and_step": _put(lambda y, i, j, m: y.__setitem__((-1, slice(None, None, 2),
                                                                     0), 7.0)),
    "ellipsis": _put(lambda y, i, j, m: y.__setitem__((Ellipsis, 1), 2.0)),
    "tensor": _put(lambda y, i, j, m: y.__setitem__(i[:2], y[0] * 3)),
    "two_tensors": _put(lambda y, i, j, m: y.__setitem__((i, j), 3.0)),
    "tensor_after_slice": _put(lambda y, i, j, m: y.__setitem__((slice(None), j[:2]),
                                                                y[:, :2] + 1)),
    "int_and_tensor": _put(lambda y, i, j, m: y.__setitem__((0, i[:2]), y[1, :2] * 2)),
    "int_between_tensors": _put(lambda y, i, j, m: y.__setitem__((i, 0, j), -1.0)),
    "int_slice_tensor": _put(lambda y, i, j, m: y.__setitem__((0, slice(None), j[:3]),
                                                              y[1, :, :3] + 4)),   # (4, 3)
    "tensor_slice_int": _put(lambda y, i, j, m: y.__setitem__((i[:3], slice(None), 2),
                                                              y[:3, :, 0])),
    "mask_and_int": _put(lambda y, i, j, m: y.__setitem__((m[:, 0, 0], 1), 9.0)),
    "accumulate_duplicates": _put(lambda y, i, j, m: y.index_put_((i,), _ones(y, 4, 4),
                                                                  accumulate=True)),
}


def _check(fn, dynamic):
    x, i, j, m = _inputs()
    kw = {}
    if dynamic:
        kw = dict(input_names=["x", "i", "j", "m"], dynamic_axes={"x": {0: "n"}, "m": {0: "n"}})
    data = _export(_Fn(fn), tuple(ember.tensor(a) for a in (x, i, j, m)), **kw)
    sizes = (4, 6) if dynamic else (4,)
    for n in sizes:
        arrays = _inputs(n)
        got, = _run(data, *arrays)
        want_torch = fn(*[torch.from_numpy(a) for a in arrays]).numpy()
        want_ember = fn(*[ember.tensor(a) for a in arrays]).numpy()
        assert got.shape == want_torch.shape == want_ember.shape
        np.testing.assert_allclose(got, want_torch, rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(got, want_ember, rtol=RTOL, atol=ATOL)
    return data


@pytest.mark.parametrize("dynamic", [False, True], ids=["static", "dynamic"])
@pytest.mark.parametrize("name", sorted(READS))
def test_advanced_index_read_matches_torch(name, dynamic):
    _check(READS[name], dynamic)


@pytest.mark.parametrize("dynamic", [False, True], ids=["static", "dynamic"])
@pytest.mark.parametrize("name", sorted(WRITES))
def test_index_write_matches_torch(name, dynamic):
    _check(WRITES[name], dynamic)


def test_mask_count_is_not_declared_as_the_example_count():
    """x[m]'s length is the count of True values: the output's dim is left unknown, not
    the example's count (which would be wrong for other inputs)."""
    data = _check(READS["mask_then_ops"], dynamic=False)
    dim = onnx.load_from_string(data).graph.output[0].type.tensor_type.shape.dim[0]
    assert not dim.HasField("dim_value")
    proto = onnx.load_from_string(_check(READS["mask_all_dims"], dynamic=False))
    assert "NonZero" in [n.op_type for n in proto.graph.node]


def test_index_put_accumulate_needs_opset_16():
    with pytest.raises(ember.onnx.errors.UnsupportedOperatorError, match="accumulate"):
        _export(_Fn(WRITES["accumulate_duplicates"]),
                tuple(ember.tensor(a) for a in _inputs()), opset_version=15)


# ---- batch norm in training mode --------------------------------------------------

def _bn_net(nn):
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                         nn.Linear(36, 5), nn.BatchNorm1d(5, affine=False))


def _twins():
    m = _bn_net(nn)
    t = _bn_net(torch.nn)
    t.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in m.state_dict().items()})
    return m, t


def _with_running_stats(m, t):
    """Give both twins the same running statistics, unlike a batch's."""
    t.train()
    t(torch.randn(4, 3, 5, 5))
    m.load_state_dict({k: ember.tensor(v.numpy()) for k, v in t.state_dict().items()})


@pytest.mark.parametrize("opset", [13, 17, 20])
def test_training_mode_model_under_dynamo_is_written_as_torch_writes_it(opset):
    """dynamo=True (the default) on a model in train(): PyTorch 2.13 warns and writes batch
    norm with running statistics in inference form (checked against torch.onnx.export
    with onnxscript 0.7.2: BatchNormalization without training_mode, whose outputs equal
    the eval-mode model's); one without running statistics uses the batch's."""
    m, t = _twins()
    _with_running_stats(m, t)
    m.train()
    x = _rng.standard_normal((3, 3, 5, 5)).astype(np.float32)
    with pytest.warns(UserWarning, match="training mode"):
        data = _export(m, (ember.tensor(x),), opset_version=opset, input_names=["x"],
                       dynamic_axes={"x": {0: "batch"}})
    assert m.training
    ops = [n.op_type for n in onnx.load_from_string(data).graph.node]
    assert ops.count("BatchNormalization") == 2 and "ReduceMean" not in ops
    t.eval()
    m.eval()
    for n in (3, 7):
        x2 = _rng.standard_normal((n, 3, 5, 5)).astype(np.float32)
        got, = _run(data, x2)
        np.testing.assert_allclose(got, t(torch.from_numpy(x2)).detach().numpy(),
                                   rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(got, m(ember.tensor(x2)).detach().numpy(),
                                   rtol=1e-4, atol=1e-5)


def test_batch_norm_without_running_stats_uses_the_batch_under_dynamo():
    def build(nn):
        return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4, track_running_stats=False))
    m, t = build(nn), build(torch.nn)
    t.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in m.state_dict().items()})
    x = _rng.standard_normal((3, 3, 5, 5)).astype(np.float32)
    with pytest.warns(UserWarning, match="training mode"):
        data = _export(m.train(), (ember.tensor(x),))
    got, = _run(data, x)
    np.testing.assert_allclose(got, t.train()(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-4, atol=1e-5)
    # in eval mode too (no running statistics to use): the batch's
    data = _export(m.eval(), (ember.tensor(x),))
    got, = _run(data, x)
    np.testing.assert_allclose(got, t.eval()(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("mode", ["TRAINING", "PRESERVE", "EVAL"])
def test_torchscript_exporter_training_modes(mode):
    """dynamo=False: TrainingMode.EVAL (the default) traces in eval mode, TRAINING in train
    mode, PRESERVE as the model is; the model's own mode is restored afterwards."""
    m, t = _twins()
    _with_running_stats(m, t)
    m.train()
    x = _rng.standard_normal((3, 3, 5, 5)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")      # no training-mode warning from dynamo=False
        data = _export(m, (ember.tensor(x),), dynamo=False,
                       training=getattr(ember.onnx.TrainingMode, mode))
    assert m.training
    got, = _run(data, x)
    t.train(mode != "EVAL")
    np.testing.assert_allclose(got, t(torch.from_numpy(x)).detach().numpy(), rtol=1e-4,
                               atol=1e-5)


def test_small_fresh_batch_norm_in_training_mode():
    """TrainingMode.TRAINING on a fresh 4-channel layer (running_var = weight = ones): the
    batch statistics, also where onnxruntime's BatchNormalization(training_mode=1) goes
    wrong."""
    m = nn.BatchNorm2d(4).train()
    x = _rng.standard_normal((3, 4, 5, 5)).astype(np.float32)
    data = _export(m, (ember.tensor(x),), dynamo=False,
                   training=ember.onnx.TrainingMode.TRAINING)
    got, = _run(data, x)
    want = torch.nn.functional.batch_norm(torch.from_numpy(x), None, None, training=True)
    np.testing.assert_allclose(got, want.numpy(), rtol=1e-4, atol=1e-5)
    ops = [n.op_type for n in onnx.load_from_string(data).graph.node]
    assert "BatchNormalization" not in ops and "ReduceMean" in ops


def test_functional_batch_norm_without_running_stats():
    class M(nn.Module):
        def forward(self, x):
            return nn.functional.batch_norm(x, None, None, training=True, eps=1e-3)
    x = _rng.standard_normal((5, 3)).astype(np.float32)
    got, = _run(_export(M().eval(), (ember.tensor(x),)), x)
    want = torch.nn.functional.batch_norm(torch.from_numpy(x), None, None, training=True,
                                          eps=1e-3)
    np.testing.assert_allclose(got, want.numpy(), rtol=1e-4, atol=1e-5)
