"""Small torch namespaces programs import: torch.random as a module (``from torch.random
import fork_rng``), torch.mps on a machine without Metal, torch.types' aliases; each
against torch."""
import pytest

import ember

torch = pytest.importorskip("torch")


def test_random_imports_as_a_module():
    from ember.random import fork_rng, get_rng_state, manual_seed  # noqa: F401
    import ember.random as r
    assert r is ember.random
    assert r.fork_rng is ember.random.fork_rng
    ember.manual_seed(3)
    with fork_rng():
        ember.rand(5)
    a = ember.rand(4)
    torch.manual_seed(3)
    with torch.random.fork_rng():
        torch.rand(5)
    assert a.tolist() == torch.rand(4).tolist()


MPS_CALLS = ["is_available()", "device_count()", "manual_seed(0)", "seed()", "empty_cache()",
             "synchronize()", "current_allocated_memory()", "driver_allocated_memory()",
             "recommended_max_memory()", "get_rng_state()",
             "set_per_process_memory_fraction(0.5)"]


def _outcome(module, call):
    try:
        return ("value", eval("module." + call))
    except Exception as e:   # the type and message are compared
        return (type(e).__name__, str(e))


@pytest.mark.parametrize("call", MPS_CALLS)
def test_mps_answers_as_torch_without_metal(call):
    import ember.mps
    if torch.backends.mps.is_available():
        pytest.skip("the oracle has an MPS device")
    assert _outcome(ember.mps, call) == _outcome(torch.mps, call)
    assert ember.backends.mps.is_available() is False


def test_types_aliases():
    import ember.types as T
    for name in ("Number", "Device", "FileLike", "Storage", "BoolLikeType", "IntLikeType",
                 "FloatLikeType"):
        assert hasattr(torch.types, name) and hasattr(T, name), name

    def scale(x: T.Number, d: T.Device = None) -> T.Number:
        return x * 2
    assert scale(3) == 6
    assert isinstance(ember.ones(1).untyped_storage(), T.Storage)


def test_generic_stream_and_event_on_the_cpu():
    def outcome(f):
        try:
            return ("value", repr(f()))
        except Exception as e:
            return (type(e).__name__, str(e))
    made = {lib: (lib.Stream(), lib.Event(enable_timing=True)) for lib in (torch, ember)}
    calls = [lambda L, s, e: s, lambda L, s, e: s.query(), lambda L, s, e: s.synchronize(),
             lambda L, s, e: s.device, lambda L, s, e: s.device_type,
             lambda L, s, e: s.device_index, lambda L, s, e: s.stream_id,
             lambda L, s, e: s.record_event(), lambda L, s, e: s.wait_event(e),
             lambda L, s, e: s.wait_stream(L.Stream()), lambda L, s, e: s == L.Stream(),
             lambda L, s, e: L.Stream("meta"),
             lambda L, s, e: L.Stream(device="cpu", priority=0), lambda L, s, e: e,
             lambda L, s, e: e.query(), lambda L, s, e: e.record(),
             lambda L, s, e: e.synchronize(), lambda L, s, e: e.wait(), lambda L, s, e: e.device,
             lambda L, s, e: e.elapsed_time(L.Event())]
    for i, call in enumerate(calls):
        got = outcome(lambda: call(ember, *made[ember]))
        assert got == outcome(lambda: call(torch, *made[torch])), i
    if not ember.cuda.is_available():
        with pytest.raises(RuntimeError, match="not linked with support for cuda"):
            ember.Stream("cuda")
    else:
        assert isinstance(ember.Stream("cuda"), (ember.cuda.Stream, ember.Stream))


def test_top_level_aliases():
    assert ember.GradScaler is ember.amp.GradScaler
    assert ember.OutOfMemoryError is ember.cuda.OutOfMemoryError
    assert issubclass(ember.AcceleratorError, RuntimeError)
    assert issubclass(torch.AcceleratorError, RuntimeError)
    assert not isinstance(3, ember.SymInt) and not isinstance(3, torch.SymInt)
    assert not isinstance(2.0, ember.SymFloat) and not isinstance(True, ember.SymBool)
    import ember.nn.functional as F
    assert F.grad is ember.nn.grad
    assert torch.nn.functional.grad is torch.nn.grad
