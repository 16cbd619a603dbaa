"""ONNXProgram.compute_values and ONNXProgram.model (PyTorch 2.13's ONNXProgram API).

compute_values runs the model in onnxruntime with the named values as its outputs; the
names are those of the fx nodes, as PyTorch's dynamo exporter names them (checked against
torch.onnx.export(dynamo=True) with onnxscript 0.7.2 for this model: node outputs
'linear', 'relu', 'linear_1', and the same ValueError for an unknown name). `model` is an
onnx_ir Model, needing the onnx_ir package (a test extra; without it that test skips, and
the ImportError naming it is checked with the module hidden)."""
import io
import sys

import numpy as np
import pytest

import ember
import ember.nn as nn

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

_rng = np.random.default_rng(2322)


def _program():
    m = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)).eval()
    x = ember.tensor(_rng.standard_normal((2, 4)).astype(np.float32))
    return m, x, ember.onnx.export(m, (x,), dynamo=True, input_names=["x"],
                                   dynamic_axes={"x": {0: "batch"}})


def test_value_names_are_the_fx_nodes():
    _, _, p = _program()
    assert [n.output[0] for n in p.model_proto.graph.node] == ["linear", "relu", "linear_1"]


def test_compute_values_gives_intermediate_values():
    m, x, p = _program()
    x2 = ember.tensor(_rng.standard_normal((5, 4)).astype(np.float32))
    relu, lin, inp, weight = p.compute_values(["relu", "linear", "x", "0.weight"], (x2,))
    with ember.no_grad():
        np.testing.assert_allclose(lin.numpy(), m[0](x2).numpy(), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(relu.numpy(), m[1](m[0](x2)).numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(inp.numpy(), x2.numpy())
    np.testing.assert_array_equal(weight.numpy(), m[0].weight.detach().numpy())
    assert isinstance(relu, ember.Tensor) and relu.shape == (5, 3)
    # the program itself still gives the model's output
    out, = p(x2)
    np.testing.assert_allclose(out.numpy(), m(x2).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_compute_values_of_an_unknown_name_raises_torchs_error():
    _, x, p = _program()
    with pytest.raises(ValueError, match="Value 'nope' not found in the model. Please "
                                         "provide a valid value name."):
        p.compute_values(["relu", "nope"], (x,))


def test_model_without_onnx_ir_names_the_package(monkeypatch):
    pytest.importorskip("onnx")
    monkeypatch.setitem(sys.modules, "onnx_ir", None)   # (as if it were not installed)
    _, x, p = _program()
    with pytest.raises(ImportError, match="onnx_ir"):
        p.model
    # the rest of the program is unaffected
    buf = io.BytesIO()
    p.save(buf)
    assert onnx.load_from_string(buf.getvalue()).graph.node[0].op_type == "Gemm"


def test_model_is_the_program_once_read(tmp_path):
    ir = pytest.importorskip("onnx_ir")
    m, x, p = _program()
    model = p.model
    assert isinstance(model, ir.Model) and p.model is model
    assert [n.op_type for n in model.graph] == ["Gemm", "Relu", "Gemm"]
    bias = model.graph.initializers["2.bias"]
    bias.const_value = ir.tensor(np.array([10.0, -10.0], np.float32))
    out, = p(x)
    with ember.no_grad():
        want = m(x).numpy() + np.array([10.0, -10.0]) - m[2].bias.detach().numpy()
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-5, atol=1e-5)
    path = tmp_path / "edited.onnx"
    p.save(str(path), external_data=True)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(sess.run(None, {"x": x.numpy()})[0], want, rtol=1e-5, atol=1e-5)
    with pytest.raises(NotImplementedError, match="after `model` was read"):
        p.apply_weights({"2.bias": ember.zeros(2)})
