"""The trace records a program's calls the same way whatever ran before it in the process.

CI's ``-n 2`` run once exported a bidirectional packed LSTM whose ``cat`` (nn.RNNBase's
joining of the two directions) was recorded as the op class ``Cat`` instead of the
function: on that worker a quantized tensor had been made earlier. The quantized kernels'
fronts (ember/_ops/quantized_ops.py) were not marked with their layer's rank, so the
__torch_function__ dispatcher, activated later by the trace's mode, did not reach the
function beneath ``ember.cat``'s front that ember.nn.modules.rnn imported by name, and the
mode never saw that call. Each test runs in a fresh interpreter, since the quantized
fronts, once installed, stay for the process."""
import subprocess
import sys
import textwrap

import pytest

_PROGRAM = textwrap.dedent("""
    import io, sys, warnings
    warnings.simplefilter("ignore")
    import numpy as np
    import ember, ember.nn as nn
    from ember import _fronts
    R = nn.utils.rnn
    if sys.argv[1] == "quantized_first":
        ember.quantize_per_tensor(ember.ones(2), 0.1, 0, ember.quint8)
        assert _fronts.layer_of(ember.cat) == _fronts.QUANTIZED, ember.cat

    class Plain(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(3, 4, batch_first=True, bidirectional=True)

        def forward(self, x):
            return self.rnn(x)[0]

    ep = ember.export.export(Plain(), (ember.randn(2, 5, 3),))
    print("export:", [str(n.target) for n in ep.graph.nodes if n.op == "call_function"])

    class Packed(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.LSTM(3, 4, batch_first=True, bidirectional=True)

        def forward(self, x, lengths):
            p = R.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            return R.pad_packed_sequence(self.rnn(p)[0], batch_first=True)[0]

    m = Packed().eval()
    x, lengths = ember.randn(3, 5, 3), ember.tensor([5, 2, 4])
    buf = io.BytesIO()
    ember.onnx.export(m, (x, lengths), buf, dynamo=False, input_names=["x", "lengths"])
    try:
        import onnxruntime as ort
    except ImportError:
        print("onnx: exported")
        raise SystemExit
    sess = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"x": x.numpy(), "lengths": lengths.numpy()})[0]
    np.testing.assert_allclose(got, m(x, lengths).detach().numpy(), rtol=2e-5, atol=2e-6)
    print("onnx: matches eager")
""")


@pytest.mark.parametrize("before", ["nothing", "quantized_first"])
def test_rnn_cat_is_recorded_as_the_function_after_a_quantized_tensor(before):
    run = subprocess.run([sys.executable, "-c", _PROGRAM, before], capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    export_line = next(line for line in run.stdout.splitlines() if line.startswith("export:"))
    assert "'aten.cat.default'" in export_line
    assert "Cat" not in export_line.replace("aten.cat", "")
    assert "onnx:" in run.stdout
