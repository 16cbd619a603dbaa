"""torch.onnx.export of torch.cond: an ONNX If whose two subgraphs are the branches (as
PyTorch 2.13's dynamo exporter writes it; checked with onnxscript 0.7.2 on the model
below: main graph ReduceSum, Greater, If, Mul; then-branch Gemm, Relu, Add, Mul). The
file passes onnx's checker and onnxruntime runs either branch as the eager model does,
at the traced and (dynamic axes) other batch sizes."""
import io
import warnings

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

_rng = np.random.default_rng(2422)


def _net(lib):
    class Net(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = lib.nn.Linear(3, 3)
            self.register_buffer("scale", lib.tensor(2.0))

        def forward(self, x, y):
            def yes(x, y):
                return self.fc(x).relu() + y, x * self.scale

            def no(x, y):
                return x.cos() - y, y.sum(0, keepdim=True).expand(x.shape[0], 3) + 0
            a, b = lib.cond(x.sum() > 0, yes, no, (x, y))
            return a * 2, b
    return Net().eval()


def _twins():
    m, t = _net(ember), _net(torch)
    t.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in m.state_dict().items()})
    return m, t


def _export(model, args, **kw):
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ember.onnx.export(model, args, buf, **kw)
    data = buf.getvalue()
    onnx.checker.check_model(onnx.load_from_string(data), full_check=True)
    return data


def _inputs(n, sign):
    x = ((_rng.random((n, 3)) + 0.1) * sign).astype(np.float32)
    return x, _rng.standard_normal((n, 3)).astype(np.float32)


@pytest.mark.parametrize("dynamic", [False, True], ids=["static", "dynamic"])
def test_cond_runs_either_branch_as_eager(dynamic):
    m, t = _twins()
    kw = dict(input_names=["x", "y"])
    if dynamic:
        kw["dynamic_axes"] = {"x": {0: "b"}, "y": {0: "b"}}
    data = _export(m, tuple(ember.tensor(a) for a in _inputs(2, 1)), **kw)
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    for n in ((2, 5) if dynamic else (2,)):
        for sign in (1, -1):
            x, y = _inputs(n, sign)
            got = sess.run(None, {"x": x, "y": y})
            want_t = [o.detach().numpy() for o in t(torch.from_numpy(x), torch.from_numpy(y))]
            want_e = [o.detach().numpy() for o in m(ember.tensor(x), ember.tensor(y))]
            for g, wt, we in zip(got, want_t, want_e):
                np.testing.assert_allclose(g, wt, rtol=1e-5, atol=1e-6)
                np.testing.assert_allclose(g, we, rtol=1e-5, atol=1e-6)


def test_cond_is_written_as_torch_writes_it():
    m, _ = _twins()
    proto = onnx.load_from_string(_export(m, tuple(ember.tensor(a) for a in _inputs(2, 1))))
    assert [n.op_type for n in proto.graph.node] == ["ReduceSum", "Greater", "If", "Mul"]
    node = next(n for n in proto.graph.node if n.op_type == "If")
    branches = {a.name: [n.op_type for n in a.g.node] for a in node.attribute}
    assert branches["then_branch"] == ["Gemm", "Relu", "Add", "Mul"]
    assert branches["else_branch"][:4] == ["Cos", "Sub", "ReduceSum", "Expand"]
    # the branch reads the model's weights from the main graph: no copies
    assert {t.name for t in proto.graph.initializer} >= {"fc.weight", "fc.bias", "scale"}
    then = next(a.g for a in node.attribute if a.name == "then_branch")
    assert not then.initializer


class _Loop(ember.nn.Module):
    """while_loop whose condition reads a model input the functions close over."""

    def __init__(self):
        super().__init__()
        self.fc = ember.nn.Linear(2, 2)

    def forward(self, n, x):
        return ember.while_loop(lambda i, x: i < n.sum(),
                                lambda i, x: (i + 1, self.fc(x).tanh() + 1),
                                (ember.zeros((), dtype=ember.int64), x))


def test_while_loop_is_a_loop_running_as_eager():
    """As PyTorch's dynamo exporter (onnxscript 0.7.2: Less then Loop, the body ending with
    the condition on the new values), for other counts (none too) and batch sizes."""
    m = _Loop().eval()
    data = _export(m, (ember.tensor(4), ember.randn(3, 2)), input_names=["n", "x"],
                   dynamic_axes={"x": {0: "b"}})
    proto = onnx.load_from_string(data)
    assert [n.op_type for n in proto.graph.node][-2:] == ["Less", "Loop"]
    body = next(a.g for a in proto.graph.node[-1].attribute if a.name == "body")
    assert [n.op_type for n in body.node][-1] == "Less" and len(body.input) == 4
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    for n, b in ((4, 3), (7, 5), (0, 1)):
        x = _rng.standard_normal((b, 2)).astype(np.float32)
        got = sess.run(None, {"n": np.array(n), "x": x})
        want = m(ember.tensor(n), ember.tensor(x))
        assert int(got[0]) == int(want[0]) == n
        np.testing.assert_allclose(got[1], want[1].detach().numpy(), rtol=1e-5, atol=1e-6)


def test_cond_branch_closing_over_a_traced_tensor():
    """A branch reading a tensor of the model computed outside its operands (PyTorch lifts
    such tensors as operands): read from the graph, not frozen at its example value."""
    class Net(ember.nn.Module):
        def forward(self, x, y):
            scale = y.mean()
            return ember.cond(x.sum() > 0, lambda x: x * scale, lambda x: x - scale, (x,))
    data = _export(Net(), tuple(ember.tensor(a) for a in _inputs(2, 1)), input_names=["x", "y"])
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    for sign in (1, -1):
        x, y = _inputs(2, sign)
        got, = sess.run(None, {"x": x, "y": y})
        np.testing.assert_allclose(got, Net()(ember.tensor(x), ember.tensor(y)).numpy(),
                                   rtol=1e-6, atol=1e-6)
