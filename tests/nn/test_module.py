"""nn.Module behaviour compared with torch.nn.Module: registration, traversal order,
state_dict keys, load_state_dict (all-or-nothing), repr, hooks, train/eval."""
import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest
import torch

import ember


def build(lib):
    nn = lib.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(4, 8)
            self.act = nn.ReLU()
            self.seq = nn.Sequential(nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 3, bias=False))
            self.register_buffer("scale", lib.ones(3))
            self.register_buffer("tmp", lib.zeros(2), persistent=False)
            self.heads = nn.ModuleList([nn.Linear(3, 2), nn.Linear(3, 2)])
            self.shared = self.fc1  # the same module twice: counted once

        def forward(self, x):
            h = self.seq(self.act(self.fc1(x))) * self.scale
            return self.heads[0](h) + self.heads[1](h)
    return Net()


def copy_state(src, dst):
    """torch state_dict -> ember module (through NumPy)."""
    sd = OrderedDict((k, ember.from_numpy(v.detach().numpy().copy())) for k, v in
                     src.state_dict().items())
    dst.load_state_dict(sd)


def test_names_order_and_repr():
    t, e = build(torch), build(ember)
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in e.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert [n for n, _ in e.named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in e.named_children()] == [n for n, _ in t.named_children()]
    assert list(e.state_dict()) == list(t.state_dict())
    assert [tuple(v.shape) for v in e.state_dict().values()] == \
        [tuple(v.shape) for v in t.state_dict().values()]
    assert repr(e) == repr(t)
    assert len(list(e.parameters())) == len(list(t.parameters()))
    assert len(list(e.named_parameters(remove_duplicate=False))) == \
        len(list(t.named_parameters(remove_duplicate=False)))


def test_forward_backward_matches_torch():
    torch.manual_seed(0)
    t, e = build(torch), build(ember)
    copy_state(t, e)
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    tx, ex = torch.from_numpy(x).requires_grad_(), ember.tensor(x.copy()).requires_grad_()
    to, eo = t(tx), e(ex)
    np.testing.assert_allclose(eo.detach().cpu().numpy(), to.detach().cpu().numpy(), rtol=1e-5, atol=1e-6)
    to.sum().backward()
    eo.sum().backward()
    np.testing.assert_allclose(ex.grad.cpu().numpy(), tx.grad.cpu().numpy(), rtol=1e-5, atol=1e-6)
    for (n, tp), (_, ep) in zip(t.named_parameters(), e.named_parameters()):
        np.testing.assert_allclose(ep.grad.cpu().numpy(), tp.grad.cpu().numpy(), rtol=1e-5, atol=1e-6,
                                   err_msg=n)


def test_load_state_dict_errors_leave_module_unchanged():
    e = build(ember)
    before = {k: v.clone() for k, v in e.state_dict().items()}
    bad = OrderedDict((k, ember.zeros(v.shape)) for k, v in e.state_dict().items())
    bad["fc1.weight"] = ember.zeros(3, 3)       # wrong shape
    del bad["seq.0.bias"]                        # missing
    bad["extra.weight"] = ember.zeros(1)         # unexpected
    with pytest.raises(RuntimeError) as ei:
        e.load_state_dict(bad)
    msg = str(ei.value)
    assert "size mismatch for fc1.weight" in msg
    assert "Missing key(s) in state_dict: \"seq.0.bias\"" in msg
    assert "Unexpected key(s) in state_dict: \"extra.weight\"" in msg
    for k, v in e.state_dict().items():
        assert np.array_equal(v.cpu().numpy(), before[k].cpu().numpy()), k
    res = e.load_state_dict(OrderedDict(list(before.items())[:2]), strict=False)
    t = build(torch)
    res_t = t.load_state_dict(OrderedDict(list(t.state_dict().items())[:2]), strict=False)
    assert res.missing_keys == res_t.missing_keys == list(before)[2:]
    assert res.unexpected_keys == res_t.unexpected_keys == []
    assert repr(e.load_state_dict(before)) == "<All keys matched successfully>"


