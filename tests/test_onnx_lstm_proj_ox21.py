"""torch.onnx.export of nn.LSTM with proj_size (ONNX's LSTM has no projection: ember
writes a Scan over the time steps): checked by onnx's checker and by onnxruntime against
ember's and PyTorch's outputs, at the traced sizes and at other sequence lengths and
batch sizes."""
import io

import numpy as np
import pytest

import ember
import ember.nn as nn

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

_rng = np.random.default_rng(13)


def _build(nn, with_state, **kw):
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.LSTM(3, 6, proj_size=2, **kw)

        def forward(self, x, h0=None, c0=None):
            out, (h, c) = self.rnn(x, (h0, c0)) if with_state else self.rnn(x)
            return out, h, c
    return M().eval()


CONFIGS = {
    "one_layer": {},
    "two_layers": dict(num_layers=2),
    "bidirectional": dict(bidirectional=True),
    "batch_first_stacked_bidirectional": dict(batch_first=True, num_layers=2,
                                              bidirectional=True),
    "no_bias": dict(bias=False),
}


@pytest.mark.parametrize("opset", [13, 20])
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_projected_lstm_matches_torch_at_other_lengths(name, opset):
    kw = CONFIGS[name]
    m, t = _build(nn, False, **kw), _build(torch.nn, False, **kw)
    t.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in m.state_dict().items()})
    x = _rng.standard_normal((5, 4, 3)).astype(np.float32)
    buf = io.BytesIO()
    ember.onnx.export(m, (ember.tensor(x),), buf, input_names=["x"], opset_version=opset,
                      dynamic_axes={"x": {0: "a", 1: "b"}})
    proto = onnx.load_from_string(buf.getvalue())
    onnx.checker.check_model(proto, full_check=True)
    assert "Scan" in [n.op_type for n in proto.graph.node]
    sess = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    for shape in ((5, 4, 3), (7, 2, 3), (1, 1, 3)):
        xs = _rng.standard_normal(shape).astype(np.float32)
        got = sess.run(None, {"x": xs})
        with torch.no_grad():
            want = [w.numpy() for w in t(torch.from_numpy(xs))]
        mine = [w.detach().numpy() for w in m(ember.tensor(xs))]
        for g, w, e in zip(got, want, mine):
            assert g.shape == w.shape
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)


def test_projected_lstm_with_given_state():
    kw = dict(num_layers=2, bidirectional=True)
    m, t = _build(nn, True, **kw), _build(torch.nn, True, **kw)
    t.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in m.state_dict().items()})
    x = _rng.standard_normal((4, 3, 3)).astype(np.float32)
    h0 = _rng.standard_normal((4, 3, 2)).astype(np.float32)
    c0 = _rng.standard_normal((4, 3, 6)).astype(np.float32)
    buf = io.BytesIO()
    ember.onnx.export(m, tuple(ember.tensor(a) for a in (x, h0, c0)), buf)
    onnx.checker.check_model(onnx.load_from_string(buf.getvalue()), full_check=True)
    sess = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    got = sess.run(None, {i.name: a for i, a in zip(sess.get_inputs(), (x, h0, c0))})
    with torch.no_grad():
        want = [w.numpy() for w in t(*[torch.from_numpy(a) for a in (x, h0, c0)])]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
