"""ember.fx and vision.models.feature_extraction on CUDA: a traced GraphModule moved to the
GPU (or traced from a module already there) runs there and gives the CPU's outputs and
gradients; Interpreter, Transformer and ShapeProp take CUDA inputs; a feature extractor of
a CUDA resnet18 gives the CPU extractor's features. The CPU runs are compared with torch.fx
in tests/test_fx.py. Skips without a GPU; EMBER_FAKE_CUDA=1 runs it on tests/fakecupy.py."""
import copy
import math
import pickle

import numpy as np
import pytest

import ember
import ember.fx  # noqa: F401

pytestmark = pytest.mark.skipif(not ember.cuda.is_available(), reason="no CUDA device")

# (importing ember.fx put the __torch_function__ dispatchers in place: off again for the
# test modules collected after this one, as tests/test_fx.py does)
ember._torch_function.deactivate()

nn, F = ember.nn, ember.nn.functional
TOL = 1e-5


def _host(t):
    return t.detach().cpu().numpy()


def _close_on_cuda(got, want, tol=TOL):
    """`got` (a CUDA result, possibly nested in tuples/dicts) equals `want` (the CPU one)."""
    if isinstance(want, dict):
        assert list(got) == list(want)
        for k in want:
            _close_on_cuda(got[k], want[k], tol)
    elif isinstance(want, (tuple, list)):
        assert len(got) == len(want)
        for a, b in zip(got, want):
            _close_on_cuda(a, b, tol)
    elif isinstance(want, ember.Tensor):
        assert got.device.type == "cuda", got.device
        assert got.dtype == want.dtype and tuple(got.shape) == tuple(want.shape)
        np.testing.assert_allclose(_host(got), _host(want), rtol=tol, atol=tol)
    else:
        assert got == want


