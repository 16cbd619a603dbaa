"""nn.DataParallel and nn.parallel's scatter/replicate/parallel_apply/gather.

Without CUDA devices (torch's case here) DataParallel is compared with torch. The
several-device path is checked on CPU device lists (the helpers take any devices) against
torch's single-module results, and, where CUDA is available (the fake CuPy has one device),
DataParallel itself runs it with device_ids=[0, 0]: two replicas on one GPU.
"""
import collections
import warnings

import numpy as np
import pytest
import torch

import ember
from ember.nn.parallel import gather, parallel_apply, replicate, scatter, scatter_kwargs
from tests.nn._compare import copy_state
from tests.oracle import harness
from tests.oracle.harness import T, assert_same, to_numpy

RNG = np.random.default_rng(0)


def arr(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def mlp(lib):
    return lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.Tanh(), lib.nn.Linear(4, 2))


@pytest.fixture
def no_cuda(monkeypatch):
    """Make ember see no CUDA device, as torch here."""
    monkeypatch.setattr(ember.cuda, "is_available", lambda: False)


def test_without_cuda_runs_the_module_like_torch(no_cuda):
    torch.manual_seed(0)
    tm = mlp(torch)
    em = mlp(ember)
    copy_state(tm, em)
    tdp, edp = torch.nn.DataParallel(tm), ember.nn.DataParallel(em)
    assert repr(edp) == repr(tdp)
    assert edp.module is em and edp.device_ids == tdp.device_ids == []
    assert list(edp.state_dict()) == list(tdp.state_dict()) == \
        ["module.0.weight", "module.0.bias", "module.2.weight", "module.2.bias"]
    for attr in ("dim", "output_device", "src_device_obj"):
        assert hasattr(edp, attr) == hasattr(tdp, attr)
    x = arr(5, 3)
    tx, ex = T(torch, x, True), T(ember, x, True)
    t_out, e_out = tdp(tx), edp(ex)
    assert_same(e_out, t_out)
    t_out.sum().backward()
    e_out.sum().backward()
    assert_same(ex.grad, tx.grad)
    for (n, ep), (_, tp) in zip(em.named_parameters(), tm.named_parameters()):
        assert_same(ep.grad, tp.grad, what=n)
    assert_same(edp(input=T(ember, x)), tdp(input=T(torch, x)))
    edp.eval()
    assert not em.training
    # state dicts move between wrapped modules
    other = ember.nn.DataParallel(mlp(ember))
    assert repr(other.load_state_dict(edp.state_dict())) == "<All keys matched successfully>"
    assert ember.equal(other.module[0].weight, em[0].weight)


@pytest.mark.parametrize("kwargs", [dict(device_ids=[0]), dict(device_ids=[]),
                                    dict(output_device=0), dict(dim=1)])
def test_without_cuda_arguments_are_ignored_like_torch(no_cuda, kwargs):
    tdp = torch.nn.DataParallel(torch.nn.Linear(3, 2), **kwargs)
    edp = ember.nn.DataParallel(ember.nn.Linear(3, 2), **kwargs)
    assert edp.device_ids == tdp.device_ids
    assert tuple(edp(ember.ones(4, 3)).shape) == tuple(tdp(torch.ones(4, 3)).shape)


def test_functional_data_parallel_needs_a_device_like_torch(no_cuda):
    with pytest.raises(RuntimeError, match="device type could not be determined"):
        torch.nn.parallel.data_parallel(torch.nn.Linear(3, 2), torch.ones(2, 3))
    with pytest.raises(RuntimeError, match="device type could not be determined"):
        ember.nn.parallel.data_parallel(ember.nn.Linear(3, 2), ember.ones(2, 3))


def test_names_like_torch():
    assert ember.nn.parallel.DataParallel is ember.nn.DataParallel
    for name in ("DataParallel", "DistributedDataParallel", "data_parallel", "gather",
                 "parallel_apply", "replicate", "scatter"):
        assert hasattr(ember.nn.parallel, name) and hasattr(torch.nn.parallel, name)


