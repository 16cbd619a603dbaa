"""ember.cuda without CUDA behaves as torch.cuda in a CPU-only build (the oracle here is one):
same return values, same exception types.

Where PyTorch's CPU build fails by accident of its build (an AttributeError on a missing
torch._C binding, a KeyError inside memory_summary), ember raises PyTorch's deliberate
"not compiled with CUDA" AssertionError instead: those calls are listed in DELIBERATE.
"""
import warnings

import pytest
import torch

import ember

pytestmark = pytest.mark.skipif(ember.cuda.is_available(),
                                reason="compares with a CPU-only build; this machine has CUDA")


def _zeros(L):
    return L.zeros(1)


CALLS = [
    ("is_available", lambda c, L: c.is_available()),
    ("device_count", lambda c, L: c.device_count()),
    ("is_initialized", lambda c, L: c.is_initialized()),
    ("init", lambda c, L: c.init()),
    ("current_device", lambda c, L: c.current_device()),
    ("set_device_cpu", lambda c, L: c.set_device("cpu")),
    ("set_device_negative", lambda c, L: c.set_device(-1)),
    ("device_ctx", lambda c, L: c.device(0).__enter__()),
    ("device_ctx_negative", lambda c, L: c.device(-1).__enter__()),
    ("device_of_cpu_tensor", lambda c, L: c.device_of(_zeros(L)).__enter__()),
    ("get_device_name", lambda c, L: c.get_device_name()),
    ("get_device_name_0", lambda c, L: c.get_device_name(0)),
    ("get_device_properties", lambda c, L: c.get_device_properties(0)),
    ("get_device_capability", lambda c, L: c.get_device_capability()),
    ("synchronize", lambda c, L: c.synchronize()),
    ("memory_allocated", lambda c, L: c.memory_allocated()),
    ("memory_allocated_cpu", lambda c, L: c.memory_allocated("cpu")),
    ("max_memory_allocated", lambda c, L: c.max_memory_allocated()),
    ("memory_reserved", lambda c, L: c.memory_reserved()),
    ("max_memory_reserved", lambda c, L: c.max_memory_reserved()),
    ("memory_cached", lambda c, L: c.memory_cached()),
    ("memory_stats", lambda c, L: dict(c.memory_stats())),
    ("memory_stats_as_nested_dict", lambda c, L: c.memory_stats_as_nested_dict()),
    ("mem_get_info", lambda c, L: c.mem_get_info()),
    ("empty_cache", lambda c, L: c.empty_cache()),
    ("ipc_collect", lambda c, L: c.ipc_collect()),
    ("set_per_process_memory_fraction", lambda c, L: c.set_per_process_memory_fraction(0.5)),
    ("Stream", lambda c, L: c.Stream()),
    ("Event", lambda c, L: c.Event()),
    ("Event_timing", lambda c, L: c.Event(enable_timing=True)),
    ("current_stream", lambda c, L: c.current_stream()),
    ("default_stream", lambda c, L: c.default_stream()),
    ("stream_none", lambda c, L: c.stream(None).__enter__()),
    ("StreamContext_none", lambda c, L: c.StreamContext(None).__enter__()),
    ("set_stream_none", lambda c, L: c.set_stream(None)),
    ("is_bf16_supported", lambda c, L: c.is_bf16_supported()),
    ("get_arch_list", lambda c, L: c.get_arch_list()),
    ("get_gencode_flags", lambda c, L: c.get_gencode_flags()),
    ("manual_seed", lambda c, L: c.manual_seed(1)),
    ("manual_seed_all", lambda c, L: c.manual_seed_all(1)),
    ("seed", lambda c, L: c.seed()),
    ("seed_all", lambda c, L: c.seed_all()),
    ("initial_seed", lambda c, L: c.initial_seed()),
    ("get_rng_state", lambda c, L: c.get_rng_state()),
    ("get_rng_state_all", lambda c, L: c.get_rng_state_all()),
    ("set_rng_state", lambda c, L: c.set_rng_state(L.zeros(8, dtype=L.uint8))),
    ("tensor_cuda", lambda c, L: _zeros(L).cuda()),
    ("tensor_to_cuda", lambda c, L: _zeros(L).to("cuda")),
    ("amp_autocast_is_class", lambda c, L: isinstance(c.amp.autocast, type)),
    ("oom_error_is_runtime_error", lambda c, L: issubclass(c.OutOfMemoryError, RuntimeError)),
    ("is_tf32_supported", lambda c, L: c.is_tf32_supported()),
    ("has_half", lambda c, L: c.has_half),
    ("has_magma", lambda c, L: c.has_magma),
    ("get_per_process_memory_fraction", lambda c, L: c.get_per_process_memory_fraction()),
    ("is_current_stream_capturing", lambda c, L: c.is_current_stream_capturing()),
    ("get_sync_debug_mode", lambda c, L: c.get_sync_debug_mode()),
    ("set_sync_debug_mode", lambda c, L: c.set_sync_debug_mode(0)),
    ("nvtx_range_push", lambda c, L: c.nvtx.range_push("a")),
    ("nvtx_range_pop", lambda c, L: c.nvtx.range_pop()),
    ("nvtx_mark", lambda c, L: c.nvtx.mark("a")),
    ("nvtx_range", lambda c, L: c.nvtx.range("step {}", 1).__enter__()),
]

# PyTorch's CPU build raises these by accident (missing bindings); ember raises AssertionError
DELIBERATE = [
    ("set_device_0", lambda c: c.set_device(0)),
    ("reset_peak_memory_stats", lambda c: c.reset_peak_memory_stats()),
    ("reset_max_memory_allocated", lambda c: c.reset_max_memory_allocated()),
    ("reset_accumulated_memory_stats", lambda c: c.reset_accumulated_memory_stats()),
    ("memory_summary", lambda c: c.memory_summary()),
]


def _outcome(fn, lib):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return ("ok", fn(lib.cuda, lib))
        except Exception as exc:
            return ("raises", type(exc))


@pytest.mark.parametrize("name,fn", CALLS, ids=[c[0] for c in CALLS])
def test_cuda_api_matches_cpu_only_torch(name, fn):
    assert _outcome(fn, ember) == _outcome(fn, torch)


@pytest.mark.parametrize("name,fn", DELIBERATE, ids=[c[0] for c in DELIBERATE])
def test_cuda_api_clear_error_where_torch_fails_by_accident(name, fn):
    with pytest.raises(Exception) as te:
        fn(torch.cuda)
    assert type(te.value) in (AttributeError, KeyError)
    with pytest.raises(AssertionError, match="not compiled with CUDA"):
        fn(ember.cuda)


def test_not_compiled_message():
    with pytest.raises(AssertionError, match="Torch not compiled with CUDA enabled"):
        ember.cuda.current_device()


def test_cuda_module_has_torchs_public_names():
    names = ["is_available", "device_count", "current_device", "set_device", "device",
             "get_device_name", "get_device_properties", "synchronize", "manual_seed",
             "manual_seed_all", "memory_allocated", "max_memory_allocated", "memory_reserved",
             "reset_peak_memory_stats", "empty_cache", "memory_summary", "Stream", "Event",
             "is_bf16_supported", "amp"]
    missing = [n for n in names if not hasattr(ember.cuda, n)]
    assert not missing


def test_ops_run_on_each_device(device):
    """An op on each device gives the CPU result (the CUDA case skips without a GPU)."""
    a = ember.arange(6.0).reshape(2, 3)
    b = ember.ones(3, 2)
    out = ember.mm(a.to(device), b.to(device))
    assert out.device.type == device
    assert out.cpu().tolist() == ember.mm(a, b).tolist()
