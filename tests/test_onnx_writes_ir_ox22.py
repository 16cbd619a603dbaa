"""torch.onnx.export: the IR version each exporter writes, and writes mixing index tensors
with partial slices (``x[1:3, idx] = v``). Each written file passes onnx's checker and
onnxruntime's outputs equal ember's and PyTorch's eager outputs on the same inputs, at the
traced sizes and (dynamic axes) at others."""
import io
import warnings

import numpy as np
import pytest

import ember
import ember.nn as nn

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

_rng = np.random.default_rng(22)


def _export(lib, model, args, **kw):
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lib.onnx.export(model, args, buf, **kw)
    data = buf.getvalue()
    onnx.checker.check_model(onnx.load_from_string(data), full_check=True)
    return data


def _run(data, *arrays):
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    return sess.run(None, {i.name: a for i, a in zip(sess.get_inputs(), arrays)})


# ---- IR version -------------------------------------------------------------------

@pytest.mark.parametrize("opset", [13, 14, 15, 18, 19, 20])
def test_torchscript_exporter_ir_version_follows_the_opset(opset):
    """dynamo=False writes the IR version its opset came with, as PyTorch 2.13's
    TorchScript exporter does (compared with its file: 7, 7, 8, 8, 9, 9)."""
    x = ember.randn(2, 3)
    got = onnx.load_from_string(_export(ember, nn.Linear(3, 2), (x,), dynamo=False,
                                        opset_version=opset))
    want = onnx.load_from_string(_export(torch, torch.nn.Linear(3, 2), (torch.randn(2, 3),),
                                         dynamo=False, opset_version=opset))
    assert got.ir_version == want.ir_version
    assert [(o.domain, o.version) for o in got.opset_import] == \
        [(o.domain, o.version) for o in want.opset_import]


@pytest.mark.parametrize("opset", [None, 18, 23])
def test_dynamo_exporter_writes_ir_version_10(opset):
    """dynamo=True: PyTorch 2.13 writes IR version 10 whatever the opset
    (torch/onnx/_internal/exporter/_constants.py ONNX_IR_VERSION, read from the installed
    PyTorch: its dynamo exporter needs onnxscript, not in the test environment), in the
    file, in ONNXProgram.save's and in model_proto."""
    from torch.onnx._internal.exporter import _constants
    assert _constants.ONNX_IR_VERSION == 10
    x = ember.randn(2, 3)
    kw = {} if opset is None else {"opset_version": opset}
    data = _export(ember, nn.Linear(3, 2), (x,), dynamo=True, **kw)
    assert onnx.load_from_string(data).ir_version == 10
    program = ember.onnx.export(nn.Linear(3, 2).eval(), (x,), dynamo=True, **kw)
    assert program.model_proto.ir_version == 10
    buf = io.BytesIO()
    program.save(buf)
    assert onnx.load_from_string(buf.getvalue()).ir_version == 10
    assert program.model_proto.opset_import[0].version == (opset or 20)


# ---- x[partial slices, index tensors] = v ------------------------------------------

class _Fn(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, *args):
        return self.fn(*args)


def _inputs(n=5):
    x = _rng.standard_normal((n, 4, 6)).astype(np.float32)
    i = np.array([2, -1, 0])
    j = np.array([1, 3])
    return x, i, j, x[0] > 0.0


def _put(fn):
    def write(x, i, j, m):
        y = x.clone()
        fn(y, i, j, m)
        return y * 1.5
    return write


def _ones(like, *shape):
    return (ember.ones if isinstance(like, ember.Tensor) else torch.ones)(*shape)


S = slice
WRITES = {
    "slice_then_tensor": lambda y, i, j, m: y.__setitem__((S(1, 3), j), 7.0),
    "slice_then_tensor_broadcast_row": lambda y, i, j, m: y.__setitem__(
        (S(1, 3), j), y[0, 0]),                   # v (6,) broadcast to (2, 2, 6)
    "slice_then_tensor_full_value": lambda y, i, j, m: y.__setitem__(
        (S(1, 3), j), y[:2, :2] * -2),
    "tensor_then_slice": lambda y, i, j, m: y.__setitem__((i, S(0, 3)), -1.0),
    "tensor_slice_tensor": lambda y, i, j, m: y.__setitem__((i[:2], S(1, None), j), y[0, 0, :3]),
    "stepped_negative_slice": lambda y, i, j, m: y.__setitem__((S(None, None, 2), j, S(-3, None)),
                                                               9.0),
    "two_tensors_after_slice": lambda y, i, j, m: y.__setitem__((S(-2, None), j, i[:2]), 4.0),
    "int_slice_tensor": lambda y, i, j, m: y.__setitem__((0, S(1, 3), i), y[1, :2, :3] + 1),
    "ellipsis_slice_tensor": lambda y, i, j, m: y.__setitem__((Ellipsis, S(0, 2), i), 3.0),
    "slice_then_mask": lambda y, i, j, m: y.__setitem__((S(1, 4), m), 0.0),
    "none_then_tensor": lambda y, i, j, m: y.__setitem__((None, i), y[0] * 2),
    "slice_none_tensor": lambda y, i, j, m: y.__setitem__((S(1, 3), None, j), -3.0),
    "none_and_slices": lambda y, i, j, m: y.__setitem__((None, S(0, 2), Ellipsis, None), 6.0),
    "augmented": lambda y, i, j, m: y.__setitem__((S(1, 3), j), y[1:3, j] + y[0, :2]),
}


def _check(fn, dynamic):
    fn = _put(fn)
    x, i, j, m = _inputs()
    kw = {}
    if dynamic:
        kw = dict(input_names=["x", "i", "j", "m"], dynamic_axes={"x": {0: "n"}})
    data = _export(ember, _Fn(fn), tuple(ember.tensor(a) for a in (x, i, j, m)), **kw)
    for n in ((5, 7) if dynamic else (5,)):
        arrays = _inputs(n)
        got, = _run(data, *arrays)
        want_torch = fn(*[torch.from_numpy(a) for a in arrays]).numpy()
        want_ember = fn(*[ember.tensor(a) for a in arrays]).numpy()
        assert got.shape == want_torch.shape
        np.testing.assert_allclose(got, want_torch, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(got, want_ember, rtol=1e-6, atol=1e-6)
    return data


@pytest.mark.parametrize("dynamic", [False, True], ids=["static", "dynamic"])
@pytest.mark.parametrize("name", sorted(WRITES))
def test_write_mixing_slices_and_index_tensors_matches_torch(name, dynamic):
    _check(WRITES[name], dynamic)


def test_slice_and_tensor_write_runs_where_torchscript_exporters_file_fails():
    """PyTorch's TorchScript exporter writes ``x[1:3, idx] = v`` with v broadcast from a row
    as a Reshape onnxruntime refuses; ember's file runs and gives the eager answer."""
    fn = WRITES["slice_then_tensor_broadcast_row"]

    class T(torch.nn.Module):
        def forward(self, x, i, j, m):
            return _put(fn)(x, i, j, m)
    arrays = _inputs()
    data = _export(torch, T(), tuple(torch.from_numpy(a) for a in arrays), dynamo=False)
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    feed = dict(zip("xijm", arrays))        # unused inputs are dropped from its file
    with pytest.raises(Exception, match="Reshape"):
        sess.run(None, {i.name: feed[i.name] for i in sess.get_inputs()})
    _check(fn, dynamic=False)
