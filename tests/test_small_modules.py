"""Small modules practitioners import, against torch's: ember.utils.hooks, ember.nn.attention,
ember.cpu, ember.multiprocessing, ember.utils.dlpack."""
import multiprocessing
import os
import warnings

import numpy as np
import pytest
import torch

import ember
import ember.multiprocessing as emp
import torch.multiprocessing as tmp
from ember.nn.attention import SDPBackend, sdpa_kernel
from tests import mp_workers


# --- ember.utils.hooks ----------------------------------------------------------------

def test_hook_handles_are_utils_hooks_removable_handles():
    from ember.utils.hooks import RemovableHandle
    calls = []
    m = ember.nn.Linear(2, 2)
    h = m.register_forward_hook(lambda mod, i, o: calls.append(1))
    assert isinstance(h, RemovableHandle)
    m(ember.ones(1, 2))
    h.remove()
    m(ember.ones(1, 2))
    assert calls == [1]
    x = ember.ones(2, requires_grad=True)
    with x.register_hook(lambda g: g * 3) as th:
        assert isinstance(th, RemovableHandle)
        (x * 2).sum().backward()
    (x * 2).sum().backward()
    assert x.grad.tolist() == [8.0, 8.0]
    opt = ember.optim.SGD([x], lr=0.1)
    assert isinstance(opt.register_step_pre_hook(lambda *a: None), RemovableHandle)
    # a handle over a user's own dict, as torch's
    hooks = {}
    mine = RemovableHandle(hooks)
    hooks[mine.id] = print
    mine.remove()
    assert hooks == {}


def test_unserializable_hook_and_warn_if_has_hooks():
    from ember.utils import hooks
    x = ember.ones(2, requires_grad=True)
    x.register_hook(lambda g: g)
    with pytest.warns(UserWarning, match="will not be serialized"):
        hooks.warn_if_has_hooks(x)
    y = ember.ones(2, requires_grad=True)
    y.register_hook(hooks.unserializable_hook(lambda g: g))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hooks.warn_if_has_hooks(y)


# --- ember.nn.attention ---------------------------------------------------------------

def test_sdp_backend_values_match_torch():
    from torch.nn.attention import SDPBackend as T
    assert {k: int(v) for k, v in SDPBackend.__members__.items()} == \
        {k: int(v) for k, v in T.__members__.items()}


@pytest.mark.parametrize("choice", [SDPBackend.MATH, SDPBackend.FLASH_ATTENTION,
                                    [SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH]])
def test_sdpa_kernel_runs_the_one_implementation(choice):
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((2, 3, 5, 4)).astype(np.float32) for _ in range(3))
    from ember.nn import attention
    before = attention._cur_sdpa_kernel_backends()
    with sdpa_kernel(choice):
        inside = attention._cur_sdpa_kernel_backends()
        out = ember.nn.functional.scaled_dot_product_attention(
            ember.tensor(q), ember.tensor(k), ember.tensor(v), is_causal=True)
    assert inside == (choice if isinstance(choice, list) else [choice])
    assert attention._cur_sdpa_kernel_backends() == before
    from torch.nn.attention import SDPBackend as T, sdpa_kernel as tk
    with tk(T.MATH):
        ref = torch.nn.functional.scaled_dot_product_attention(
            torch.tensor(q), torch.tensor(k), torch.tensor(v), is_causal=True)
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-5, atol=1e-6)


def test_sdpa_kernel_bad_argument_as_torch():
    from torch.nn.attention import sdpa_kernel as tk
    for kernel in (sdpa_kernel, tk):
        with pytest.raises(AssertionError, match="Backend must be an instance of SDPBackend or "
                                                 "a list of SDPBackend instances, got str"):
            with kernel("math"):
                pass


# --- ember.cpu ------------------------------------------------------------------------

def test_cpu_module_as_torch():
    for name in ("is_available", "is_initialized", "current_device", "device_count"):
        assert getattr(ember.cpu, name)() == getattr(torch.cpu, name)()
    assert ember.cpu.synchronize() is None and ember.cpu.synchronize("cpu") is None
    assert ember.cpu.set_device("cpu") is None
    s = ember.cpu.Stream()
    default = ember.cpu.current_stream()
    with ember.cpu.stream(s):
        assert ember.cpu.current_stream() is s
    assert ember.cpu.current_stream() is default
    e = s.record_event()
    assert e.query() and e.synchronize() is None
    s.wait_event(e)
    s.wait_stream(default)
    # device-generic code: getattr(torch, device.type)
    assert getattr(ember, ember.ones(1).device.type).device_count() == 1


# --- ember.multiprocessing ------------------------------------------------------------

def test_stdlib_reexported_and_sharing_strategies():
    for name in ("Process", "Queue", "Pool", "get_context", "set_start_method", "cpu_count",
                 "SimpleQueue", "Manager", "spawn", "start_processes"):
        assert hasattr(emp, name) and hasattr(tmp, name)
    assert emp.Process is multiprocessing.Process
    assert emp.get_all_sharing_strategies() == tmp.get_all_sharing_strategies()
    assert emp.get_sharing_strategy() == tmp.get_sharing_strategy()
    emp.set_sharing_strategy("file_system")
    try:
        assert emp.get_sharing_strategy() == "file_system"
    finally:
        emp.set_sharing_strategy("file_descriptor")
    for mod in (emp, tmp):
        with pytest.raises(AssertionError, match="invalid sharing strategy 'x', expected one of"):
            mod.set_sharing_strategy("x")


