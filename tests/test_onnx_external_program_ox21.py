"""torch.onnx.export's external data (PyTorch 2.13 writes the weights of a model exported
to a path into ``<path>.data`` beside it by default) and ONNXProgram: save options and
``__call__`` running the model in onnxruntime, against ember's and PyTorch's outputs."""
import io
import os

import numpy as np
import pytest

import ember
import ember.nn as nn

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

_rng = np.random.default_rng(2113)


def _net(nn):
    return nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 4))


def _twins():
    m = _net(nn).eval()
    t = _net(torch.nn).eval()
    t.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in m.state_dict().items()})
    return m, t


def _external_entries(path):
    """{initializer: {key: value}} of the tensors stored outside the model file."""
    proto = onnx.load(str(path), load_external_data=False)
    return {t.name: {e.key: e.value for e in t.external_data} for t in proto.graph.initializer
            if t.data_location == onnx.TensorProto.EXTERNAL}


def test_path_export_writes_weights_beside_by_default(tmp_path):
    m, t = _twins()
    x = _rng.standard_normal((3, 64)).astype(np.float32)
    path = tmp_path / "model.onnx"
    ember.onnx.export(m, (ember.tensor(x),), str(path), input_names=["x"],
                      dynamic_axes={"x": {0: "batch"}})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx", "model.onnx.data"]
    ext = _external_entries(path)
    # more than 256 bytes goes out, smallest first; the biases (128, 16) stay in
    assert set(ext) == {"0.weight", "2.weight"}
    assert ext["2.weight"] == {"location": "model.onnx.data", "offset": "0", "length": "512"}
    assert ext["0.weight"] == {"location": "model.onnx.data", "offset": "512",
                               "length": "8192"}
    assert os.path.getsize(str(path) + ".data") == 8192 + 512
    onnx.checker.check_model(str(path), full_check=True)
    loaded = {i.name: onnx.numpy_helper.to_array(i) for i in onnx.load(str(path)).graph.initializer}
    np.testing.assert_array_equal(loaded["0.weight"], m[0].weight.detach().numpy())
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for n in (3, 5):
        xn = _rng.standard_normal((n, 64)).astype(np.float32)
        got, = sess.run(None, {"x": xn})
        np.testing.assert_allclose(got, t(torch.from_numpy(xn)).detach().numpy(), rtol=1e-5,
                                   atol=1e-6)
        np.testing.assert_allclose(got, m(ember.tensor(xn)).detach().numpy(), rtol=1e-5,
                                   atol=1e-6)


def test_several_external_tensors_follow_one_another(tmp_path):
    m = nn.Sequential(nn.Linear(16, 32), nn.Linear(32, 16)).eval()
    path = tmp_path / "two.onnx"
    ember.onnx.export(m, (ember.randn(1, 16),), path)          # a pathlib.Path works too
    ext = _external_entries(path)
    assert [(k, v["offset"], v["length"]) for k, v in ext.items()] == [
        ("0.weight", "0", "2048"), ("1.weight", "2048", "2048")]
    raw = (tmp_path / "two.onnx.data").read_bytes()
    np.testing.assert_array_equal(np.frombuffer(raw[2048:], np.float32).reshape(16, 32),
                                  m[1].weight.detach().numpy())


def test_data_layout_is_pytorchs(tmp_path):
    """The offsets torch.onnx.export (2.13, onnxscript 0.7.2) gives this model: tensors of
    more than 256 bytes, smallest first, those past 1 MiB at a multiple of 64 KiB."""
    m = nn.Sequential(nn.Linear(64, 1), nn.Linear(1, 63), nn.Linear(63, 1100),
                      nn.Linear(1100, 300), nn.Linear(300, 65)).eval()
    ember.onnx.export(m, (ember.randn(2, 64),), tmp_path / "t.onnx")
    offsets = {k: int(v["offset"]) for k, v in _external_entries(tmp_path / "t.onnx").items()}
    assert offsets == {"4.bias": 0, "3.bias": 260, "2.bias": 1460, "4.weight": 5860,
                       "2.weight": 83860, "3.weight": 393216}
    assert os.path.getsize(tmp_path / "t.onnx.data") == 1713216
    sess = ort.InferenceSession(str(tmp_path / "t.onnx"), providers=["CPUExecutionProvider"])
    x = _rng.standard_normal((2, 64)).astype(np.float32)
    np.testing.assert_allclose(sess.run(None, {"input": x})[0],
                               m(ember.tensor(x)).detach().numpy(), rtol=1e-4, atol=1e-5)


def test_one_file_when_asked_small_or_legacy(tmp_path):
    m, _ = _twins()
    x = ember.randn(1, 64)
    ember.onnx.export(m, (x,), tmp_path / "one.onnx", external_data=False)
    ember.onnx.export(m, (x,), tmp_path / "legacy.onnx", dynamo=False)
    ember.onnx.export(nn.Linear(3, 2).eval(), (ember.randn(1, 3),), tmp_path / "small.onnx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["legacy.onnx", "one.onnx",
                                                         "small.onnx"]
    for name in ("one.onnx", "legacy.onnx", "small.onnx"):
        assert not _external_entries(tmp_path / name)
    buf = io.BytesIO()                # a file object: one file (PyTorch saves it whole)
    ember.onnx.export(m, (x,), buf)
    assert not onnx.load_from_string(buf.getvalue()).graph.initializer[0].external_data


