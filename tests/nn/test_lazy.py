"""Lazy modules and uninitialized parameters/buffers compared with torch's: reprs before and
after the first call, the class they become, inferred shapes, outputs and gradients with
torch's weights copied in, state dicts, load_state_dict, moves, deepcopy, pickling and the
errors of using an uninitialized tensor."""
import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest
import torch

import ember
from tests.nn._compare import check_repr
from tests.oracle.harness import DEVICE, T, assert_same, to_numpy

RNG = np.random.default_rng(0)


def arr(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def copy_state(tm, em):
    em.load_state_dict(OrderedDict((k, T(ember, v.detach().numpy())) for k, v in
                                   tm.state_dict().items()))


def same_repr(e, t):
    check_repr(e, t)    # (where the oracle is torch 2.13: older ones print norms differently)


# (lazy constructor, input shape) -> after the first call: the non-lazy class
LAZY = [
    ("LazyLinear", lambda L: L.nn.LazyLinear(4), (2, 3)),
    ("LazyLinear-nobias-3d", lambda L: L.nn.LazyLinear(4, bias=False), (2, 5, 3)),
    ("LazyConv1d", lambda L: L.nn.LazyConv1d(4, 3, padding=1), (2, 3, 6)),
    ("LazyConv1d-unbatched", lambda L: L.nn.LazyConv1d(4, 2), (3, 6)),
    ("LazyConv2d", lambda L: L.nn.LazyConv2d(4, 3, stride=2, groups=2), (1, 2, 7, 7)),
    ("LazyConv3d", lambda L: L.nn.LazyConv3d(2, 2, bias=False), (1, 3, 3, 4, 3)),
    ("LazyConvTranspose1d", lambda L: L.nn.LazyConvTranspose1d(4, 3, stride=2), (2, 3, 5)),
    ("LazyConvTranspose2d", lambda L: L.nn.LazyConvTranspose2d(4, 3, groups=2), (1, 2, 4, 4)),
    ("LazyConvTranspose3d", lambda L: L.nn.LazyConvTranspose3d(2, 2), (1, 3, 2, 3, 2)),
    ("LazyBatchNorm1d", lambda L: L.nn.LazyBatchNorm1d(), (4, 3)),
    ("LazyBatchNorm2d", lambda L: L.nn.LazyBatchNorm2d(momentum=None), (2, 3, 2, 2)),
    ("LazyBatchNorm3d", lambda L: L.nn.LazyBatchNorm3d(affine=False), (2, 3, 2, 2, 2)),
    ("LazyInstanceNorm1d", lambda L: L.nn.LazyInstanceNorm1d(), (2, 3, 5)),
    ("LazyInstanceNorm2d", lambda L: L.nn.LazyInstanceNorm2d(affine=False,
                                                             track_running_stats=False),
     (2, 3, 4, 4)),
    ("LazyInstanceNorm3d", lambda L: L.nn.LazyInstanceNorm3d(bias=False), (1, 3, 2, 2, 2)),
]


@pytest.mark.parametrize("name,make,shape", LAZY, ids=[c[0] for c in LAZY])
def test_lazy_module_like_torch(name, make, shape):
    torch.manual_seed(0)
    tm, em = make(torch), make(ember)
    same_repr(em, tm)
    assert type(em).__name__ == type(tm).__name__ == name.split("-")[0]
    assert em.has_uninitialized_params() == tm.has_uninitialized_params()
    assert [(k, type(v).__name__) for k, v in em.state_dict().items()] == \
        [(k, type(v).__name__) for k, v in tm.state_dict().items()]
    x = arr(*shape)
    t_out = tm(T(torch, x))
    em(T(ember, x))
    # the module is now its non-lazy class, with the inferred shapes
    assert type(em).__name__ == type(tm).__name__
    assert type(em) is getattr(ember.nn, type(tm).__name__)
    same_repr(em, tm)
    assert not em._forward_pre_hooks and not em._load_state_dict_pre_hooks
    assert [(k, tuple(v.shape), type(v).__name__) for k, v in em.state_dict().items()] == \
        [(k, tuple(v.shape), type(v).__name__) for k, v in tm.state_dict().items()]
    for p in em.parameters():
        assert type(p) is ember.nn.Parameter and p.requires_grad and p.device.type == DEVICE[0]
    # with torch's (already updated) state copied in, a second call agrees, gradients too
    copy_state(tm, em)
    x2 = arr(*shape)
    tx, ex = T(torch, x2, requires_grad=True), T(ember, x2, requires_grad=True)
    t_out, e_out = tm(tx), em(ex)
    assert_same(e_out, t_out, 1e-4, 1e-5)
    t_out.sum().backward()
    e_out.sum().backward()
    assert_same(ex.grad, tx.grad, 1e-4, 1e-5, "input grad")
    for (n, ep), (_, tp) in zip(em.named_parameters(), tm.named_parameters()):
        assert_same(ep.grad, tp.grad, 1e-4, 1e-4, f"grad of {n}")
    assert_same([b for b in em.buffers()], [b for b in tm.buffers()], 1e-5, 1e-6, "buffers")


def test_lazy_init_follows_the_non_lazy_distribution():
    """The same reset_parameters runs: the materialized weights have the non-lazy bounds."""
    ember.manual_seed(0)
    m = ember.nn.LazyLinear(50)
    m(ember.ones(2, 400))
    bound = 1 / np.sqrt(400)
    w, b = to_numpy(m.weight), to_numpy(m.bias)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.abs(b).max() <= bound and w.std() > 0.5 * bound / np.sqrt(3)
    ember.manual_seed(0)
    conv = ember.nn.LazyConv2d(8, 3)
    conv(ember.ones(1, 4, 5, 5))
    assert np.abs(to_numpy(conv.weight)).max() <= 1 / np.sqrt(4 * 9)
    # the same seed gives the same lazy initialization
    ember.manual_seed(0)
    m2 = ember.nn.LazyLinear(50)
    m2(ember.ones(2, 400))
    np.testing.assert_array_equal(to_numpy(m2.weight), w)


def test_sequential_of_lazy_modules():
    def make(L):
        return L.nn.Sequential(L.nn.LazyConv2d(4, 3), L.nn.LazyBatchNorm2d(), L.nn.ReLU(),
                               L.nn.Flatten(), L.nn.LazyLinear(2))
    torch.manual_seed(0)
    tm, em = make(torch), make(ember)
    same_repr(em, tm)
    x = arr(2, 3, 5, 5)
    tm(T(torch, x))
    em(T(ember, x))
    same_repr(em, tm)
    copy_state(tm, em)
    assert_same(em(T(ember, x)), tm(T(torch, x)), 1e-4, 1e-5)


def test_load_state_dict_materializes():
    torch.manual_seed(0)
    src = torch.nn.Linear(5, 4)
    tm, em = torch.nn.LazyLinear(4), ember.nn.LazyLinear(4)
    r_t = tm.load_state_dict(src.state_dict())
    r_e = em.load_state_dict({k: T(ember, v.detach().numpy()) for k, v in
                              src.state_dict().items()})
    assert repr(r_e) == repr(r_t)
    # materialized by the load, but still lazy until the first call
    assert type(em).__name__ == type(tm).__name__ == "LazyLinear"
    assert type(em.weight) is ember.nn.Parameter and tuple(em.weight.shape) == (4, 5)
    assert not em.has_uninitialized_params()
    x = arr(3, 5)
    assert_same(em(T(ember, x)), tm(T(torch, x)))
    same_repr(em, tm)    # in_features read from the input
    assert type(em) is ember.nn.Linear


def test_load_state_dict_lazy_into_lazy_and_partial():
    tm, em = torch.nn.LazyLinear(4), ember.nn.LazyLinear(4)
    assert repr(em.load_state_dict(ember.nn.LazyLinear(4).state_dict())) == \
        repr(tm.load_state_dict(torch.nn.LazyLinear(4).state_dict()))
    assert em.has_uninitialized_params()
    # strict=False with the bias missing: weight materialized, bias still uninitialized
    tm, em = torch.nn.LazyBatchNorm1d(), ember.nn.LazyBatchNorm1d()
    sd = torch.nn.BatchNorm1d(3).state_dict()
    del sd["bias"]
    r_t = tm.load_state_dict(sd, strict=False)
    r_e = em.load_state_dict({k: T(ember, v.numpy()) for k, v in sd.items()}, strict=False)
    assert r_e.missing_keys == r_t.missing_keys == ["bias"]
    assert [type(v).__name__ for v in em.state_dict().values()] == \
        [type(v).__name__ for v in tm.state_dict().values()]


def test_load_uninitialized_into_initialized_raises_runtime_error():
    with pytest.raises(RuntimeError):
        torch.nn.Linear(3, 4).load_state_dict(torch.nn.LazyLinear(4).state_dict())
    with pytest.raises(RuntimeError, match="uninitialized parameter"):
        ember.nn.Linear(3, 4).load_state_dict(ember.nn.LazyLinear(4).state_dict())


def test_uninitialized_parameter_like_torch():
    for L in (torch, ember):
        p = L.nn.UninitializedParameter()
        assert repr(p) == "<UninitializedParameter>"
        assert p.requires_grad and p.is_leaf and p.grad is None
        assert str(p.dtype).split(".")[1] == "float32"
        assert p.device.type == (DEVICE[0] if L is ember else "cpu")   # the default device
        assert tuple(p.size()) == (0,) and isinstance(p, L.nn.Parameter)
        assert L.nn.parameter.is_lazy(p) and not L.nn.parameter.is_lazy(L.ones(1))
        with pytest.raises(RuntimeError, match="Can't access the shape"):
            p.shape
        for use in (lambda: p.numel(), lambda: len(p), lambda: p + 1, lambda: L.add(p, 1),
                    lambda: p.sum(), lambda: L.nn.functional.linear(L.ones(2, 3), p),
                    lambda: L.nn.utils.parameters_to_vector([p])):
            with pytest.raises(ValueError, match="Attempted to use an uninitialized parameter"):
                use()
        with pytest.raises(RuntimeError, match="share memory"):
            p.share_memory_()
        assert not L.nn.UninitializedParameter(requires_grad=False).requires_grad
        q = L.nn.UninitializedParameter(dtype=L.float64)
        q.materialize((2, 3))
        assert type(q) is L.nn.Parameter and tuple(q.shape) == (2, 3)
        assert q.dtype == L.float64 and q.requires_grad
        assert tuple(L.nn.UninitializedParameter().to(L.float64).shape) == (0,)
        assert type(L.nn.UninitializedParameter().to(L.float64)) is L.Tensor
        p = L.nn.UninitializedParameter()
        assert p.to(p.device) is p and p.to(L.float32) is p


def test_uninitialized_buffer_like_torch():
    for L in (torch, ember):
        b = L.nn.UninitializedBuffer()
        assert repr(b) == "<UninitializedBuffer>" and not b.requires_grad
        assert isinstance(b, L.Tensor) and not isinstance(b, L.nn.Parameter)
        assert type(b.double()) is L.nn.UninitializedBuffer
        assert b.double().dtype == L.float64
        m = L.nn.Module()
        m.buf = L.nn.UninitializedBuffer()
        assert list(m._buffers) == ["buf"]
        with pytest.raises(ValueError):     # a non-lazy module detaches it: refused
            m.state_dict()
        m.buf.materialize((3,))
        assert type(m.buf) is L.Tensor and tuple(m.buf.shape) == (3,)
        m.nb = L.nn.UninitializedBuffer(persistent=False)
        assert list(m.state_dict()) == ["buf"]


def test_uninitialized_copies_and_pickles():
    for L in (torch, ember):
        p = L.nn.UninitializedParameter(requires_grad=False, dtype=L.float64)
        q = copy.deepcopy(p)
        assert type(q) is type(p) and q is not p and q.dtype == L.float64
        assert not q.requires_grad
        r = pickle.loads(pickle.dumps(p))
        assert type(r) is type(p) and not r.requires_grad


def test_module_moves_before_init():
    for L in (torch, ember):
        m = L.nn.LazyBatchNorm1d()
        m.double()
        assert L.nn.parameter.is_lazy(m.weight) and L.nn.parameter.is_lazy(m.running_mean)
        assert m.weight.dtype == m.running_mean.dtype == L.float64
        m(L.ones(4, 3, dtype=L.float64) * L.arange(4.0, dtype=L.float64).reshape(4, 1))
        assert type(m).__name__ == "BatchNorm1d"
        assert m.weight.dtype == m.running_mean.dtype == L.float64
        lin = L.nn.LazyLinear(3).to(L.float64)
        assert lin(L.ones(2, 2, dtype=L.float64)).dtype == L.float64
        assert L.nn.LazyLinear(3, dtype=L.float64).weight.dtype == L.float64
        with pytest.raises(RuntimeError, match="share memory"):
            L.nn.LazyLinear(3).share_memory()


def test_deepcopy_of_lazy_module_is_independent():
    for L in (torch, ember):
        m = L.nn.LazyLinear(4)
        m2 = copy.deepcopy(m)
        m2(L.ones(1, 3))
        assert type(m).__name__ == "LazyLinear" and type(m2).__name__ == "Linear"
        assert len(m._forward_pre_hooks) == 1 and len(m2._forward_pre_hooks) == 0
        m(L.ones(2, 7))
        assert m.in_features == 7 and m2.in_features == 3


def test_optimizer_over_uninitialized_parameters():
    """As torch: building an optimizer over them works; a step with no gradient is a no-op;
    the parameters it holds are materialized in place by the first call."""
    for L in (torch, ember):
        m = L.nn.LazyLinear(2)
        opt = L.optim.SGD(m.parameters(), lr=0.1)
        opt.step()
        m(L.ones(3, 4)).sum().backward()
        opt.step()
        assert tuple(opt.param_groups[0]["params"][0].shape) == (2, 4)


@pytest.mark.parametrize("case", ["dims", "groups", "linear-mismatch"])
def test_lazy_errors_like_torch(case):
    def run(L):
        if case == "dims":
            L.nn.LazyConv2d(4, 3)(L.ones(2, 3))
        elif case == "groups":
            L.nn.LazyConvTranspose2d(4, 3, groups=2)(L.ones(1, 3, 5, 5))
        else:
            m = L.nn.LazyLinear(4)
            m.load_state_dict({"weight": L.ones(4, 5), "bias": L.zeros(4)})
            m(L.ones(2, 3))
    with pytest.raises(Exception) as te:
        run(torch)
    with pytest.raises(type(te.value)) as ee:
        run(ember)
    assert str(ee.value) == str(te.value)


def test_lazy_mixin_base_behaviour():
    for L in (torch, ember):
        class MyLazy(L.nn.modules.lazy.LazyModuleMixin, L.nn.Module):
            def __init__(self):
                super().__init__()
                self.w = L.nn.UninitializedParameter()

            def forward(self, x):
                return x * self.w

        m = MyLazy()
        with pytest.raises(NotImplementedError, match="initialize_parameters is not implemented"):
            m(L.ones(2))
        assert m.has_uninitialized_params()


def test_norm_module_paths_like_torch():
    """Code reaches the norm base classes through torch's module paths."""
    for lib in (torch, ember):
        bn = lib.nn.modules.batchnorm
        assert isinstance(lib.nn.BatchNorm2d(3), bn._BatchNorm)
        assert isinstance(lib.nn.SyncBatchNorm(3), bn._BatchNorm)
        assert isinstance(lib.nn.LazyBatchNorm1d(), bn._LazyNormBase)
        assert not isinstance(lib.nn.InstanceNorm1d(3), bn._BatchNorm)
        assert isinstance(lib.nn.InstanceNorm1d(3), lib.nn.modules.instancenorm._InstanceNorm)
        assert isinstance(lib.nn.InstanceNorm1d(3), bn._NormBase)
        assert lib.nn.modules.instancenorm.LazyInstanceNorm2d is lib.nn.LazyInstanceNorm2d