def test_spawn_runs_fn_with_rank_and_args(tmp_path):
    assert emp.spawn(mp_workers.write_rank, args=(str(tmp_path), 2.0), nprocs=2) is None
    assert (tmp_path / "rank0").read_text() == "[0.0, 0.0]"
    assert (tmp_path / "rank1").read_text() == "[2.0, 2.0]"


def test_child_exception_raises_process_raised_exception():
    with pytest.raises(emp.ProcessRaisedException) as e:
        emp.start_processes(mp_workers.raise_in_rank_one, nprocs=2, start_method="fork")
    msg = str(e.value)
    assert msg.startswith("\n\n-- Process 1 terminated with the following error:\nTraceback")
    assert msg.rstrip().endswith("ValueError: bad rank 1")
    assert e.value.error_index == 1 and isinstance(e.value.error_pid, int)
    with pytest.raises(tmp.ProcessRaisedException) as te:
        tmp.start_processes(mp_workers.raise_in_rank_one, nprocs=2, start_method="fork")
    assert str(te.value).splitlines()[:3] == msg.splitlines()[:3]


def test_child_exit_code_and_signal():
    with pytest.raises(emp.ProcessExitedException,
                       match="^process 0 terminated with exit code 3$") as e:
        emp.start_processes(mp_workers.exit_with_code, args=(3,), start_method="fork")
    assert e.value.exit_code == 3
    with pytest.raises(emp.ProcessExitedException,
                       match="^process 0 terminated with signal SIGKILL$") as e:
        emp.start_processes(mp_workers.kill_self, start_method="fork")
    assert e.value.signal_name == "SIGKILL" and e.value.exit_code == -9


def test_join_false_returns_context_and_start_method_warning(tmp_path):
    ctx = emp.start_processes(mp_workers.write_rank, args=(str(tmp_path), 1.0), nprocs=2,
                              join=False, start_method="fork")
    assert isinstance(ctx, emp.ProcessContext) and len(ctx.pids()) == 2
    while not ctx.join(timeout=5):
        pass
    assert ctx.join() is True
    assert sorted(os.listdir(tmp_path)) == ["rank0", "rank1"]
    with pytest.warns(FutureWarning, match="only supports start_method=spawn"):
        emp.spawn(mp_workers.exit_with_code, args=(0,), start_method="fork")


# --- ember.utils.dlpack ---------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int32", "int64", "uint8",
                                   "bool", "complex64"])
def test_dlpack_round_trips_with_torch_share_memory(dtype):
    a = (np.arange(6) % 2).astype(dtype) if dtype == "bool" else np.arange(6).astype(dtype)
    t = torch.tensor(a).reshape(2, 3)
    e = ember.from_dlpack(t)
    assert str(e.dtype) == str(t.dtype).replace("torch.", "ember.") and e.shape == (2, 3)
    np.testing.assert_array_equal(e.numpy(), t.numpy())
    back = torch.from_dlpack(e)
    assert back.dtype == t.dtype
    if dtype != "bool":
        e[0, 0] = 5
        assert t[0, 0].item() == 5 and back[0, 0].item() == 5   # one memory, three views


def test_dlpack_capsules_and_views():
    t = torch.arange(10.)
    e = ember.utils.dlpack.from_dlpack(torch.utils.dlpack.to_dlpack(t[::3]))
    assert e.tolist() == [0.0, 3.0, 6.0, 9.0]
    x = ember.arange(12.).reshape(3, 4).t()
    capsule = ember.utils.dlpack.to_dlpack(x)
    y = torch.utils.dlpack.from_dlpack(capsule)
    assert y.tolist() == x.tolist() and y.stride() == x.stride()
    with pytest.raises(RuntimeError, match="consumed only once"):
        ember.utils.dlpack.from_dlpack(capsule)
    with pytest.raises(RuntimeError, match="consumed only once"):
        torch.utils.dlpack.from_dlpack(capsule)
    scalar = ember.from_dlpack(torch.tensor(2.5))
    assert scalar.shape == () and scalar.item() == 2.5
    n = np.arange(3)
    en = ember.from_dlpack(n)
    en[0] = 7
    assert n[0] == 7
    assert ember.from_dlpack is ember.utils.dlpack.from_dlpack


def test_dlpack_device_and_errors_as_torch():
    d, i = ember.ones(2).__dlpack_device__()
    td, ti = torch.ones(2).__dlpack_device__()
    assert (int(d), i) == (int(td), ti) and d.name == td.name
    for lib in (ember, torch):
        with pytest.raises(BufferError, match="Can't export tensors that require gradient, use "
                                              "tensor.detach()"):
            lib.ones(2, requires_grad=True).__dlpack__()
    with pytest.raises(BufferError):
        ember.ones(2, dtype=ember.bfloat16).__dlpack__()
    with pytest.raises(TypeError):
        ember.from_dlpack([1, 2])
