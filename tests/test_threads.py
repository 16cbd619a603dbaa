"""Process settings in ember/_threads.py: threads, default device, determinism, matmul
precision, warnings, typename, compile."""
import warnings

import pytest
import torch

import ember


def test_num_threads_roundtrip():
    before = ember.get_num_threads()
    assert before >= 1
    ember.set_num_threads(1)
    assert ember.get_num_threads() == 1
    x = ember.randn(20, 20)
    assert (x @ x).shape == (20, 20)
    ember.set_num_threads(before)
    assert ember.get_num_threads() == before
    with pytest.raises(RuntimeError):
        ember.set_num_threads(0)
    with pytest.raises(TypeError):
        ember.set_num_threads(1.5)


def test_interop_threads():
    assert ember.get_num_interop_threads() >= 1


def test_default_device():
    assert str(ember.get_default_device()) == str(torch.get_default_device())
    ember.set_default_device("cpu")
    assert ember.get_default_device().type == "cpu"
    ember.set_default_device(None)
    assert ember.get_default_device().type == "cpu"


def test_device_as_context_manager(device):
    """`with device:` sets the factories' default device for the block and restores it,
    also when the block raises and when blocks nest (torch's behaviour, on the CPU)."""
    with torch.device("cpu") as td, ember.device("cpu") as ed:
        assert repr(ed) == repr(td)
        assert ember.zeros(2).device.type == torch.zeros(2).device.type == "cpu"
    with ember.device(device):
        assert ember.zeros(2).device.type == device
        assert ember.arange(3).device.type == device
        with ember.device("cpu"):
            assert ember.ones(1).device.type == "cpu"
        assert ember.tensor([1.0]).device.type == device
    assert ember.zeros(1).device.type == "cpu"
    with pytest.raises(ValueError):
        with ember.device(device):
            raise ValueError
    assert ember.get_default_device().type == "cpu"
    with ember.device("meta"):   # the meta device works as a context too (tests/test_meta.py)
        assert ember.zeros(2).device.type == "meta"
    assert ember.get_default_device().type == "cpu"


def test_set_default_tensor_type():
    try:
        with pytest.warns(UserWarning):
            ember.set_default_tensor_type(ember.DoubleTensor)
        assert ember.tensor([1.0]).dtype is ember.float64
        with pytest.warns(UserWarning):
            ember.set_default_tensor_type("torch.FloatTensor")
        assert ember.tensor([1.0]).dtype is ember.float32
        with pytest.raises(TypeError), pytest.warns(UserWarning):
            ember.set_default_tensor_type(ember.LongTensor)
    finally:
        ember.set_default_dtype(ember.float32)


def test_matmul_precision():
    assert ember.get_float32_matmul_precision() == torch.get_float32_matmul_precision()
    ember.set_float32_matmul_precision("high")
    assert ember.get_float32_matmul_precision() == "high"
    ember.set_float32_matmul_precision("highest")
    with pytest.raises(RuntimeError):
        ember.set_float32_matmul_precision("fast")


def test_deterministic_flags():
    assert ember.are_deterministic_algorithms_enabled() is False
    ember.use_deterministic_algorithms(True, warn_only=True)
    assert ember.are_deterministic_algorithms_enabled()
    assert ember.is_deterministic_algorithms_warn_only_enabled()
    assert ember.get_deterministic_debug_mode() == 1
    ember.set_deterministic_debug_mode("error")
    assert ember.get_deterministic_debug_mode() == 2
    ember.use_deterministic_algorithms(False)
    assert ember.get_deterministic_debug_mode() == 0
    with pytest.raises(RuntimeError):
        ember.set_deterministic_debug_mode(5)


def test_warn_always_and_flush_denormal():
    ember.set_warn_always(True)
    assert ember.is_warn_always_enabled()
    ember.set_warn_always(False)
    assert not ember.is_warn_always_enabled()
    assert ember.set_flush_denormal(False) in (True, False)


def test_typename_matches_torch():
    for dt in ("float32", "float64", "int64", "bool", "uint8"):
        e = ember.zeros(1, dtype=getattr(ember, dt))
        t = torch.zeros(1, dtype=getattr(torch, dt))
        assert ember.typename(e) == torch.typename(t)
    assert ember.typename(3) == torch.typename(3) == "int"


def test_compile_returns_model_and_warns_once():
    def f(x):
        return x * 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        g = ember.compile(f)
        h = ember.compile(mode="reduce-overhead")(f)
    assert g is f and h is f
    model = ember.nn.Linear(2, 2)
    assert ember.compile(model)._orig_mod is model   # wrapped, as PyTorch's OptimizedModule
    assert sum("does not compile" in str(w.message) for w in caught) <= 1


def test_openblas_thread_timeout_default_and_user_setting():
    """ember sets a short OpenBLAS idle timeout before NumPy loads, unless the user set one."""
    import os
    import subprocess
    import sys
    code = "import os, ember; print(os.environ['OPENBLAS_THREAD_TIMEOUT'])"
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "20"
    env["OPENBLAS_THREAD_TIMEOUT"] = "28"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "28"
