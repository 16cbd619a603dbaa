"""ember.export's dynamic dims are found by running the graph at other sizes, not by
matching example sizes: a static dim whose size equals the batch's example size stays
static (torch.export's shapes are the reference), and torch.onnx.export declares the
output shapes accordingly; onnxruntime checks the model at other batch sizes."""
import io

import numpy as np
import pytest

import ember
import ember.nn as nn

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def _build(nn):
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(3, 3)
            self.b = nn.Linear(3, 1)

        def forward(self, x):
            h = self.a(x).relu()
            return h, self.b(h), h.sum(0), x.t() @ x, ember_or_torch(nn).cat([h, h], 0)
    return M().eval()


def ember_or_torch(module):
    return ember if module is nn else torch


def _pattern(shape):
    """Which dims are dynamic: 'd' for a symbol, the size for a static dim."""
    return tuple("d" if not isinstance(s, int) else s for s in shape)


def test_static_dims_equal_to_the_batch_stay_static_as_in_torch_export():
    x = np.random.default_rng(0).standard_normal((3, 3)).astype(np.float32)
    ep = ember.export.export(_build(nn), (ember.tensor(x),),
                             dynamic_shapes={"x": {0: ember.export.Dim("b")}})
    tp = torch.export.export(_build(torch.nn), (torch.from_numpy(x),),
                             dynamic_shapes={"x": {0: torch.export.Dim("b")}})

    def outputs(graph, shape_of):
        out = next(n for n in graph.nodes if n.op == "output")
        return [_pattern(shape_of(o)) for o in out.args[0]]
    mine = outputs(ep.graph, lambda n: n.meta["val"].shape)
    theirs = outputs(tp.graph, lambda n: tuple(int(s) if str(s).isdigit() else str(s)
                                               for s in n.meta["val"].shape))
    assert mine[:4] == theirs[:4] == [("d", 3), ("d", 1), (3,), (3, 3)]
    # the cat's 2 * s0: ember keeps the example size and marks the dim as moving
    assert theirs[4] == ("d", 3) and mine[4] == (6, 3)
    out = next(n for n in ep.graph.nodes if n.op == "output").args[0]
    assert out[4].meta["moving_dims"] == (0,) and "moving_dims" not in out[0].meta


def test_onnx_declared_output_shapes_follow_the_refined_dims():
    m = _build(nn)
    x = np.random.default_rng(1).standard_normal((3, 3)).astype(np.float32)
    buf = io.BytesIO()
    ember.onnx.export(m, (ember.tensor(x),), buf, input_names=["x"],
                      dynamic_axes={"x": {0: "batch"}})
    proto = onnx.load_from_string(buf.getvalue())
    onnx.checker.check_model(proto, full_check=True)

    def declared(o):
        return [d.dim_param or d.dim_value for d in o.type.tensor_type.shape.dim]
    shapes = [declared(o) for o in proto.graph.output]
    assert shapes[:4] == [["batch", 3], ["batch", 1], [3], [3, 3]]
    assert shapes[4] == [0, 3]      # 2 * batch: an unknown size (neither name nor value)
    sess = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    for n in (3, 5):
        xn = np.random.default_rng(n).standard_normal((n, 3)).astype(np.float32)
        got = sess.run(None, {"x": xn})
        for g, w in zip(got, m(ember.tensor(xn))):
            np.testing.assert_allclose(g, w.detach().numpy(), rtol=1e-5, atol=1e-5)


def test_program_bound_to_its_example_size_still_exports():
    """A model that only runs at the example batch (a (3, 3) parameter added to x): the
    rerun at another size fails and the traced dims are kept."""
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(ember.ones(3, 3))

        def forward(self, x):
            return x + self.w

    ep = ember.export.export(M(), (ember.randn(3, 3),),
                             dynamic_shapes={"x": {0: ember.export.Dim("b")}})
    out = next(n for n in ep.graph.nodes if n.op == "output").args[0][0]
    assert len(out.meta["val"].shape) == 2


def test_rerun_leaves_the_random_stream_and_buffers_alone():
    m = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5), nn.BatchNorm1d(3)).train()
    before = {k: v.clone() for k, v in m.state_dict().items()}
    ember.manual_seed(7)
    ember.export.export(m, (ember.randn(4, 3),), dynamic_shapes={"input": {0: ember.export.Dim("b")}})
    after_export = ember.rand(3)
    ember.manual_seed(7)
    ember.randn(4, 3)
    np.testing.assert_array_equal(after_export.numpy(), ember.rand(3).numpy())
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k].numpy())


def test_rerun_leaves_parameters_written_in_forward_alone():
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(ember.ones(3))

        def forward(self, x):
            with ember.no_grad():
                self.w.mul_(2)
            return x * self.w

    static, dynamic = M(), M()
    ember.export.export(static, (ember.randn(4, 3),))          # no rerun without symbols
    ember.export.export(dynamic, (ember.randn(4, 3),),
                        dynamic_shapes={"x": {0: ember.export.Dim("b")}})
    # whatever the trace itself leaves, the rerun writes nothing more
    np.testing.assert_array_equal(dynamic.w.detach().numpy(), static.w.detach().numpy())