# ---------------------------------------------------------------- several devices

def devices(n=3):
    """n copies of the device under test: the helpers treat each entry as one device."""
    return [harness.DEVICE[0]] * n


def test_scatter_splits_like_chunk():
    x = ember.arange(10.0).reshape(5, 2)
    parts = scatter(x, devices())
    assert [tuple(p.shape) for p in parts] == [(2, 2), (2, 2), (1, 2)]
    # fewer rows than devices: fewer chunks
    assert len(scatter(ember.ones(2, 3), devices())) == 2
    assert [tuple(p.shape) for p in scatter(x, devices(2), dim=1)] == [(5, 1), (5, 1)]
    shares = scatter((x, "tag", {"k": x}), devices(2))
    assert len(shares) == 2 and shares[1][1] == "tag"
    assert ember.equal(shares[1][2]["k"], x[3:])
    Pair = collections.namedtuple("Pair", "a b")
    assert isinstance(scatter(Pair(x, x), devices(2))[0], Pair)
    inputs, kwargs = scatter_kwargs((x,), {"scale": 2.0}, devices(2))
    assert len(inputs) == len(kwargs) == 2 and kwargs[1] == {"scale": 2.0}
    inputs, kwargs = scatter_kwargs((x,), None, devices(2))
    assert kwargs == ({}, {})


def test_replicas_give_the_module_result_and_gradients():
    """Scatter, replicate, run and gather equal one module on the whole batch, values and
    gradients (summed over the replicas into the original parameters), as in torch."""
    torch.manual_seed(0)
    tm, em = mlp(torch), mlp(ember)
    copy_state(tm, em)
    x = arr(5, 3)
    tx, ex = T(torch, x, True), T(ember, x, True)
    t_out = tm(tx)
    inputs, kwargs = scatter_kwargs((ex,), {}, devices())
    replicas = replicate(em, devices(len(inputs)))
    assert len(replicas) == 3 and replicas[0] is not em
    assert all(type(r) is type(em) for r in replicas)
    assert [n for n, _ in replicas[1].named_parameters()] == [n for n, _ in em.named_parameters()]
    e_out = gather(parallel_apply(replicas, inputs, kwargs, devices()), harness.DEVICE[0])
    assert_same(e_out, t_out)
    t_out.sum().backward()
    e_out.sum().backward()
    assert_same(ex.grad, tx.grad)
    for (n, ep), (_, tp) in zip(em.named_parameters(), tm.named_parameters()):
        assert_same(ep.grad, tp.grad, what=n)


def test_replicate_without_grad_detaches_and_refuses_lazy_modules():
    em = mlp(ember)
    with ember.no_grad():
        replicas = replicate(em, devices(2), detach=True)
    assert all(p.grad_fn is None for r in replicas for p in r.parameters())
    with pytest.raises(RuntimeError, match="uninitialized parameters can't be used with"):
        replicate(ember.nn.LazyLinear(3), devices(2))


def test_replica_buffers_and_children():
    em = ember.nn.Sequential(ember.nn.Linear(2, 2), ember.nn.BatchNorm1d(2))
    replicas = replicate(em, devices(2))
    # the structure is copied, not shared: each replica has its own children
    assert replicas[0][1] is not replicas[1][1] and replicas[0][1] is not em[1]
    assert list(replicas[1].state_dict()) == list(em.state_dict())


def test_gather_structures():
    Out = collections.namedtuple("Out", "y aux")
    outs = [Out(ember.ones(2, 3), None), Out(ember.zeros(1, 3), None)]
    g = gather(outs, harness.DEVICE[0])
    assert isinstance(g, Out) and tuple(g.y.shape) == (3, 3) and g.aux is None
    d = gather([{"a": ember.ones(2)}, {"a": ember.zeros(1)}], -1)
    assert d["a"].tolist() == [1.0, 1.0, 0.0]
    assert tuple(gather([ember.ones(2, 1), ember.ones(2, 2)], harness.DEVICE[0], dim=1).shape) == (2, 3)
    with pytest.warns(UserWarning, match="all input tensors were scalars"):
        losses = gather([ember.tensor(1.0), ember.tensor(2.0)], harness.DEVICE[0])
    assert losses.tolist() == [1.0, 2.0]
    with pytest.raises(ValueError, match="same number of keys"):
        gather([{"a": ember.ones(1)}, {"a": ember.ones(1), "b": ember.ones(1)}], harness.DEVICE[0])