def test_program_save_options(tmp_path):
    m, _ = _twins()
    prog = ember.onnx.export(m, (ember.randn(2, 64),))
    prog.save(tmp_path / "a.onnx", external_data=True)
    assert set(_external_entries(tmp_path / "a.onnx")) == {"0.weight", "2.weight"}
    prog.save(tmp_path / "b.onnx")
    assert not _external_entries(tmp_path / "b.onnx")
    prog.save(tmp_path / "c.onnx", include_initializers=False)
    assert not onnx.load(str(tmp_path / "c.onnx")).graph.initializer
    prog.save(tmp_path / "d.onnx", keep_initializers_as_inputs=True)
    proto = onnx.load(str(tmp_path / "d.onnx"))
    assert [i.name for i in proto.graph.input] == ["input", "0.weight", "0.bias", "2.weight",
                                                   "2.bias"]
    with pytest.raises(TypeError, match="file path"):
        prog.save(io.BytesIO(), external_data=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.onnx", "a.onnx.data", "b.onnx",
                                                         "c.onnx", "d.onnx"]


def test_program_call_runs_onnxruntime():
    def build(nn):
        class M(nn.Module):
            def __init__(self):
                super().__init__()
                self.lin = nn.Linear(4, 3)

            def forward(self, x, y=None, scale=2.0):
                out = self.lin(x) * scale
                return (out, out + y) if y is not None else out
        return M().eval()

    m = build(nn)
    t = build(torch.nn)
    t.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in m.state_dict().items()})
    x = _rng.standard_normal((2, 4)).astype(np.float32)
    y = _rng.standard_normal((2, 3)).astype(np.float32)
    prog = ember.onnx.export(m, (ember.tensor(x), ember.tensor(y)))
    got = prog(ember.tensor(x), ember.tensor(y))
    assert isinstance(got, tuple) and len(got) == 2
    assert all(isinstance(g, ember.Tensor) and g.dtype == ember.float32 for g in got)
    for g, w, e in zip(got, t(torch.from_numpy(x), torch.from_numpy(y)),
                       m(ember.tensor(x), ember.tensor(y))):
        np.testing.assert_allclose(g.numpy(), w.detach().numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(g.numpy(), e.detach().numpy(), rtol=1e-5, atol=1e-6)
    # kwargs flatten after args; the session is kept, release() drops it
    again = prog(ember.tensor(x), y=ember.tensor(y))
    np.testing.assert_array_equal(again[1].numpy(), got[1].numpy())
    prog.release()
    with pytest.raises(ValueError, match="takes 2 inputs"):
        prog(ember.tensor(x))


def test_program_call_with_dynamic_batch_and_int_input():
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(10, 4)

        def forward(self, idx):
            return self.emb(idx).sum(1)

    m = M().eval()
    prog = ember.onnx.export(m, (ember.tensor([[1, 2, 3]]),), input_names=["idx"],
                             dynamic_axes={"idx": {0: "n", 1: "length"}})
    idx = ember.tensor(_rng.integers(0, 10, (4, 5)))
    out, = prog(idx)
    np.testing.assert_allclose(out.numpy(), m(idx).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_program_tutorial_methods():
    """PyTorch's ONNX tutorial: export(dynamo=True), optimize(), save(); and
    call_reference, apply_weights, rename_axes as PyTorch's ONNXProgram has them."""
    m, t = _twins()
    x = _rng.standard_normal((2, 64)).astype(np.float32)
    prog = ember.onnx.export(m, (ember.tensor(x),), input_names=["x"],
                             dynamic_axes={"x": {0: "batch"}})
    assert prog.optimize() is None
    want = t(torch.from_numpy(x)).detach().numpy()
    ref, = prog.call_reference(ember.tensor(x))
    np.testing.assert_allclose(ref.numpy(), want, rtol=1e-5, atol=1e-6)
    out, = prog(ember.tensor(x))
    # new weights: the program's results follow (its session restarts)
    new = {k: v * 2 for k, v in m.state_dict().items()}
    with pytest.warns(ember.onnx.errors.OnnxExporterWarning, match="not found"):
        prog.apply_weights({**new, "missing.weight": ember.ones(1)})
    m.load_state_dict(new)
    t.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in new.items()})
    got, = prog(ember.tensor(x))
    np.testing.assert_allclose(got.numpy(), t(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-5)
    assert not np.allclose(got.numpy(), out.numpy())
    with pytest.raises(ValueError, match="apply_weights"):
        prog.apply_weights({"0.weight": ember.ones(3)})
    prog.rename_axes({"batch": "N"})
    proto = prog.model_proto
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "N"
    got5, = prog(ember.tensor(np.ones((5, 64), np.float32)))
    assert got5.shape == (5, 4)