class _Net(nn.Module):
    """Leaf modules, a buffer, a plain tensor attribute and a tensor made in forward (both
    become buffers of the GraphModule, as in torch.fx: `shift` and `_tensor_constant0`),
    F/ember functions, methods, shape reads and math."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4, 2)
        self.register_buffer("scale", ember.tensor(2.0))
        self.shift = ember.tensor([0.5, -0.25])

    def forward(self, x):
        x = F.relu(self.bn(self.conv(x)))
        x = x * self.scale
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        y = math.sqrt(x.shape[1])
        z = ember.sigmoid(self.fc(x)) / y + self.shift - ember.tensor(1.5)
        return z, {"pooled": x, "n": x.size(0)}


def _net():
    ember.manual_seed(0)
    return _Net()


def _x():
    ember.manual_seed(1)
    return ember.randn(2, 3, 5, 5)


def test_graph_module_moved_to_cuda_runs_there():
    gm = ember.fx.symbolic_trace(_net())
    want = gm(_x())
    gm_cuda = copy.deepcopy(gm).to("cuda")
    assert all(p.is_cuda for p in gm_cuda.parameters())
    assert [n for n, _ in gm.named_buffers()] == [
        "scale", "shift", "_tensor_constant0", "bn.running_mean", "bn.running_var",
        "bn.num_batches_tracked"]
    assert all(b.is_cuda for b in gm_cuda.buffers())
    got = gm_cuda(_x().cuda())
    _close_on_cuda(got, want)


def test_traced_from_cuda_module_train_step_matches_cpu():
    def step(dev):
        m = _net().to(dev)
        m.shift = m.shift.to(dev)
        gm = ember.fx.symbolic_trace(m)
        gm.train()
        opt = ember.optim.SGD(gm.parameters(), lr=0.1, momentum=0.9)
        losses = []
        for _ in range(2):
            opt.zero_grad()
            z, extra = gm(_x().to(dev))
            loss = z.pow(2).sum() + extra["pooled"].mean()
            loss.backward()
            opt.step()
            losses.append(loss.detach())
        # (the tensor made in forward is traced on the CPU: a 0-dim CPU buffer)
        assert gm._tensor_constant0.device.type == "cpu"
        return losses, [p.detach() for p in gm.parameters()], \
            [b for n, b in gm.named_buffers() if n != "_tensor_constant0"]
    want = step("cpu")
    got = step("cuda")
    _close_on_cuda(got, want, tol=1e-4)


def test_interpreter_transformer_and_shape_prop_on_cuda_inputs():
    from ember.fx.passes.shape_prop import ShapeProp
    m = _net().eval()
    m_cuda = copy.deepcopy(m).cuda()   # (before tracing m, which sets m._tensor_constant0)
    gm = ember.fx.symbolic_trace(m)
    want = ember.fx.Interpreter(gm).run(_x())
    gm_cuda = ember.fx.symbolic_trace(m_cuda)
    gm_cuda.shift = gm_cuda.shift.cuda()
    got = ember.fx.Interpreter(gm_cuda).run(_x().cuda())
    _close_on_cuda(got, want)

    class NegSigmoid(ember.fx.Transformer):
        def call_function(self, target, args, kwargs):
            out = super().call_function(target, args, kwargs)
            return ember.neg(out) if target is ember.sigmoid else out

    t_cpu = NegSigmoid(gm).transform()
    t_cuda = NegSigmoid(gm_cuda).transform()
    assert t_cuda.code == t_cpu.code
    _close_on_cuda(t_cuda(_x().cuda()), t_cpu(_x()))

    ShapeProp(gm).propagate(_x())
    ShapeProp(gm_cuda).propagate(_x().cuda())
    for a, b in zip(gm.graph.nodes, gm_cuda.graph.nodes):
        ma, mb = a.meta.get("tensor_meta"), b.meta.get("tensor_meta")
        assert (ma is None) == (mb is None), a.name
        assert a.meta["type"] is b.meta["type"]
        if ma is not None:
            assert _meta(ma) == _meta(mb), a.name
    assert gm_cuda.print_readable(print_output=False) == gm.print_readable(print_output=False)


def _meta(m):
    """ShapeProp's TensorMetadata (or a tuple/dict of them for a node of several outputs)
    as comparable plain data."""
    if isinstance(m, (tuple, list)):
        return [_meta(x) for x in m]
    if isinstance(m, dict):
        return {k: _meta(v) for k, v in m.items()}
    if not hasattr(m, "shape"):
        return m
    return (tuple(m.shape), m.dtype, m.stride, m.requires_grad, m.memory_format)


def test_edited_graph_and_pickle_on_cuda():
    def f(x, w):
        return F.linear(ember.relu(x), w).sum(-1)

    def edit(gm):
        for n in list(gm.graph.nodes):
            if n.target is ember.relu:
                with gm.graph.inserting_after(n):
                    new = gm.graph.call_function(ember.tanh, (n.args[0],))
                n.replace_all_uses_with(new)
                gm.graph.erase_node(n)
        gm.recompile()
        return gm

    ember.manual_seed(2)
    x, w = ember.randn(3, 4), ember.randn(5, 4)
    gm = edit(ember.fx.symbolic_trace(f))
    want = gm(x, w)
    got = gm(x.cuda(), w.cuda())
    _close_on_cuda(got, want)
    back = pickle.loads(pickle.dumps(gm))
    _close_on_cuda(back(x.cuda(), w.cuda()), want)


def test_feature_extractor_on_cuda_resnet18():
    from ember.vision import models
    from ember.vision.models import feature_extraction as fe
    ember.manual_seed(0)
    model = models.resnet18(num_classes=10).double().eval()
    nodes = {"layer1": "feat1", "layer3.1.relu_1": "f3", "flatten": "flat", "fc": "out"}
    ef = fe.create_feature_extractor(model, return_nodes=nodes)
    ember.manual_seed(3)
    x = ember.randn(2, 3, 32, 32, dtype=ember.float64)
    want = ef(x)
    ef_cuda = fe.create_feature_extractor(copy.deepcopy(model).cuda(), return_nodes=nodes)
    assert ef_cuda.code == ef.code
    got = ef_cuda(x.cuda())
    _close_on_cuda(got, want, tol=1e-4)
    # train mode (float64): gradients through the extractor equal the CPU's (to 1e-6:
    # the train-mode BatchNorms' backward subtracts nearly equal sums, whose rounding
    # differs with the GPU's summation order)
    ef.train()
    ef_cuda.train()
    sum(v.pow(2).mean() for v in ef(x).values()).backward()
    sum(v.pow(2).mean() for v in ef_cuda(x.cuda()).values()).backward()
    grads = dict(ef_cuda.named_parameters())
    for name, p in ef.named_parameters():
        _close_on_cuda(grads[name].grad, p.grad, tol=1e-6)


def _cuda_graph_module():
    m = _net().cuda().eval()
    m.shift = m.shift.cuda()   # (a plain attribute: Module.cuda leaves it)
    return ember.fx.symbolic_trace(m)


def test_cuda_graph_module_pickles_on_cuda():
    gm = _cuda_graph_module()
    back = pickle.loads(pickle.dumps(gm))
    assert back.code == gm.code
    assert all(p.is_cuda for p in back.parameters())
    assert all(b.is_cuda for n, b in back.named_buffers() if n != "_tensor_constant0")
    _close_on_cuda(back(_x().cuda()), gm(_x().cuda()))


def test_cuda_graph_module_saved_and_loaded_stays_on_cuda():
    import io
    gm = _cuda_graph_module()
    buf = io.BytesIO()
    ember.save(gm, buf)
    buf.seek(0)
    back = ember.load(buf, weights_only=False)
    assert all(p.is_cuda for p in back.parameters())
    _close_on_cuda(back(_x().cuda()), gm(_x().cuda()))