def test_parallel_apply_reports_the_failing_replica():
    class Boom(ember.nn.Module):
        def forward(self, x):
            if x.shape[0] == 1:
                raise ValueError("bad share")
            return x

    with pytest.raises(ValueError, match="bad share") as ei:
        parallel_apply([Boom(), Boom()], [(ember.ones(2),), (ember.ones(1),)], None,
                       devices(2))
    assert any("replica 1" in note for note in ei.value.__notes__)
    with pytest.raises(AssertionError):
        parallel_apply([Boom()], [(ember.ones(2),), (ember.ones(1),)])


# ---------------------------------------------------------------- CUDA

needs_cuda = pytest.mark.skipif(not ember.cuda.is_available(), reason="needs a CUDA device")


@needs_cuda
def test_one_cuda_device_moves_the_module_there():
    em = mlp(ember)
    dp = ember.nn.DataParallel(em)
    assert dp.device_ids == list(range(ember.cuda.device_count()))
    assert dp.output_device == 0 and dp.dim == 0 and str(dp.src_device_obj) == "cuda:0"
    if len(dp.device_ids) == 1:
        assert all(p.is_cuda for p in em.parameters())
    out = dp(ember.ones(4, 3, device="cpu"))     # a CPU input is scattered onto the device
    assert out.is_cuda and tuple(out.shape) == (4, 2)
    assert list(dp.state_dict())[0] == "module.0.weight"
    out = ember.nn.parallel.data_parallel(em, ember.ones(4, 3))
    assert out.is_cuda
    cpu_module = mlp(ember).cpu()
    with pytest.raises(RuntimeError, match="module must have its parameters and buffers on "
                                           "device cuda:0"):
        ember.nn.DataParallel(cpu_module, device_ids=[0, 0])(ember.ones(2, 3))


@needs_cuda
def test_several_replicas_on_cuda_match_torch():
    torch.manual_seed(0)
    tm, em = mlp(torch), mlp(ember)
    copy_state(tm, em)
    em.cuda()
    dp = ember.nn.DataParallel(em, device_ids=[0, 0], output_device=0)
    x = arr(5, 3)
    tx = T(torch, x, True)
    ex = ember.from_numpy(x.copy()).requires_grad_()    # on the CPU: scattered to the GPU
    t_out, e_out = tm(tx), dp(ex)
    assert e_out.is_cuda
    np.testing.assert_allclose(to_numpy(e_out), to_numpy(t_out), rtol=1e-5, atol=1e-6)
    t_out.sum().backward()
    e_out.sum().backward()
    np.testing.assert_allclose(to_numpy(ex.grad), to_numpy(tx.grad), rtol=1e-5, atol=1e-6)
    for (n, ep), (_, tp) in zip(em.named_parameters(), tm.named_parameters()):
        np.testing.assert_allclose(to_numpy(ep.grad), to_numpy(tp.grad), rtol=1e-5, atol=1e-6,
                                   err_msg=n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with ember.no_grad():
            assert dp(ember.ones(4, 3)).grad_fn is None


def test_consume_prefix_loads_a_data_parallel_checkpoint_like_torch(no_cuda):
    keys = {}
    for lib in (torch, ember):
        lib.manual_seed(0)
        sd = lib.nn.DataParallel(mlp(lib)).state_dict()
        sd["other.x"] = lib.ones(1)
        lib.nn.modules.utils.consume_prefix_in_state_dict_if_present(sd, "module.")
        keys[lib] = list(sd)
        del sd["other.x"]
        target = mlp(lib)
        assert repr(target.load_state_dict(sd)) == "<All keys matched successfully>"
    assert keys[ember] == keys[torch]
