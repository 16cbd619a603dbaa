"""torch.onnx.export of torch.while_loop carrying Python ints (a counter beside tensors):
the int is an int64 0-d tensor of the ONNX Loop's state, as PyTorch's exporter carries
SymInts; the count the loop returns is read from the Loop, not baked in from the traced
run (it depends on the data), so the model may use it afterwards. onnxruntime's outputs
equal eager PyTorch's for inputs that loop a different number of times."""
import io
import warnings

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def _model(lib, use_count, start=0):
    class M(lib.nn.Module):
        def forward(self, x):
            loop = lib.while_loop if lib is ember else lib._higher_order_ops.while_loop
            n, k, y = loop(lambda i, k, y: y.sum() < 50.0,
                           lambda i, k, y: (i + 1, k * 3, y * 2), (start, 1, x))
            return (y, y * n + k) if use_count else y
    return M().eval()


@pytest.mark.parametrize("use_count", [False, True])
def test_while_loop_carrying_ints(use_count):
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ember.onnx.export(_model(ember, use_count, start=2), (ember.tensor([1.0, 2.0]),), buf,
                          dynamo=False, input_names=["x"])
    onnx.checker.check_model(onnx.load_from_string(buf.getvalue()), full_check=True)
    sess = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    for x in ([1.0, 2.0], [0.1, 0.2], [30.0, 40.0], [3.0, 0.5]):   # 4, 7, 0, 4 steps
        got = sess.run(None, {"x": np.array(x, np.float32)})
        want = _model(torch, use_count, start=2)(torch.tensor(x))
        want = want if isinstance(want, tuple) else (want,)
        assert len(got) == len(want)
        for g_, w in zip(got, want):
            np.testing.assert_allclose(g_, w.numpy(), rtol=1e-6)


def test_torch_export_records_the_count_it_returns():
    ep = ember.export.export(_model(ember, True), (ember.tensor([1.0, 2.0]),))
    for x in ([1.0, 2.0], [0.1, 0.2]):
        got = ep.module()(ember.tensor(x))
        want = _model(torch, True)(torch.tensor(x))
        for g_, w in zip(got, want):
            np.testing.assert_allclose(g_.numpy(), w.numpy(), rtol=1e-6)

