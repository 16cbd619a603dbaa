"""The torch.distributed helpers that need no process group, against torch."""
import pytest

import ember
import ember.distributed as dist

torch = pytest.importorskip("torch")
import torch.distributed as tdist  # noqa: E402


@pytest.mark.parametrize("op", ["SUM", "AVG", "PRODUCT", "MIN", "MAX", "BAND", "BOR", "BXOR"])
def test_supports_complex(op):
    assert dist.supports_complex(getattr(dist.ReduceOp, op)) == \
        tdist.supports_complex(getattr(tdist.ReduceOp, op))


@pytest.mark.parametrize("device", ["cpu", "cuda", "cuda:1", "meta", "xyz"])
def test_default_backend_for_device(device):
    def outcome(mod):
        try:
            return mod.get_default_backend_for_device(device)
        except Exception as e:  # noqa: BLE001 - type and message compared
            return type(e).__name__, str(e)
    assert outcome(dist) == outcome(tdist)


def test_node_local_rank(monkeypatch):
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    for mod in (dist, tdist):
        assert mod.get_node_local_rank(fallback_rank=3) == 3
        with pytest.raises(RuntimeError, match="LOCAL_RANK is not in the environment"):
            mod.get_node_local_rank()
    monkeypatch.setenv("LOCAL_RANK", "5")
    assert dist.get_node_local_rank(0) == tdist.get_node_local_rank(0) == 5


def test_debug_level_and_launch_flags(monkeypatch):
    assert [m for m in dist.DebugLevel.__members__] == list(tdist.DebugLevel.__members__)
    monkeypatch.delenv("TORCHELASTIC_RUN_ID", raising=False)
    assert dist.is_torchelastic_launched() == tdist.is_torchelastic_launched() is False
    monkeypatch.setenv("TORCH_DISTRIBUTED_DEBUG", "DETAIL")
    dist.set_debug_level_from_env()
    assert dist.get_debug_level() is dist.DebugLevel.DETAIL
    dist.set_debug_level(dist.DebugLevel.OFF)
    assert dist.get_debug_level() is dist.DebugLevel.OFF
    assert dist.get_pg_count() == 0 and not dist.is_ucc_available()


def test_p2pop_checks_its_op():
    t = ember.zeros(2)
    with pytest.raises(ValueError, match="isend"):
        dist.P2POp(dist.all_reduce, t, 1)
    op = dist.P2POp(dist.isend, t, 1)
    assert op.peer == 1 and op.tensor is t
