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


def test_while_loop_names_the_gap():
    class Loop(ember.nn.Module):
        def forward(self, x):
            return ember.while_loop(lambda i, x: i < 3, lambda i, x: (i + 1, x * 2),
                                    (ember.tensor(0), x))[1]
    with pytest.raises(ember.onnx.errors.UnsupportedOperatorError, match="while_loop"):
        _export(Loop(), (ember.randn(2),))