def test_registration_errors_like_torch():
    for lib in (torch, ember):
        m = lib.nn.Module()
        with pytest.raises(KeyError):
            m.register_buffer("a.b", lib.zeros(1))
        with pytest.raises(TypeError):
            m.register_buffer("a", 3)
        with pytest.raises(TypeError):
            m.register_parameter("w", lib.zeros(1))
        m.w = lib.nn.Parameter(lib.zeros(2))
        with pytest.raises(TypeError):
            m.w = lib.zeros(2)
        with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
            m.nothing
        del m.w
        assert list(m.parameters()) == []


def test_train_eval_zero_grad_apply_to():
    e = build(ember)
    e.eval()
    assert all(not m.training for m in e.modules())
    e.train()
    assert all(m.training for m in e.modules())
    e(ember.randn(2, 4)).sum().backward()
    assert all(p.grad is not None for p in e.parameters())
    e.zero_grad()
    assert all(p.grad is None for p in e.parameters())
    e.double()
    assert all(p.dtype is ember.float64 for p in e.parameters())
    assert e.scale.dtype is ember.float64
    seen = []
    e.apply(lambda m: seen.append(type(m).__name__))
    assert seen[-1] == "Net"


def test_hooks():
    for lib in (torch, ember):
        lin = lib.nn.Linear(3, 2)
        calls = []
        h1 = lin.register_forward_pre_hook(lambda m, args: calls.append("pre"))
        h2 = lin.register_forward_hook(lambda m, args, out: out * 2)
        grads = []
        lin.register_full_backward_hook(lambda m, gi, go: grads.append((gi[0].shape, go[0].shape)))
        x = lib.ones(4, 3, requires_grad=True)
        out = lin(x)
        out.sum().backward()
        assert calls == ["pre"]
        assert tuple(grads[0][0]) == (4, 3) and tuple(grads[0][1]) == (4, 2)
        h1.remove()
        h2.remove()
        lin(x)
        assert calls == ["pre"]


def test_containers_match_torch():
    for lib in (torch, ember):
        nn = lib.nn
        named = nn.Sequential(OrderedDict([("a", nn.Linear(2, 2)), ("b", nn.ReLU())]))
        assert isinstance(named.a, nn.Linear)
        s = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
        assert isinstance(s[0], nn.Linear) and len(s) == 2
        assert isinstance(s[-1], nn.ReLU)
        assert len(s[0:1]) == 1
        s.append(nn.Tanh())
        s.insert(0, nn.Identity())
        d = nn.ModuleDict({"x": nn.Linear(1, 1)})
        d["y"] = nn.ReLU()
        pl = nn.ParameterList([nn.Parameter(lib.zeros(2)) for _ in range(2)])
        pd = nn.ParameterDict({"w": nn.Parameter(lib.zeros(3))})
        yield_repr = (repr(s), repr(d), repr(named), len(pl), list(pd.keys()))
        if lib is torch:
            expected = yield_repr
        else:
            assert yield_repr == expected


def test_deepcopy_and_pickle():
    e = build(ember)
    c = copy.deepcopy(e)
    for (n, a), (_, b) in zip(e.named_parameters(), c.named_parameters()):
        assert a is not b and np.array_equal(a.detach().cpu().numpy(), b.detach().cpu().numpy())
    p = pickle.loads(pickle.dumps(e.state_dict()))
    assert list(p) == list(e.state_dict())


def test_parameter_repr_and_attributes():
    p = ember.nn.Parameter(ember.tensor([1.0, 2.0]))
    tp = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    # torch's tensor is on the CPU; ember's on the device under test
    assert repr(p).replace(", device='cuda:0'", "") == repr(tp).replace("torch.", "ember.")
    assert p.requires_grad and p.is_leaf and isinstance(p, ember.Tensor)
